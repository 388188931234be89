"""Discounts, refunds and proration: exact integer units."""

from __future__ import annotations

from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import discounts, refunds, subscriptions
from payment_kit_sandbox.engine.money import from_units, to_units
from payment_kit_sandbox.refusals import ApiError

from .conftest import make_price, paid_intent


def test_money_converts_exactly() -> None:
    assert to_units("0.001", 18, "amount") == "1000000000000000"
    assert from_units("1000000000000000", 18) == "0.001"
    with pytest.raises(ApiError, match="more than 2 decimal places"):
        to_units("1.005", 2, "amount")


def test_percent_discounts_round_down_and_fixed_ones_never_exceed_the_subtotal(ctx: Context) -> None:
    percent = {"percent_off": 15, "amount_off": "0", "currency_id": "pc_a", "currency_options": {}}
    assert discounts.amount_off(ctx, percent, "pc_a", 999) == 149  # 149.85, rounded down
    fixed = {
        "percent_off": 0,
        "amount_off": "500",
        "currency_id": "pc_a",
        "currency_options": {"pc_b": {"amount_off": "70"}},
    }
    assert discounts.amount_off(ctx, fixed, "pc_a", 1200) == 500
    assert discounts.amount_off(ctx, fixed, "pc_a", 300) == 300
    assert discounts.amount_off(ctx, fixed, "pc_b", 1200) == 70
    assert discounts.amount_off(ctx, fixed, "pc_c", 1200) == 0
    assert discounts.amount_off(ctx, fixed, "pc_a", 0) == 0


def test_refunds_never_exceed_what_is_left(ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]) -> None:
    intent = paid_intent(ctx, buyer, currency["id"], 1000)
    first = refunds.refund_payment(ctx, intent, 400)
    assert (first["status"], first["amount"]) == ("succeeded", "400")
    assert refunds.refundable(ctx, intent) == 600
    assert refunds.refund_summary(ctx, intent) == {"amount": "400", "totalAmount": "1000"}
    assert refunds.refund_units(ctx, intent, "0.0000000000000006") == 600
    with pytest.raises(ApiError, match=r"more than the 0\.0000000000000006 left"):
        refunds.refund_payment(ctx, intent, 601)
    refunds.refund_payment(ctx, intent, 600)
    with pytest.raises(ApiError, match="already fully refunded"):
        refunds.refund_payment(ctx, intent, 1)


def test_cancelling_with_proration_refunds_the_unused_part_of_the_period(
    ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]
) -> None:
    price = make_price(ctx, unit_amount="0.000000000000003", recurring={"interval": "month", "interval_count": 1})
    sub, invoice = subscriptions.start_subscription(
        ctx,
        customer=buyer,
        currency_id=currency["id"],
        items=[{"price": price, "quantity": 1}],
        checkout_session="cs_x",
    )
    assert invoice is not None and invoice["status"] == "paid" and invoice["total"] == "3000"
    start, end = int(invoice["period_start"]), int(invoice["period_end"])
    # A third of the period used: two thirds of 3000 come back, rounded down.
    at = start + (end - start) // 3
    subscriptions.refund_on_cancel(ctx, sub, "proration", at, "customer")
    [refund] = ctx.store.find("refund", False, invoice_id=invoice["id"])
    unused = end - at
    assert refund["amount"] == str(3000 * unused // (end - start))
    assert refund["reason"] == "requested_by_customer"
    intent = ctx.store.get("payment_intent", invoice["payment_intent_id"], False)
    assert refunds.refundable(ctx, intent) == 3000 - int(refund["amount"])
