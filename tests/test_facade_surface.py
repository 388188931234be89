"""Every operation of the inventory exists on both clients under its Python
name, takes its arguments as the contract says, sends its request, and
returns its typed answer. No server: answers come from respx."""

from __future__ import annotations

import inspect
import json
from typing import Any

import httpx
import pytest
import respx
from facade_calls import (
    BASE,
    ROWS,
    answer_for,
    answer_model,
    expected_url,
    method_of,
    operation_for,
    required_arguments,
)

import payment_kit_client.models as models
from payment_kit import AsyncPage, AsyncPaymentKit, Page, PaymentKit
from payment_kit._generated_namespaces import OPERATIONS


def test_the_inventory_maps_one_to_one_onto_the_facade() -> None:
    assert len(ROWS) == 130
    table = {(op.namespace, op.method) for op in OPERATIONS.values()}
    assert table == {(r["python_namespace"], r["python_method"]) for r in ROWS}


async def call(flavour: str, row: dict[str, str], positional: list[str], kwargs: dict[str, Any]) -> Any:
    """Call the row's method on a `flavour` client: sync in test mode, async in live mode."""
    if flavour == "sync":
        with PaymentKit(base_url=BASE, api_key="k", livemode=False) as client:
            method = method_of(client, row)
            assert not inspect.iscoroutinefunction(method)
            return method(*positional, **kwargs)
    async with AsyncPaymentKit(base_url=BASE, api_key="k", livemode=True) as client:
        method = method_of(client, row)
        assert inspect.iscoroutinefunction(method)
        return await method(*positional, **kwargs)


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("row", ROWS, ids=[f"{r['python_namespace']}.{r['python_method']}" for r in ROWS])
async def test_every_inventory_method_is_callable_on_both_clients(row: dict[str, str], flavour: str) -> None:
    op = operation_for(row)
    positional, kwargs = required_arguments(op)
    answer = answer_for(op)
    with respx.mock() as router:
        route = router.route(method=row["http_method"]).mock(return_value=httpx.Response(200, json=answer))
        result = await call(flavour, row, positional, kwargs)

    request = route.calls.last.request
    assert str(request.url).split("?")[0] == expected_url(op, positional)
    assert request.url.params["livemode"] == ("false" if flavour == "sync" else "true")
    if op.is_write:
        assert request.headers["idempotency-key"].startswith("pk-py-")
    if op.body_model:
        sent = json.loads(request.content)
        assert {op.body_fields[k] for k in kwargs if k in op.body_fields} <= set(sent)
    if op.result == "object":
        assert type(result).__name__ == answer_model(op)
    else:
        assert isinstance(result, Page if flavour == "sync" else AsyncPage)
        # Most lists answer `{count, list}`; a few a bare array, whose length is then the count.
        rows, count = (answer["list"], answer["count"]) if isinstance(answer, dict) else (answer, len(answer))
        assert len(result.list) == len(rows) and result.count == count
        assert all(isinstance(item, models.__dict__[type(item).__name__]) for item in result)


def test_sync_and_async_namespaces_have_the_same_signatures() -> None:
    sync, asynchronous = PaymentKit(base_url=BASE), AsyncPaymentKit(base_url=BASE)
    for op in OPERATIONS.values():
        a: Any = sync
        b: Any = asynchronous
        for part in op.namespace.split("."):
            a, b = getattr(a, part), getattr(b, part)
        sig_a = inspect.signature(getattr(a, op.method))
        sig_b = inspect.signature(getattr(b, op.method))
        assert list(sig_a.parameters) == list(sig_b.parameters), op.name


def test_namespaces_are_built_once_per_client() -> None:
    client = PaymentKit(base_url=BASE)
    assert client.prices is client.prices
    assert client.checkout.sessions is client.checkout.sessions
    assert client.prices._client is client


def test_arguments_follow_the_contract_names() -> None:
    client = PaymentKit(base_url=BASE)
    params = inspect.signature(client.subscriptions.list).parameters
    assert {"order", "active_first", "page_size", "page", "status", "metadata", "livemode"} <= set(params)
    create = inspect.signature(client.checkout.sessions.create).parameters
    assert {"success_url", "mode", "line_items", "expires_at", "subscription_data"} <= set(create)
    settings = inspect.signature(client.settings.create).parameters
    assert {"mount_location", "type", "settings"} <= set(settings)
    retrieve = inspect.signature(client.customers.retrieve).parameters
    assert next(iter(retrieve)) == "id" and retrieve["id"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert "create" in retrieve
    assert callable(client.customers.delete)  # Node's del()


def test_an_unknown_keyword_is_a_type_error_naming_it() -> None:
    client = PaymentKit(base_url=BASE)
    with pytest.raises(TypeError, match="prodcut_id"):
        client.prices.create(prodcut_id="prod_1", unit_amount="1")  # type: ignore[call-arg]
