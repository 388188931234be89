"""Discounts, refunds and proration: exact integer units."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import discounts, refunds, subscriptions
from payment_kit_sandbox.engine.money import (
    MAX_AMOUNT_DIGITS,
    MAX_UNITS,
    exact_arithmetic,
    from_units,
    plain_amount,
    round_half_up,
    to_units,
)
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


def test_money_is_converted_exactly_or_refused_never_rounded() -> None:
    """Decimal's default context keeps 28 digits: none of these may pass through it."""
    assert to_units("1234567890123456789012345678901", 18, "amount") == "1234567890123456789012345678901" + "0" * 18
    assert from_units(10**60 + 1, 18) == "1" + "0" * 42 + "." + "0" * 17 + "1"
    assert from_units(-(10**30) - 5, 2) == "-1" + "0" * 28 + ".05"
    assert (from_units(0, 18), from_units(1500, 3), from_units(7, 0)) == ("0", "1.5", "7")
    assert to_units("1.50", 1, "amount") == "15"  # a trailing zero is no decimal place too many
    assert to_units(1e-07, 7, "amount") == "1"  # a JSON number, read as the text the client sent
    assert plain_amount(1e-07, "amount") == "0.0000001" and plain_amount(2.5e16, "amount") == "25000000000000000"
    with pytest.raises(ApiError, match="more than 18 decimal places"):
        to_units("1." + "0" * 30 + "1", 18, "amount")
    with pytest.raises(ApiError, match=f"81 digits is over the sandbox's limit of {MAX_AMOUNT_DIGITS}"):
        to_units("1" * 81, 0, "amount")
    assert to_units(str(MAX_UNITS), 0, "amount") == str(MAX_UNITS)
    with pytest.raises(ApiError, match=r"over the sandbox's limit of 2\^256 - 1"):
        to_units(str(MAX_UNITS + 1), 0, "amount")
    for text in ("1\n", " 1", "1e3", "-1", "1_0", "\u0661", "", "NaN", "Infinity"):
        with pytest.raises(ApiError, match="is not a non-negative amount"):
            to_units(text, 18, "amount")
    for value in (float("nan"), float("inf"), True, None):
        with pytest.raises(ApiError, match="is not a decimal amount"):
            to_units(value, 18, "amount")  # type: ignore[arg-type]


def test_percentages_usage_and_proration_of_long_amounts_are_exact(ctx: Context) -> None:
    subtotal = 10**60 + 999
    coupon = {"percent_off": 12.5, "amount_off": "0", "currency_id": "pc_a", "currency_options": {}}
    assert discounts.amount_off(ctx, coupon, "pc_a", subtotal) == subtotal * 125 // 1000
    assert round_half_up(Fraction(10**40 + 1, 2)) == (10**40 + 2) // 2  # a half rounds up
    assert round_half_up(Decimal("2.4999999999999999999999999999999")) == 2
    with exact_arithmetic():
        assert sum([Decimal("1" * 40 + ".5"), Decimal("0.5")]) == Decimal("1" * 39 + "2")
