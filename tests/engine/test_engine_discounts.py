"""Discounts: which coupon a code names, every reason a coupon or code cannot be redeemed now,
the exact amount taken off, and what a redemption records and for how long it applies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import billing, discounts, promotions

from .conftest import emitted, make_coupon, recurring_price, refused, subscribe

DAY = 86400


def promotion_code(ctx: Context, coupon: dict[str, Any], **body: Any) -> dict[str, Any]:
    return promotions.new_promotion_code(ctx, coupon, {"code": "SAVE10", **body})


def test_codes_are_found_ignoring_case(ctx: Context) -> None:
    promo = promotion_code(ctx, make_coupon(ctx))
    assert discounts.find_code(ctx, "save10")["id"] == promo["id"]
    assert discounts.find_code(ctx, "SAVE11") is None


def test_a_coupon_cannot_be_redeemed_once_off_past_redeem_by_or_at_its_limit(ctx: Context) -> None:
    coupon = make_coupon(ctx, redeem_by=ctx.now() + DAY, max_redemptions=2, times_redeemed=1)
    assert discounts.coupon_problem(ctx, coupon) is None and discounts.present(ctx, coupon)["valid"] is True
    coupon["times_redeemed"] = 2
    assert discounts.coupon_problem(ctx, coupon) == "it has reached its max_redemptions (2)"
    coupon["times_redeemed"] = 0
    ctx.set_clock_offset(DAY)
    assert discounts.coupon_problem(ctx, coupon) == f"its redeem_by ({coupon['redeem_by']}) has passed"
    assert discounts.present(ctx, coupon)["valid"] is False and coupon["valid"] is True  # the stored switch stays
    coupon["valid"] = False
    assert discounts.coupon_problem(ctx, coupon) == "it has been turned off (valid: false)"


def test_a_code_cannot_be_redeemed_when_inactive_expired_or_at_its_limit(ctx: Context) -> None:
    promo = promotion_code(ctx, make_coupon(ctx), expires_at=ctx.now() + 60, max_redemptions=1)
    assert discounts.promotion_code_problem(ctx, promo) is None
    promo["times_redeemed"] = 1
    assert discounts.promotion_code_problem(ctx, promo) == "it has reached its max_redemptions (1)"
    ctx.set_clock_offset(60)
    assert discounts.promotion_code_problem(ctx, promo) == f"it expired at {promo['expires_at']}"
    promo["active"] = False
    assert discounts.promotion_code_problem(ctx, promo) == "it is inactive (archived or turned off)"


def test_resolve_finds_the_coupon_of_a_code_typed_in_any_case_or_given_by_id(ctx: Context) -> None:
    coupon = make_coupon(ctx)
    promo = promotion_code(ctx, coupon)
    assert discounts.resolve(ctx, promotion_code="save10") == (coupon, promo)
    assert discounts.resolve(ctx, promotion_code=promo["id"], coupon_id=coupon["id"]) == (coupon, promo)
    assert discounts.resolve(ctx, coupon_id=coupon["id"]) == (coupon, None)


def test_resolve_refuses_naming_the_field_and_the_reason(ctx: Context, currency: dict[str, Any]) -> None:
    coupon = make_coupon(ctx)
    promotion_code(ctx, coupon, active=False)
    with refused(400, "promotion_code: no promotion code 'NOPE' in this mode"):
        discounts.resolve(ctx, promotion_code="NOPE")
    with refused(400, "promotion_code: 'SAVE10' cannot be redeemed: it is inactive"):
        discounts.resolve(ctx, promotion_code="SAVE10")
    live = promotions.new_promotion_code(ctx, coupon, {"code": "LIVE"})
    with refused(400, f"coupon_id: promotion code 'LIVE' redeems {coupon['id']}, not co_other"):
        discounts.resolve(ctx, promotion_code="LIVE", coupon_id="co_other")
    with refused(400, "promotion_code: give a promotion code or a coupon_id"):
        discounts.resolve(ctx)
    with refused(400, "coupon_id: no coupon 'co_gone' in this mode"):
        discounts.resolve(ctx, coupon_id="co_gone")
    ctx.store.delete("coupon", coupon["id"])
    with refused(400, f"promotion_code: no coupon {coupon['id']!r}"):
        discounts.resolve(ctx, promotion_code=live["id"])
    spent = make_coupon(ctx, max_redemptions=1, times_redeemed=1)
    with refused(400, f"coupon_id: coupon {spent['id']} is no longer valid: it has reached its max_redemptions"):
        discounts.resolve(ctx, coupon_id=spent["id"])


def test_a_fixed_coupon_applies_only_in_currencies_it_names(ctx: Context, currency: dict[str, Any]) -> None:
    fixed = make_coupon(ctx, percent_off=0, amount_off="500", currency_options={"pc_other": {"amount_off": "7"}})
    assert discounts.resolve(ctx, coupon_id=fixed["id"], currency_id=currency["id"])[0]["id"] == fixed["id"]
    assert discounts.resolve(ctx, coupon_id=fixed["id"], currency_id="pc_other")[0]["id"] == fixed["id"]
    with refused(400, "coupon_id: coupon", "is no longer valid: it has no amount_off in currency pc_third"):
        discounts.resolve(ctx, coupon_id=fixed["id"], currency_id="pc_third")
    percent = make_coupon(ctx, percent_off=20)
    assert discounts.resolve(ctx, coupon_id=percent["id"], currency_id="pc_third")[0]["id"] == percent["id"]


def test_a_code_reserved_for_a_customer_or_for_listed_dids_refuses_others(ctx: Context, buyer: dict[str, Any]) -> None:
    coupon = make_coupon(ctx)
    other = promotions.new_promotion_code(ctx, coupon, {"code": "MINE"})
    other["customer_id"] = "cus_someone_else"
    ctx.store.save("promotion_code", other)
    with refused(400, "promotion_code: 'MINE' cannot be redeemed: it is reserved for another customer"):
        discounts.resolve(ctx, promotion_code="MINE", customer=buyer)
    listed = promotion_code(ctx, coupon, verification_type="user_restricted", customer_dids=["did:abt:zFriend"])
    with refused(400, "the customer's DID is not among its customer_dids"):
        discounts.resolve(ctx, promotion_code="SAVE10", customer=buyer)
    listed["customer_dids"] = ["did:abt:zBuyer0001"]
    ctx.store.save("promotion_code", listed)
    assert discounts.resolve(ctx, promotion_code="SAVE10", customer=buyer)[1]["id"] == listed["id"]


def test_a_first_time_code_refuses_a_customer_who_has_paid_before(
    ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]
) -> None:
    promotion_code(ctx, make_coupon(ctx), restrictions={"first_time_transaction": True})
    assert discounts.resolve(ctx, promotion_code="SAVE10", customer=buyer)[1] is not None
    line = {"price": {"id": "price_x", "nickname": "x"}, "quantity": 1, "amount": 5}
    invoice = billing.create_invoice(
        ctx, customer=buyer, currency_id=currency["id"], lines=[line], billing_reason="manual"
    )
    billing.pay_invoice(ctx, invoice, buyer)
    with refused(400, "it is for first-time customers only, and this customer has paid before"):
        discounts.resolve(ctx, promotion_code="SAVE10", customer=buyer)


def test_a_minimum_purchase_is_checked_in_the_purchase_currency(ctx: Context, currency: dict[str, Any]) -> None:
    # 1 token minimum in the base currency (18 decimals): 10^18 units.
    promotion_code(ctx, make_coupon(ctx), restrictions={"minimum_amount": "1"})
    token = 10**18
    assert discounts.resolve(ctx, promotion_code="SAVE10", currency_id=currency["id"], subtotal=token)[1]
    with refused(400, f"it needs a purchase of at least {token} units of {currency['id']}"):
        discounts.resolve(ctx, promotion_code="SAVE10", currency_id=currency["id"], subtotal=token - 1)
    # Another currency with no minimum of its own takes any amount.
    assert discounts.resolve(ctx, promotion_code="SAVE10", currency_id="pc_other", subtotal=1)[1]
    assert discounts._minimum_amount({"currency_options": {"pc_o": {"minimum_amount": "30"}}}, "pc_o") == 30


@pytest.mark.parametrize(
    ("percent_off", "subtotal", "expected"),
    [(12.5, 999, 124), (100, 999, 999), (33, 1, 0), (10, 0, 0), (10, -5, 0)],
)
def test_a_percentage_rounds_down_in_exact_arithmetic(
    ctx: Context, percent_off: float, subtotal: int, expected: int
) -> None:
    coupon = {"percent_off": percent_off, "amount_off": "0", "currency_id": "pc_a"}
    assert discounts.amount_off(ctx, coupon, "pc_a", subtotal) == expected


def test_applies_to_limits_which_products_are_discounted() -> None:
    assert discounts.applies_to_product({"applies_to": None}, "prod_a") is True
    assert discounts.applies_to_product({"applies_to": {"products": []}}, "prod_a") is True
    limited = {"applies_to": {"products": ["prod_a"]}}
    assert discounts.applies_to_product(limited, "prod_a") is True
    assert discounts.applies_to_product(limited, "prod_b") is False


def test_repeating_discounts_end_on_the_same_day_of_a_later_month_or_its_last_day() -> None:
    jan_31 = int(datetime(2025, 1, 31, 12, tzinfo=UTC).timestamp())
    assert discounts._add_months(jan_31, 1) == int(datetime(2025, 2, 28, 12, tzinfo=UTC).timestamp())
    assert discounts._add_months(jan_31, 13) == int(datetime(2026, 2, 28, 12, tzinfo=UTC).timestamp())
    assert discounts._add_months(jan_31, 11) == int(datetime(2025, 12, 31, 12, tzinfo=UTC).timestamp())


def test_a_redemption_counts_locks_and_records_who_redeemed_what(ctx: Context, buyer: dict[str, Any]) -> None:
    coupon = make_coupon(ctx, duration="repeating", duration_in_months=3)
    promo = promotion_code(ctx, coupon)
    assert discounts.used(ctx, "coupon", coupon) is False and discounts.used(ctx, "promotion_code", promo) is False
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx))
    ctx.events.clear()
    record = discounts.redeem(ctx, coupon, promo, buyer, subscription=sub)
    assert emitted(ctx) == ["coupon.updated", "promotion_code.updated"]
    for kind, obj in (("coupon", coupon), ("promotion_code", promo)):
        stored = ctx.store.get(kind, obj["id"], False)
        assert (stored["times_redeemed"], stored["locked"]) == (1, True)
        assert discounts.used(ctx, kind, obj) is True
    assert (record["coupon_id"], record["promotion_code_id"], record["customer_id"]) == (
        coupon["id"],
        promo["id"],
        buyer["id"],
    )
    assert record["subscription_id"] == sub["id"] and record["checkout_session_id"] is None
    assert record["end"] == discounts._add_months(record["start"], 3)
    assert ctx.store.get("subscription", sub["id"], False)["discount_id"] == record["id"]
    assert [r["id"] for r in discounts.records(ctx, coupon_id=coupon["id"])] == [record["id"]]
    assert [r["id"] for r in discounts.records(ctx, promotion_code_id=promo["id"])] == [record["id"]]
    # A record alone (times_redeemed reset by hand) still counts as used.
    assert discounts.used(ctx, "coupon", {**coupon, "times_redeemed": 0}) is True


def test_a_coupon_redeemed_without_a_code_or_subscription_records_just_the_customer(
    ctx: Context, buyer: dict[str, Any]
) -> None:
    coupon = make_coupon(ctx, duration="forever")
    ctx.events.clear()
    record = discounts.redeem(ctx, coupon, None, buyer, checkout_session={"id": "cs_x"})
    assert (record["promotion_code_id"], record["subscription_id"], record["checkout_session_id"]) == (
        None,
        None,
        "cs_x",
    )
    assert (record["duration"], record["end"]) == ("forever", None)
    assert emitted(ctx) == ["coupon.updated"]


@pytest.mark.parametrize(("duration", "months"), [("once", 0), ("repeating", 1), ("forever", 0)])
def test_a_subscriptions_discount_applies_to_renewals_per_its_duration(
    ctx: Context, buyer: dict[str, Any], duration: str, months: int
) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx))
    assert discounts.active_discount(ctx, sub) is None
    coupon = make_coupon(ctx, duration=duration, duration_in_months=months)
    record = discounts.redeem(ctx, coupon, None, buyer, subscription=sub)
    now = discounts.active_discount(ctx, sub)
    assert now is None if duration == "once" else now == (ctx.store.get("coupon", coupon["id"], False), record)
    ctx.set_clock_offset(40 * DAY)  # past a one-month repeating discount's end
    later = discounts.active_discount(ctx, sub)
    assert (later is not None) == (duration == "forever")


def test_a_discount_whose_coupon_is_gone_no_longer_applies(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx))
    coupon = make_coupon(ctx, duration="forever")
    discounts.redeem(ctx, coupon, None, buyer, subscription=sub)
    ctx.store.delete("coupon", coupon["id"])
    assert discounts.active_discount(ctx, sub) is None
