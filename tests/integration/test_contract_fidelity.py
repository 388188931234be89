"""The sandbox accepts what PaymentKit's typings allow and still refuses what they refuse
(issue 13): optional fields PaymentKit's own clients leave out, cursor paging, fractional
percentages, the widened request bodies; and its own limits, which are not the contract's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from payment_kit_sandbox.engine.discounts import amount_off

pytestmark = pytest.mark.sandbox_only  # the sandbox's own behaviour where PaymentKit's is not published


@pytest.fixture
def http(server: tuple[str, str]) -> Iterator[httpx.Client]:
    base_url, key = server
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, params={"livemode": "false"}
    ) as client:
        yield client


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def refused(answer: httpx.Response, *words: str) -> str:
    assert answer.status_code == 400, answer.text
    message = str(answer.json()["error"])
    for word in words:
        assert word in message, message
    return message


def a_price(http: httpx.Client, tag: str, **fields: Any) -> dict[str, Any]:
    product = ok(http.post("/api/products", json={"name": f"Fidelity {tag}", "type": "service"}))
    return ok(http.post("/api/prices", json={"product_id": product["id"], "unit_amount": "0.001", **fields}))


def test_a_session_without_mode_or_cancel_url_takes_its_mode_from_its_prices(http: httpx.Client, tag: str) -> None:
    one_time = a_price(http, tag)
    monthly = a_price(http, tag, type="recurring", recurring={"interval": "month", "interval_count": 1})
    for price, mode in ((one_time, "payment"), (monthly, "subscription")):
        body = {"success_url": "https://example.com/ok", "line_items": [{"price_id": price["id"], "quantity": 1}]}
        session = ok(http.post("/api/checkout-sessions", json=body))
        assert session["mode"] == mode and session["cancel_url"] in (None, "")
    assert ok(http.put(f"/api/checkout-sessions/{session['id']}", json={}))["id"] == session["id"]


def test_cursor_paging_walks_a_list_in_its_order(http: httpx.Client, tag: str) -> None:
    for n in range(5):
        ok(http.post("/api/products", json={"name": f"P{n}", "type": "service", "metadata": {"run": tag}}))
    mine = {"metadata.run": tag, "order": "created_at:ASC"}
    ids = [p["id"] for p in ok(http.get("/api/products", params=mine))["list"]]
    assert [p["name"] for p in ok(http.get("/api/products", params=mine))["list"]] == [f"P{n}" for n in range(5)]
    after = ok(http.get("/api/products", params={**mine, "starting_after": ids[1], "limit": 2}))
    assert [p["id"] for p in after["list"]] == ids[2:4] and after["count"] == 5
    before = ok(http.get("/api/products", params={**mine, "ending_before": ids[3], "limit": 2}))
    assert [p["id"] for p in before["list"]] == ids[1:3]
    assert ok(http.get("/api/products", params={**mine, "starting_after": ids[4]}))["list"] == []
    refused(http.get("/api/products", params={**mine, "starting_after": "prod_nope"}), "starting_after", "prod_nope")
    refused(http.get("/api/products", params={**mine, "starting_after": ids[0], "ending_before": ids[4]}), "one cursor")
    newest_first = ok(http.get("/api/products", params={"metadata.run": tag, "order": "created_at"}))
    assert [p["id"] for p in newest_first["list"]] == ids  # a bare field sorts ascending


def test_a_fractional_percent_off_is_computed_exactly(http: httpx.Client, tag: str) -> None:
    coupon = ok(http.post("/api/coupons", json={"name": f"half {tag}", "percent_off": 12.5, "duration": "once"}))
    assert coupon["coupon"]["percent_off"] == 12.5
    # 12.5 % of 10^18 + 7 units rounds down to an exact integer; a float would be off in the last digits.
    assert amount_off(None, {"percent_off": 12.5}, "pc_x", 10**18 + 7) == 125000000000000000  # type: ignore[arg-type]
    assert amount_off(None, {"percent_off": 33.3}, "pc_x", 10**21) == 333 * 10**18  # type: ignore[arg-type]


def test_the_widened_bodies_are_stored_and_answered(http: httpx.Client, tag: str) -> None:
    currency = ok(http.get("/api/payment-currencies"))[0]
    customer = ok(http.get(f"/api/customers/did:abt:z{tag}", params={"create": "true"}))
    changed = ok(
        http.put(f"/api/customers/{customer['id']}", json={"invoice_prefix": "FID", "currency_id": currency["id"]})
    )
    assert changed["invoice_prefix"] == "FID" and changed["currency_id"] == currency["id"]
    refused(http.put(f"/api/customers/{customer['id']}", json={"currency_id": "pc_missing"}), "currency_id")
    endpoint = ok(
        http.post(
            "/api/webhook-endpoints",
            json={"url": "https://example.com/hook", "enabled_events": ["customer.created"], "api_version": "2024-01"},
        )
    )
    assert endpoint["api_version"] == "2024-01"
    refused(http.put(f"/api/payment-currencies/{currency['id']}", json={"decimal": currency["decimal"] + 1}), "decimal")


def test_the_sandbox_still_refuses_what_the_typings_refuse(http: httpx.Client, tag: str) -> None:
    # payment-js types a meter's aggregation at creation as `sum` only.
    meter = {"name": "m", "event_name": f"fid_{tag}", "unit": "u", "aggregation_method": "count"}
    refused(http.post("/api/meters", json=meter), "aggregation_method")
    # A typo is still a 400 that names it: bodies stay closed.
    refused(http.post("/api/products", json={"name": "x", "type": "service", "nmae": "y"}), "nmae")
    # Open enums: the document takes any string; the sandbox implements the known values only.
    refused(http.post("/api/products", json={"name": "x", "type": "hologram"}), "type")
    # The sandbox's own limits (payment_kit_sandbox/schema_limits.py): fields its engine needs.
    refused(http.post("/api/subscription-items", json={"price_id": "price_x"}), "subscription_id")
