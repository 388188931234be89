"""Lists paged in SQL answer exactly what the Python path answers (issue 27).

`list_queries.PAGE_IN_SQL = False` makes `stored_page` read every row of its kind and filter, order
and page in Python, as every list did before; each request below is answered both ways by one
in-process sandbox on the leg's backend (SQLite, or PostgreSQL under `make pytest-postgres`), and
the two answers must be equal: same count, same rows, same order, for every filter, with page
numbers and with cursors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from payment_kit import PaymentKit
from payment_kit.testing._bridge import SyncASGITransport
from payment_kit_sandbox import list_queries
from payment_kit_sandbox.app import SandboxConfig, create_app

pytestmark = pytest.mark.sandbox_only

API_KEY = "sk_list_pages"


@pytest.fixture(scope="module")
def http(fresh_database: Callable[[], str]) -> Iterator[httpx.Client]:
    app = create_app(SandboxConfig(db=fresh_database(), api_key=API_KEY, webhook_worker=False))
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox.localhost", headers=headers) as http:
        client = PaymentKit(base_url="http://sandbox.localhost", api_key=API_KEY, livemode=False, http_client=http)
        meters = [
            client.meters.create(name=f"M{n}", event_name=f"calls_{n}", aggregation_method="sum", unit="c")
            for n in range(2)
        ]
        customers = [client.customers.retrieve(f"did:abt:zLister{n}", create=True) for n in range(3)]
        for n, customer in enumerate(customers[:2]):  # the third has no credit: its events wait
            for meter in meters:
                client.credit_grants.create(
                    customer_id=customer.id, amount=str(30 + n), currency_id=meter.currency_id, category="promotional"
                )
        for n in range(36):
            client.meter_events.create(
                event_name=meters[n % 2].event_name,
                payload={"customer_id": customers[n % 3].id, "value": str(1 + n % 4)},
                identifier=f"ev-{n:02d}-{'odd' if n % 2 else 'even'}",
                timestamp=1_700_000_000 + (n * 7919) % 50,  # out of creation order, with repeats
            )
        sell(client, http, customers)
        yield http
    app.state.store.close()


URLS = {"success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cancel"}


def sell(client: PaymentKit, http: httpx.Client, customers: list[Any]) -> None:
    """Products, prices, and paid checkouts (subscriptions, invoices and payment intents) for the
    three customers; one subscription canceled, so that statuses differ."""
    products = [
        client.products.create(name=f"Widget {n}", type="service", description=f"kind {n % 2}") for n in range(4)
    ]
    client.products.update(products[3].id, active=False)
    monthly = client.prices.create(
        product_id=products[0].id,
        unit_amount="9.5",
        recurring={"interval": "month", "interval_count": 1},
        lookup_key="monthly",
    )
    once = [client.prices.create(product_id=p.id, unit_amount=f"{n + 1}.25") for n, p in enumerate(products[1:3])]
    for n in range(9):
        subscription = n % 3 == 0
        session = client.checkout.sessions.create(
            line_items=[{"price_id": (monthly if subscription else once[n % 2]).id, "quantity": 1 + n % 2}],
            mode="subscription" if subscription else "payment",
            metadata={"batch": f"b{n % 2}"},
            **URLS,
        )
        paid = http.post(
            f"/sandbox/checkout-sessions/{session.id}/complete",
            json={"customer_did": customers[n % 3].did, "livemode": False},
        )
        assert paid.status_code == 200, paid.text
    first = client.subscriptions.list()[0]
    client.subscriptions.cancel(first.id)
    intents = client.payment_intents.list(status="succeeded")
    for intent in intents.list[:3]:
        client.payment_intents.refund(intent.id, amount="0.5", reason="requested_by_customer")
    coupons = [client.coupons.create(name=f"C{n}", percent_off=10 + n, duration="once").coupon for n in range(2)]
    for n in range(5):
        client.promotion_codes.create(coupon_id=coupons[n % 2].id, code=f"LIST{n}")
    for n in range(3):
        client.payment_links.create(name=f"Link {n}", line_items=[{"price_id": once[n % 2].id, "quantity": 1}])
        client.webhook_endpoints.create(url=f"https://hooks.example/{n}", enabled_events=["invoice.paid"])


def both_ways(http: httpx.Client, monkeypatch: pytest.MonkeyPatch, path: str, params: dict[str, Any]) -> Any:
    """The answer in SQL, checked equal to the answer in Python."""
    query = {"livemode": "false", **params}
    in_sql = http.get(path, params=query)
    monkeypatch.setattr(list_queries, "PAGE_IN_SQL", False)
    in_python = http.get(path, params=query)
    monkeypatch.setattr(list_queries, "PAGE_IN_SQL", True)
    assert in_sql.status_code == in_python.status_code, (params, in_sql.text, in_python.text)
    assert in_sql.json() == in_python.json(), params
    return in_sql.json()


def every_page(http: httpx.Client, monkeypatch: pytest.MonkeyPatch, path: str, params: dict[str, Any]) -> list[str]:
    """Walks the list both by page number and by cursor, each page checked both ways; answers the ids."""
    first = both_ways(http, monkeypatch, path, {**params, "page": 1, "pageSize": 5})
    assert "count" in first, first
    count, ids = first["count"], [row["id"] for row in first["list"]]
    for page in range(2, -(-count // 5) + 2):  # one page past the end as well
        ids += [
            row["id"] for row in both_ways(http, monkeypatch, path, {**params, "page": page, "pageSize": 5})["list"]
        ]
    assert len(ids) == len(set(ids)) == count
    walked = ids[:5]
    while len(walked) < count:
        chunk = both_ways(http, monkeypatch, path, {**params, "starting_after": walked[-1], "limit": 5})["list"]
        walked += [row["id"] for row in chunk]
    assert walked == ids
    if count > 6:
        before = both_ways(http, monkeypatch, path, {**params, "ending_before": ids[6], "limit": 4})["list"]
        assert [row["id"] for row in before] == ids[2:6]
    return ids


def customer_ids(http: httpx.Client) -> tuple[str, str]:
    found = http.get("/api/customers", params={"livemode": "false", "did": "zLister0"}).json()["list"]
    return found[0]["id"], "did:abt:zLister0"


def meter_ids(http: httpx.Client) -> tuple[str, str]:
    found = http.get("/api/meters", params={"livemode": "false", "pageSize": 100}).json()["list"]
    meter = next(m for m in found if m["event_name"] == "calls_1")
    return meter["id"], meter["event_name"]


METER_EVENT_FILTERS: list[dict[str, Any]] = [
    {},
    {"order": "created_at:ASC"},
    {"order": "timestamp:DESC"},
    {"order": "timestamp"},
    {"order": "updated_at:DESC"},
    {"order": "timestamp:ASC,created_at:DESC"},
    {"event_name": "calls_0"},
    {"event_name": "no_such_event"},
    {"start": 1_700_000_010, "end": 1_700_000_030},
    {"start": 1_700_000_049},
    {"end": 1_700_000_000},
    {"q": "ODD"},
    {"q": "ev-1", "event_name": "calls_1", "order": "timestamp:ASC"},
]


@pytest.mark.parametrize("params", METER_EVENT_FILTERS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_meter_event_lists_answer_as_before(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch, params: dict[str, Any]
) -> None:
    every_page(http, monkeypatch, "/api/meter-events", params)


def test_meter_event_lists_by_customer_and_meter_answer_as_before(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id, did = customer_ids(http)
    meter_id, event_name = meter_ids(http)
    by_id = every_page(http, monkeypatch, "/api/meter-events", {"customer_id": customer_id})
    assert len(by_id) == 12
    assert every_page(http, monkeypatch, "/api/meter-events", {"customer_id": did}) == by_id
    by_meter = every_page(http, monkeypatch, "/api/meter-events", {"meter_id": meter_id, "order": "timestamp"})
    assert len(by_meter) == 18
    assert (
        every_page(http, monkeypatch, "/api/meter-events", {"meter_id": event_name, "order": "timestamp"}) == by_meter
    )
    assert every_page(http, monkeypatch, "/api/meter-events", {"meter_id": "mtr_none"}) == []
    both = every_page(http, monkeypatch, "/api/meter-events", {"meter_id": meter_id, "customer_id": customer_id})
    assert len(both) == 6
    both_ways(http, monkeypatch, "/api/meter-events", {"starting_after": "mevt_none"})  # the same 400 both ways


def test_credit_transaction_lists_answer_as_before(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    customer_id, did = customer_ids(http)
    meter_id, event_name = meter_ids(http)
    everything = every_page(http, monkeypatch, "/api/credit-transactions", {})
    assert len(everything) >= 20  # the third customer's events drew nothing
    for params in (
        {"customer_id": customer_id},
        {"customer_id": did, "order": "created_at:ASC"},
        {"meter_id": meter_id},
        {"meter_id": event_name, "customer_id": customer_id},
        {"meter_id": "mtr_none"},
        {"start": 0, "end": 253402300799},  # the document's maximum: the last second of year 9999
        {"start": 253402300799},
        {"end": 0},
        {"q": "CALLS_1"},
        {"order": "updated_at:ASC,created_at:DESC"},
    ):
        every_page(http, monkeypatch, "/api/credit-transactions", params)
    row = both_ways(http, monkeypatch, "/api/credit-transactions", {"pageSize": 1})["list"][0]
    for name in ("credit_grant_id", "source"):
        assert every_page(http, monkeypatch, "/api/credit-transactions", {name: row[name]})


def test_customer_lists_answer_as_before(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(every_page(http, monkeypatch, "/api/customers", {"order": "created_at:ASC"})) == 3
    assert len(every_page(http, monkeypatch, "/api/customers", {"did": "zLister1"})) == 1


def test_invoice_subscription_and_payment_intent_lists_answer_as_before(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id, did = customer_ids(http)
    invoices = every_page(http, monkeypatch, "/api/invoices", {})
    assert len(invoices) >= 9
    subscription = both_ways(http, monkeypatch, "/api/subscriptions", {"pageSize": 1})["list"][0]["id"]
    for params in (
        {"order": "created_at:ASC"},
        {"status": "paid"},
        {"status": "paid,open,void"},
        {"customer_id": customer_id},
        {"customer_did": did, "customer_id": customer_id},
        {"customer_did": "did:abt:znobody"},
        {"subscription_id": subscription},
        {"subscription_id": subscription, "include_recovered_from": "true"},
        {"ignore_zero": "true"},
        {"include_staking": "true", "include_overdraft_protection": "false"},
        {"currency_id": "pc_none"},
        {"order": "updated_at:DESC,created_at:ASC"},
    ):
        every_page(http, monkeypatch, "/api/invoices", params)
    assert len(every_page(http, monkeypatch, "/api/subscriptions", {})) == 3
    for params in (
        {"status": "active"},
        {"status": "canceled,active"},
        {"customer_id": customer_id},
        {"customer_did": did},
        {"activeFirst": "true"},
        {"activeFirst": "true", "order": "created_at:ASC"},
        {"metadata.batch": "b0"},
    ):
        every_page(http, monkeypatch, "/api/subscriptions", params)
    assert len(every_page(http, monkeypatch, "/api/payment-intents", {})) >= 9
    intent = both_ways(http, monkeypatch, "/api/payment-intents", {"pageSize": 1})["list"][0]
    for params in (
        {"status": "succeeded"},
        {"customer_id": customer_id},
        {"invoice_id": intent["invoice_id"]},
        {"metadata.batch": "b1"},
        {"order": "created_at:ASC"},
    ):
        every_page(http, monkeypatch, "/api/payment-intents", params)


def test_catalog_and_credit_grant_lists_answer_as_before(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    customer_id, _ = customer_ids(http)
    assert len(every_page(http, monkeypatch, "/api/products", {})) == 4
    for params in (
        {"active": "true"},
        {"active": "false"},
        {"name": "WIDGET 1"},
        {"description": "kind 0", "order": "name:DESC"},
        {"order": "name"},
    ):
        every_page(http, monkeypatch, "/api/products", params)
    prices = every_page(http, monkeypatch, "/api/prices", {})
    assert len(prices) >= 3
    product_id = both_ways(http, monkeypatch, "/api/products", {"order": "created_at:ASC", "pageSize": 1})["list"][0]
    for params in (
        {"type": "recurring"},
        {"type": "one_time", "order": "unit_amount:DESC"},
        {"lookup_key": "monthly"},
        {"product_id": product_id["id"]},
        {"active": "true", "order": "unit_amount"},
    ):
        every_page(http, monkeypatch, "/api/prices", params)
    assert len(every_page(http, monkeypatch, "/api/credit-grants", {})) >= 4
    for params in (
        {"customer_id": customer_id},
        {"status": "granted,depleted"},
        {"q": "PROMO"},
        {"order": "priority:ASC,created_at:DESC"},
        {"status": "expired"},
    ):
        every_page(http, monkeypatch, "/api/credit-grants", params)


def test_checkout_refund_promotion_link_meter_and_endpoint_lists_answer_as_before(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id, did = customer_ids(http)
    sessions = every_page(http, monkeypatch, "/api/checkout-sessions", {})
    assert len(sessions) == 9
    subscription = both_ways(http, monkeypatch, "/api/subscriptions", {"pageSize": 1})["list"][0]["id"]
    for params in (
        {"status": "complete"},
        {"status": "open,expired"},
        {"payment_status": "paid", "order": "expires_at:DESC"},
        {"customer_id": customer_id},
        {"customer_did": did},
        {"subscription_id": subscription},
        {"metadata.batch": "b1"},
    ):
        every_page(http, monkeypatch, "/api/checkout-sessions", params)
    refunds = every_page(http, monkeypatch, "/api/refunds", {})
    assert len(refunds) == 3
    refund = both_ways(http, monkeypatch, "/api/refunds", {"pageSize": 1})["list"][0]
    for name in ("customer_id", "currency_id", "invoice_id"):
        every_page(http, monkeypatch, "/api/refunds", {name: refund[name]})
    every_page(http, monkeypatch, "/api/refunds", {"status": "succeeded,pending"})
    codes = both_ways(http, monkeypatch, "/api/promotion-codes", {"pageSize": 1})["list"][0]
    assert len(every_page(http, monkeypatch, "/api/promotion-codes", {})) == 5
    every_page(http, monkeypatch, "/api/promotion-codes", {"coupon_id": codes["coupon_id"], "order": "code:DESC"})
    every_page(http, monkeypatch, "/api/promotion-codes", {"active": "true", "order": "times_redeemed"})
    assert len(every_page(http, monkeypatch, "/api/payment-links", {"order": "name:DESC"})) == 3
    assert len(every_page(http, monkeypatch, "/api/webhook-endpoints", {"order": "url"})) == 3
    for params in ({}, {"event_name": "calls_1"}, {"q": "M1"}, {"order": "name:DESC"}):
        every_page(http, monkeypatch, "/api/meters", params)


def test_cursors_refused_as_before(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyset pages refuse what the Python path refused, with the same 400: both cursors at once,
    and a cursor that is a row of the kind but not of the filtered list."""
    customer_id, _ = customer_ids(http)
    ids = [row["id"] for row in both_ways(http, monkeypatch, "/api/meter-events", {"pageSize": 40})["list"]]
    mine = {
        row["id"] for row in both_ways(http, monkeypatch, "/api/meter-events", {"customer_id": customer_id})["list"]
    }
    other = next(i for i in ids if i not in mine)
    for params, message in (
        ({"starting_after": ids[1], "ending_before": ids[3]}, "give one cursor, not both"),
        ({"ending_before": other, "customer_id": customer_id}, f"ending_before: {other!r} is not an item"),
        ({"starting_after": other, "customer_id": customer_id, "order": "timestamp"}, "starting_after: "),
    ):
        assert message in both_ways(http, monkeypatch, "/api/meter-events", params)["error"]
