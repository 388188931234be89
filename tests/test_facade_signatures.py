"""Every generated method takes its ids first and positionally, named as the Node SDK's paths
name them, and everything else by keyword (issue 26, finding 5)."""

from __future__ import annotations

import inspect
import re
from typing import Any

import httpx
import pytest
import respx
from facade_calls import BASE, ROWS, operation_for, spec_operation

from payment_kit import AsyncPaymentKit, PaymentKit

POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def method(client: Any, namespace: str, name: str) -> Any:
    for part in namespace.split("."):
        client = getattr(client, part)
    return getattr(client, name)


def positional_query(row: dict[str, str]) -> list[str]:
    """The query parameters the document marks as the object a method is about."""
    _, node = spec_operation(operation_for(row))
    found = []
    for param in node.get("parameters", []):
        if "$ref" in param:
            param = spec_parameter(param["$ref"])
        if param.get("x-sdk-positional"):
            assert param["in"] == "query" and param.get("required"), param
            found.append(param["name"])
    return found


def spec_parameter(ref: str) -> dict[str, Any]:
    from schema_examples import spec

    target: Any = spec()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return dict(target)


@pytest.mark.parametrize("flavour", [PaymentKit, AsyncPaymentKit])
@pytest.mark.parametrize("row", ROWS, ids=[f"{r['python_namespace']}.{r['python_method']}" for r in ROWS])
def test_ids_come_first_and_positionally_everything_else_by_keyword(row: dict[str, str], flavour: type) -> None:
    # The inventory's paths are the Node SDK's own (`/api/prices/{id}`), so its names are the Node SDK's.
    ids = re.findall(r"{([^}]+)}", row["path"]) + positional_query(row)
    params = list(
        inspect.signature(
            method(flavour(base_url=BASE), row["python_namespace"], row["python_method"])
        ).parameters.values()
    )
    leading = [p for p in params if p.kind in POSITIONAL]
    assert [p.name for p in leading] == ids
    assert all(p.default is inspect.Parameter.empty for p in leading)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[len(leading) :])


def test_usage_lists_take_the_subscription_item_positionally_or_by_name() -> None:
    answer = {"count": 0, "list": []}
    with respx.mock() as router, PaymentKit(base_url=BASE, api_key="k") as client:
        route = router.get(f"{BASE}/api/usage-records/summary").mock(return_value=httpx.Response(200, json=answer))
        records = router.get(f"{BASE}/api/usage-records").mock(return_value=httpx.Response(200, json=answer))
        client.subscription_items.list_usage_record_summaries("si_1", page_size=5)
        client.subscription_items.list_usage_records("si_2")
        client.subscription_items.list_usage_records(subscription_item_id="si_3")
    assert route.calls.last.request.url.params["subscription_item_id"] == "si_1"
    assert [c.request.url.params["subscription_item_id"] for c in records.calls] == ["si_2", "si_3"]


def test_a_path_id_may_also_be_named() -> None:
    with respx.mock() as router, PaymentKit(base_url=BASE, api_key="k") as client:
        route = router.get(f"{BASE}/api/promotion-codes/by-code/SPRING").mock(
            return_value=httpx.Response(200, json=_example("PromotionCodeExpanded"))
        )
        client.promotion_codes.by_code(code="SPRING")
    assert route.called


def _example(name: str) -> Any:
    from schema_examples import example_of

    return example_of(name)
