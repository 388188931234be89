"""Credit packs, credit schedules, refunds of packs and auto-recharge, as billing rules on a
store (no HTTP), with exact amounts: the credit currency has 2 decimals (1 credit = 100
units) and the seeded test currency 18 (a price of "5" costs 5 × 10^18 units)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import auto_recharge, billing, clock, credit_packs, credits, refunds, subscriptions
from payment_kit_sandbox.refusals import ApiError

from .conftest import an_invoice, consume, make_price, recurring_price, subscribe

TOKEN = 10**18
DAY = 86400


def pack(ctx: Context, credit: dict[str, Any], credits_: str = "500", **config: Any) -> dict[str, Any]:
    return make_price(
        ctx,
        unit_amount="5",
        metadata={"credit_config": {"currency_id": credit["id"], "credit_amount": credits_, **config}},
    )


def paid_invoice(ctx: Context, buyer: dict[str, Any], price: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    invoice = an_invoice(ctx, buyer, price, quantity)
    billing.pay_invoice(ctx, invoice, buyer)
    return invoice


def grants(ctx: Context, buyer: dict[str, Any]) -> list[dict[str, Any]]:
    return ctx.store.find("credit_grant", False, customer_id=buyer["id"])


def test_a_paid_pack_grants_credit_amount_times_quantity_with_its_settings(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    price = pack(
        ctx,
        credit,
        "12.5",
        priority=80,
        valid_duration_value=2,
        valid_duration_unit="weeks",
        applicable_prices=["price_x"],
    )
    invoice = paid_invoice(ctx, buyer, price, quantity=3)
    [grant] = grants(ctx, buyer)
    assert (grant["amount"], grant["remaining_amount"], grant["category"], grant["priority"]) == (
        "3750",
        "3750",
        "paid",
        80,
    )
    assert grant["expires_at"] == grant["effective_at"] + 14 * DAY
    assert grant["applicability_config"] == {"scope": {"prices": ["price_x"]}}
    assert grant["metadata"]["invoice_id"] == invoice["id"] and grant["metadata"]["source"] == "purchase"


def test_an_unpaid_or_declined_invoice_grants_nothing(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    price = pack(ctx, credit)
    invoice = an_invoice(ctx, buyer, price)
    assert grants(ctx, buyer) == []
    billing.mark_payments_failing(ctx, buyer["id"], "no funds")
    assert billing.attempt_payment(ctx, invoice, buyer) is False
    assert (invoice["status"], invoice["attempt_count"]) == ("open", 1) and grants(ctx, buyer) == []
    with pytest.raises(ApiError) as declined:
        billing.refuse_if_declined(ctx, buyer, "Checkout")
    assert declined.value.status == 402 and "declined (no funds)" in declined.value.message
    billing.mark_payments_failing(ctx, buyer["id"], None)
    assert billing.attempt_payment(ctx, invoice, buyer) is True
    assert [g["amount"] for g in grants(ctx, buyer)] == ["50000"]


def test_a_refund_voids_its_share_of_what_is_unspent(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    invoice = paid_invoice(ctx, buyer, pack(ctx, credit), quantity=2)  # 100000 units for 10 tokens
    consume(ctx, buyer, meter, credit, "600")  # 60000 spent, 40000 left
    intent = ctx.store.get("payment_intent", invoice["payment_intent_id"], False)
    half = refunds.refund_payment(ctx, intent, 5 * TOKEN)  # half: up to 50000, but only 40000 is unspent
    [grant] = grants(ctx, buyer)
    assert half["metadata"]["credit_grants_voided"] == [
        {"credit_grant_id": grant["id"], "voided_amount": "40000", "spent_amount": "60000"}
    ]
    assert (grant["status"], grant["remaining_amount"], grant["chain_detail"]) == (
        "voided",
        "0",
        {"voided_reason": "refund"},
    )
    rest = refunds.refund_payment(ctx, intent, 5 * TOKEN)
    assert "credit_grants_voided" not in rest["metadata"]  # nothing left to void


def test_schedule_timings_intervals_and_limits(ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]) -> None:
    schedule = {
        "enabled": True,
        "delivery_mode": "schedule",
        "interval_value": 6,
        "interval_unit": "hour",
        "max_grants_per_period": 2,
        "expire_with_next_grant": True,
    }
    price = make_price(
        ctx,
        unit_amount="1",
        recurring={"interval": "day", "interval_count": 1, "usage_type": "licensed"},
        metadata={"credit_config": {"currency_id": credit["id"], "credit_amount": "3", "schedule": schedule}},
    )
    sub, _ = subscriptions.start_subscription(
        ctx,
        customer=buyer,
        currency_id=price["currency_id"],
        items=[{"price": price, "quantity": 2}],
        default_payment_method_id=billing.method_of(ctx, price["currency_id"])["id"],
    )
    [first] = grants(ctx, buyer)  # immediate: 3 credits × 2
    assert first["amount"] == "600" and first["effective_at"] == sub["start_date"]
    ctx.set_clock_offset(13 * 3600)  # due at +6h and +12h: the period allows 2 in all
    assert credit_packs.deliver_due(ctx, sub) == 1
    made = sorted(grants(ctx, buyer), key=lambda g: g["effective_at"])
    assert [g["effective_at"] - sub["start_date"] for g in made] == [0, 6 * 3600]
    assert [g["status"] for g in made] == ["expired", "granted"]
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 600


def test_auto_recharge_capacity_and_daily_limits(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    price = pack(ctx, credit, "10")  # 1000 units for 5 tokens
    config = ctx.stamp(
        {
            "customer_id": buyer["id"],
            "currency_id": credit["id"],
            "enabled": True,
            "threshold": "5",
            "price_id": price["id"],
            "quantity": 2,
            "daily_limits": {"max_attempts": 0, "max_amount": "15"},
            "daily_stats": {"attempt_count": 0, "total_amount": "0"},
        },
        "arc",
    )
    ctx.store.insert("auto_recharge_config", config)
    # Each recharge buys 2000 units for 10 tokens; 15 tokens a day allow one.
    assert auto_recharge.capacity(ctx, config, None) == 2000
    assert auto_recharge.capacity(ctx, config, 5) == 2000
    consume(ctx, buyer, meter, credit, "1")  # nothing granted: 100 owed → recharge, which settles it
    stored = ctx.store.get("auto_recharge_config", config["id"], False)
    assert stored["daily_stats"] == {"attempt_count": 1, "total_amount": "10"}
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 1900
    assert auto_recharge.capacity(ctx, stored, None) == 0  # 5 tokens left today, a recharge costs 10
    assert auto_recharge.recharge(ctx, stored) is None
    billing.mark_payments_failing(ctx, buyer["id"], "declined")
    ctx.set_clock_offset(DAY)
    assert auto_recharge.capacity(ctx, stored, None) == 0  # a failing payer can buy nothing
    failed = auto_recharge.recharge(ctx, stored)
    assert failed is not None and failed["status"] == "open"
    assert stored["daily_stats"] == {"attempt_count": 1, "total_amount": "0"}
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 1900


@pytest.mark.parametrize(("how", "expected"), [("sum", "12.5"), ("count", "3"), ("last", "2.5")])
def test_meter_events_of_a_subscription_aggregate_per_the_meter(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any], how: str, expected: str
) -> None:
    meter["aggregation_method"] = how
    ctx.store.save("meter", meter)
    price = make_price(
        ctx,
        unit_amount="1",
        recurring={"interval": "month", "interval_count": 1, "usage_type": "metered", "meter_id": meter["id"]},
    )
    sub, _ = subscriptions.start_subscription(
        ctx, customer=buyer, currency_id=price["currency_id"], items=[{"price": price, "quantity": 1}]
    )
    start = sub["current_period_start"]
    for offset, value in ((0, "4"), (2, "2.5"), (1, "6")):
        event = consume(ctx, buyer, meter, credit, value, subscription_id=sub["id"], timestamp=start + offset)
        stored = ctx.store.get("meter_event", event["id"], False)
        assert (stored["status"], stored["credit_consumed"], stored["credit_pending"]) == ("completed", "0", "0")
    used = subscriptions.meter_usage(ctx, sub, price, start, sub["current_period_end"])
    assert used == Decimal(expected)
    assert subscriptions.meter_usage(ctx, sub, price, start + 3, sub["current_period_end"]) == 0


def test_after_first_payment_waits_for_a_paid_invoice(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    schedule = {"enabled": True, "delivery_mode": "schedule", "interval_value": 1, "interval_unit": "day"}
    price = make_price(
        ctx,
        unit_amount="1",
        recurring={"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        metadata={
            "credit_config": {
                "currency_id": credit["id"],
                "credit_amount": "7",
                "schedule": {**schedule, "first_grant_timing": "after_first_payment"},
            }
        },
    )
    # No payment method: the first invoice waits open, so nothing is granted yet.
    _, invoice = subscriptions.start_subscription(
        ctx, customer=buyer, currency_id=price["currency_id"], items=[{"price": price, "quantity": 1}]
    )
    assert invoice is not None and invoice["status"] == "open" and grants(ctx, buyer) == []
    ctx.set_clock_offset(3600)
    billing.pay_invoice(ctx, invoice, buyer)
    [grant] = grants(ctx, buyer)
    assert grant["amount"] == "700" and grant["effective_at"] == invoice["status_transitions"]["paid_at"]


def scheduled_price(ctx: Context, credit: dict[str, Any], interval: str = "day", **schedule: Any) -> dict[str, Any]:
    """A licensed subscription price whose 1-credit pack is granted on a schedule (every 6 hours by default)."""
    timetable = {"enabled": True, "delivery_mode": "schedule", "interval_value": 6, "interval_unit": "hour", **schedule}
    return recurring_price(
        ctx,
        unit_amount="1",
        interval=interval,
        metadata={"credit_config": {"currency_id": credit["id"], "credit_amount": "1", "schedule": timetable}},
    )


def grant_hours(ctx: Context, buyer: dict[str, Any], since: int) -> list[int]:
    return sorted((g["effective_at"] - since) // 3600 for g in grants(ctx, buyer))


def test_amount_per_grant_replaces_credit_amount_times_quantity(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    subscribe(ctx, buyer, scheduled_price(ctx, credit, amount_per_grant="2.5"), quantity=3)
    assert [g["amount"] for g in grants(ctx, buyer)] == ["250"]
    assert (
        credit_packs.grant_for(ctx, customer=buyer, price=make_price(ctx, unit_amount="1"), quantity=1, links={})
        is None
    )


def test_after_trial_waits_for_the_trial_to_end(ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, scheduled_price(ctx, credit, first_grant_timing="after_trial"), trial_period_days=1)
    assert grants(ctx, buyer) == []
    ctx.set_clock_offset(DAY + 60)
    clock.advance(ctx)
    assert grant_hours(ctx, buyer, sub["start_date"]) == [24]


def test_schedules_pause_for_subscriptions_not_in_good_standing_or_without_a_customer(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    sub, _ = subscribe(ctx, buyer, scheduled_price(ctx, credit))
    ctx.set_clock_offset(7 * 3600)
    assert credit_packs.deliver_due(ctx, {**sub, "status": "paused"}) == 0
    assert credit_packs.deliver_due(ctx, {**sub, "customer_id": "cus_gone"}) == 0
    assert credit_packs.deliver_due(ctx, sub) == 1
    line = {"price": {"id": "price_x", "nickname": "x"}, "quantity": 1, "amount": 1}
    orphan = billing.create_invoice(
        ctx, customer=buyer, currency_id=sub["currency_id"], lines=[line], billing_reason="manual"
    )
    credit_packs.invoice_paid(ctx, {**orphan, "customer_id": "cus_gone"})  # nobody to grant to: nothing happens
    assert len(grants(ctx, buyer)) == 2


def test_a_schedule_that_would_catch_up_too_far_in_one_advance_is_refused(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    sub, _ = subscribe(ctx, buyer, scheduled_price(ctx, credit, interval="year", interval_value=1))
    ctx.set_clock_offset((credit_packs.MAX_CATCH_UP + 1) * 3600 + 60)
    with pytest.raises(ApiError) as refused:
        credit_packs.deliver_due(ctx, sub)
    assert (
        refused.value.status == 400
        and f"more than {credit_packs.MAX_CATCH_UP} scheduled credit grants" in refused.value.message
    )


@pytest.mark.xfail(
    strict=True,
    reason="bug: a renewal's invoice-paid hook runs deliver_due on the stored, not yet renewed subscription "
    "(credit_packs.py:153,269; subscriptions.py:485 saves the new period last), so grants due at or after "
    "the period boundary count against the old period, and a multi-period advance exhausts the schedule",
)
@pytest.mark.parametrize("steps", [[3 * DAY + 60], [DAY + 20, 2 * DAY + 40, 3 * DAY + 60]], ids=["one step", "daily"])
def test_max_grants_per_period_counts_each_daily_period_however_the_clock_moves(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], steps: list[int]
) -> None:
    sub, _ = subscribe(ctx, buyer, scheduled_price(ctx, credit, max_grants_per_period=2))
    for offset in steps:
        ctx.set_clock_offset(offset)
        clock.advance(ctx)
    # Two grants in each daily period: at its start and 6 hours in.
    assert grant_hours(ctx, buyer, sub["start_date"]) == [0, 6, 24, 30, 48, 54, 72]
