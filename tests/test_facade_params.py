"""Nested parameters are typed (TypedDicts generated from the document, checked by mypy), a
refusal names where in the arguments the mistake is, and money at any depth takes exact
integers (issue 26, findings 6 and 7)."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx
from schema_examples import example_of

import payment_kit._generated_namespaces as namespaces
from payment_kit import PaymentKit, params

BASE = "http://127.0.0.1:9/payment"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client() -> typing.Iterator[PaymentKit]:
    with PaymentKit(base_url=BASE, api_key="k", max_retries=0) as c:
        yield c


def test_typed_dicts_say_which_keys_exist_and_which_are_required() -> None:
    line = params.LineItemParam
    assert typing.is_typeddict(line)
    assert line.__required_keys__ == {"price_id"}
    assert {"quantity", "adjustable_quantity", "custom_amount"} <= line.__optional_keys__
    assert params.PriceRecurringParam.__required_keys__ == {"interval", "interval_count"}
    assert params.MeterEventPayloadParam.__required_keys__ == {"customer_id", "value"}


def test_every_nested_object_argument_is_typed_by_a_typed_dict() -> None:
    """No method takes a described object as a bare `Mapping[str, Any]`: only free-form maps do."""
    free_form = {"metadata", "settings", "token_config", "source_data", "payment_details", "data"}
    for cls_name in ("CheckoutSessions", "Prices", "MeterEvents", "Coupons", "Subscriptions", "PaymentLinks"):
        cls = getattr(namespaces, cls_name)
        for name, function in vars(cls).items():
            if name.startswith("_") or not callable(function):
                continue
            for arg, annotation in function.__annotations__.items():
                if "Mapping[str, Any]" in str(annotation):
                    assert arg in free_form, f"{cls_name}.{name}({arg}: {annotation})"


def test_mypy_checks_the_keys_of_nested_dicts(tmp_path: Path) -> None:
    program = tmp_path / "integration.py"
    program.write_text(
        "from payment_kit import PaymentKit\n"
        "client = PaymentKit(base_url='http://127.0.0.1:1')\n"
        "client.checkout.sessions.create(success_url='x', line_items=[{'price_id': 'price_1', 'quantity': 1}])\n"
        "client.prices.create(product_id='p', unit_amount=5, recurring={'interval': 'month', 'interval_count': 1})\n"
        "client.meter_events.create(event_name='e', identifier='i', payload={'customer_id': 'c', 'value': 2})\n"
        "client.checkout.sessions.create(success_url='x', line_items=[{'price_id': 'p', 'quantitty': 1}])\n"
        "client.prices.create(product_id='p', unit_amount='1', recurring={'interval': 'month'})\n"
        "client.meter_events.create(event_name='e', identifier='i', payload={'value': '1'})\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(program),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    flagged = sorted({int(line.split(":")[1]) for line in result.stdout.splitlines() if ": error:" in line})
    assert flagged == [6, 7, 8], result.stdout


def test_a_refusal_names_where_in_the_arguments_the_mistake_is(client: PaymentKit) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route().mock(return_value=httpx.Response(200, json={}))
        with pytest.raises(TypeError, match=r"checkout.sessions.create\(\): line_items\[1\]\.price_id is required"):
            client.checkout.sessions.create(
                success_url="https://example.com", line_items=[{"price_id": "price_1", "quantity": 1}, {"quantity": 2}]
            )
        with pytest.raises(TypeError, match=r"payload\.value is money: pass a decimal string, int or Decimal"):
            client.meter_events.create(event_name="e", identifier="i", payload={"customer_id": "c", "value": 0.1})
        with pytest.raises(TypeError, match=r"currency_options\[0\]\.unit_amount is money"):
            client.prices.create(
                product_id="p", unit_amount="1", currency_options=[{"currency_id": "pc_1", "unit_amount": 1.5}]
            )
    assert not route.called


def test_integers_are_money_wherever_decimals_are_and_travel_as_exact_strings(client: PaymentKit) -> None:
    with respx.mock() as router:
        prices = router.post(f"{BASE}/api/prices").mock(
            return_value=httpx.Response(200, json=example_of("PriceExpanded"))
        )
        events = router.post(f"{BASE}/api/meter-events").mock(
            return_value=httpx.Response(200, json=example_of("MeterEventExpanded"))
        )
        grants = router.post(f"{BASE}/api/credit-grants").mock(
            return_value=httpx.Response(200, json=example_of("CreditGrantExpanded"))
        )
        client.prices.create(
            product_id="prod_1",
            unit_amount=5,
            currency_options=[
                {"currency_id": "pc_1", "unit_amount": 10**30},
                {"currency_id": "pc_2", "unit_amount": Decimal("2.50")},
            ],
        )
        client.meter_events.create(event_name="e", identifier="i", payload={"customer_id": "cus_1", "value": 2})
        client.credit_grants.create(customer_id="cus_1", currency_id="pc_1", amount=1000, category="promotional")
    price = json.loads(prices.calls.last.request.content)
    assert price["unit_amount"] == "5"
    assert [o["unit_amount"] for o in price["currency_options"]] == ["1" + "0" * 30, "2.50"]
    assert json.loads(events.calls.last.request.content)["payload"] == {"customer_id": "cus_1", "value": "2"}
    assert json.loads(grants.calls.last.request.content)["amount"] == "1000"


def test_the_caller_s_own_dicts_are_left_as_they_were(client: PaymentKit) -> None:
    payload: dict[str, object] = {"customer_id": "cus_1", "value": 3}
    with respx.mock() as router:
        router.post(f"{BASE}/api/meter-events").mock(
            return_value=httpx.Response(200, json=example_of("MeterEventExpanded"))
        )
        client.meter_events.create(event_name="e", identifier="i", payload=payload)  # type: ignore[arg-type]
    assert payload == {"customer_id": "cus_1", "value": 3}


def test_a_metered_line_may_leave_its_quantity_out(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/api/checkout-sessions").mock(
            return_value=httpx.Response(200, json=example_of("CheckoutSession"))
        )
        client.checkout.sessions.create(success_url="https://example.com", line_items=[{"price_id": "price_metered"}])
    assert json.loads(route.calls.last.request.content)["line_items"] == [{"price_id": "price_metered"}]
