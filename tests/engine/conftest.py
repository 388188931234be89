"""The billing rules on a fresh in-memory store, with no HTTP: a request
context wired as `create_app` wires it, inside one open transaction (or none, for
code that opens its own), with real time standing still; and the small helpers
the engine test files share (prices, subscriptions, coupons, usage, refusals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from payment_kit_sandbox import context as context_module
from payment_kit_sandbox.app import wire
from payment_kit_sandbox.context import Context
from payment_kit_sandbox.database import Store
from payment_kit_sandbox.document import load_document
from payment_kit_sandbox.engine import billing, catalog, credits, subscriptions
from payment_kit_sandbox.lookups import base_currency, ensure_customer
from payment_kit_sandbox.refusals import ApiError
from payment_kit_sandbox.seed import seed

# Real time stands still in these tests (2026-01-15T12:00:00.250Z) so that rules comparing with `now`,
# or with the UTC day, cannot straddle a second or midnight; tests move the sandbox clock instead.
STILL = datetime(2026, 1, 15, 12, tzinfo=UTC).timestamp() + 0.25


@pytest.fixture(autouse=True)
def real_time_stands_still(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context_module, "time", SimpleNamespace(time=lambda: STILL))


@pytest.fixture(scope="session")
def wired() -> Any:
    return wire(load_document())


def seeded_context(wired: Any) -> Context:
    """A context on a fresh in-memory store seeded as a new sandbox is, with no transaction open."""
    store = Store()
    with store.transaction():
        seed(store, wired.wiring.document)
    return Context(op=None, store=store, livemode=False, wiring=wired.wiring)


@pytest.fixture
def ctx(wired: Any) -> Iterator[Context]:
    context = seeded_context(wired)
    with context.store.transaction():
        yield context
    context.store.close()


@pytest.fixture
def buyer(ctx: Context) -> dict[str, Any]:
    return ensure_customer(ctx, "did:abt:zBuyer0001")


@pytest.fixture
def currency(ctx: Context) -> dict[str, Any]:
    """The seeded test currency: 18 decimals."""
    return base_currency(ctx)


def make_price(ctx: Context, **body: Any) -> dict[str, Any]:
    product = ctx.stamp({"name": "p", "type": "service", "default_price_id": None}, "prod")
    ctx.store.insert("product", product)
    return catalog.new_price(ctx, product, body)


@pytest.fixture
def credit(ctx: Context) -> dict[str, Any]:
    """A credit currency of 2 decimals: 1 credit is 100 units."""
    method = ctx.store.all("payment_method", False)[0]
    return catalog.new_currency(
        ctx, payment_method_id=method["id"], name="calls", symbol="CALLS", decimal=2, type="credit"
    )


@pytest.fixture
def meter(ctx: Context, credit: dict[str, Any]) -> dict[str, Any]:
    return ctx.store.insert(
        "meter",
        ctx.stamp(
            {"event_name": "calls", "unit": "call", "name": "calls", "currency_id": credit["id"], "status": "active"},
            "mtr",
        ),
    )


@pytest.fixture
def outside_a_transaction(wired: Any) -> Iterator[Context]:
    """A seeded store with no transaction open, for code that opens its own (events, webhooks)."""
    context = seeded_context(wired)
    yield context
    context.store.close()


@contextmanager
def refused(status: int, *fragments: str) -> Iterator[None]:
    """The block must raise an ApiError of `status` whose message names each fragment."""
    with pytest.raises(ApiError) as caught:
        yield
    assert caught.value.status == status, caught.value.message
    for fragment in fragments:
        assert fragment in caught.value.message, caught.value.message


def emitted(ctx: Context) -> list[str]:
    """The types of the events the request has recorded so far, in order."""
    return [event["type"] for event in ctx.events]


def recurring_price(
    ctx: Context, unit_amount: str = "0.000000000000001", interval: str = "month", **body: Any
) -> dict[str, Any]:
    """A licensed price billed every `interval` (1000 units of the test currency by default);
    `recurring` in `body` adds to or overrides the recurring settings."""
    recurring = {"interval": interval, "interval_count": 1, "usage_type": "licensed", **body.pop("recurring", {})}
    return make_price(ctx, unit_amount=unit_amount, recurring=recurring, **body)


def subscribe(
    ctx: Context, customer: dict[str, Any], *prices: dict[str, Any], quantity: int = 1, **options: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Start a subscription to `prices`, charged automatically from the currency's payment method."""
    currency_id = prices[0]["currency_id"]
    options.setdefault("default_payment_method_id", billing.method_of(ctx, currency_id)["id"])
    return subscriptions.start_subscription(
        ctx,
        customer=customer,
        currency_id=currency_id,
        items=[{"price": price, "quantity": quantity} for price in prices],
        **options,
    )


def make_coupon(ctx: Context, **fields: Any) -> dict[str, Any]:
    """A stored coupon, shaped as createCoupon stores one (10% off, once, unless `fields` say otherwise)."""
    coupon = ctx.stamp(
        {
            "locked": False,
            "name": "ten",
            "amount_off": "0",
            "percent_off": 10,
            "currency_id": base_currency(ctx)["id"],
            "duration": "once",
            "duration_in_months": 0,
            "max_redemptions": None,
            "redeem_by": None,
            "applies_to": None,
            "metadata": {},
            "currency_options": {},
            "times_redeemed": 0,
            "valid": True,
            **fields,
        },
        "co",
    )
    return ctx.store.insert("coupon", coupon)


def paid_intent(ctx: Context, customer: dict[str, Any], currency_id: str, amount: int) -> dict[str, Any]:
    """A succeeded payment of `amount` units with no invoice behind it."""
    return billing.create_payment_intent(
        ctx, customer=customer, currency_id=currency_id, amount=amount, description="paid", status="succeeded"
    )


def consume(
    ctx: Context,
    buyer: dict[str, Any],
    meter: dict[str, Any],
    credit: dict[str, Any],
    value: str,
    subscription_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """Report `value` of usage on `meter` for `buyer` (settled at once): answers the event as recorded."""
    event = ctx.stamp(
        {
            "event_name": meter["event_name"],
            "payload": {"customer_id": buyer["id"], "value": value, "subscription_id": subscription_id},
            "status": "pending",
            "credit_consumed": "0",
            "attempt_count": 0,
            "timestamp": ctx.now() if timestamp is None else timestamp,
        },
        "mevt",
    )
    credits.record_event(ctx, event, meter, credit)
    return event


def an_invoice(ctx: Context, buyer: dict[str, Any], price: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    """An open manual invoice for `quantity` of `price`, in the price's currency."""
    return billing.create_invoice(
        ctx,
        customer=buyer,
        currency_id=price["currency_id"],
        lines=[{"price": price, "quantity": quantity}],
        billing_reason="manual",
    )
