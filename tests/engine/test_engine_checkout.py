"""Checkout: line items checked wherever they are written (price, mode, quantity, stock, interval,
currency), amounts in integer units (custom amounts included), sessions opened, expired by hand or by
the clock, and completed (payment, subscription, setup) with discounts, stock and NFT mints."""

from __future__ import annotations

from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import billing, catalog, checkout, discounts, promotions

from .conftest import emitted, make_coupon, make_price, recurring_price, refused

TOKEN = 10**18
DAY = 86400


def line(price: dict[str, Any], quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"price_id": price["id"], "quantity": quantity, **extra}


def check(ctx: Context, *lines: dict[str, Any], mode: str = "payment", currency_id: str | None = None) -> Any:
    return checkout.checked_lines(ctx, list(lines), mode=mode, currency_id=currency_id, check_stock=True)


def session(ctx: Context, *lines: dict[str, Any], mode: str = "payment", **body: Any) -> dict[str, Any]:
    return checkout.open_session(ctx, {"mode": mode, "line_items": list(lines), **body})


@pytest.fixture
def one_token(ctx: Context) -> dict[str, Any]:
    return make_price(ctx, unit_amount="1", lookup_key="one")


def test_the_first_price_decides_a_links_mode(ctx: Context, one_token: dict[str, Any]) -> None:
    monthly = recurring_price(ctx)
    assert checkout.mode_of(ctx, [line(monthly), line(one_token)]) == "subscription"
    assert checkout.mode_of(ctx, [{"price_id": "one"}]) == "payment"
    assert checkout.mode_of(ctx, [{"price_id": "price_gone"}]) == "payment"


def test_checked_lines_normalise_lookup_keys_and_default_to_the_first_prices_currency(
    ctx: Context, one_token: dict[str, Any], currency: dict[str, Any]
) -> None:
    upsell = make_price(ctx, unit_amount="2", lookup_key="two")
    priced, currency_id = check(ctx, {"price_id": "one", "quantity": 2, "upsell_price_id": "two"})
    assert currency_id == currency["id"]
    assert priced == [({"price_id": one_token["id"], "quantity": 2, "upsell_price_id": upsell["id"]}, one_token)]
    assert checkout.subtotal(ctx, priced, currency_id) == 2 * TOKEN


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda ctx, p: [{"price_id": "price_gone", "quantity": 1}], "line_items[0].price_id: no price 'price_gone'"),
        (lambda ctx, p: [line(p, upsell_price_id="nope")], "line_items[0].upsell_price_id: no price 'nope'"),
        (lambda ctx, p: [line(p, 0)], "line_items[0].quantity: must be at least 1"),
        (
            lambda ctx, p: [line(p, 3, adjustable_quantity={"enabled": True, "minimum": 1, "maximum": 2})],
            "line_items[0].adjustable_quantity: quantity 3 is outside 1..2",
        ),
        (lambda ctx, p: [line(p), line(recurring_price(ctx))], "line_items[1].price_id: price"),
    ],
)
def test_a_line_is_refused_naming_its_index_and_field(
    ctx: Context, one_token: dict[str, Any], make: Any, problem: str
) -> None:
    with refused(400, problem):
        check(ctx, *make(ctx, one_token))


def test_an_archived_price_or_one_of_the_wrong_kind_cannot_be_sold(ctx: Context, one_token: dict[str, Any]) -> None:
    monthly = recurring_price(ctx)
    with refused(400, f"price {monthly['id']} is recurring; mode payment takes one-time prices only (see mode)"):
        checkout.checked_lines(
            ctx, [line(monthly)], mode="payment", currency_id=None, check_stock=False, mode_hint=" (see mode)"
        )
    with refused(400, f"price {one_token['id']} is one-time; mode subscription takes recurring prices only"):
        check(ctx, line(one_token), mode="subscription")
    assert check(ctx, line(one_token), line(monthly), mode="setup")[1] == one_token["currency_id"]
    one_token["active"] = False
    ctx.store.save("price", one_token)
    with refused(400, f"line_items[0].price_id: price {one_token['id']} is archived (inactive) and cannot be sold"):
        check(ctx, line(one_token))


def test_per_checkout_limits_and_stock_cover_every_line_of_a_price_together(ctx: Context) -> None:
    limited = make_price(ctx, unit_amount="1", quantity_limit_per_checkout=2, quantity_available=5)
    with refused(400, f"line_items[0].quantity: at most 2 of price {limited['id']} can be bought in one checkout"):
        check(ctx, line(limited, 3))
    limited["quantity_sold"] = 2
    ctx.store.save("price", limited)
    assert checkout.units_left(limited) == 3
    assert check(ctx, line(limited, 2), line(limited, 1))[0]
    with refused(400, f"line_items[2].quantity: only 3 of price {limited['id']} left in stock"):
        check(ctx, line(limited, 2), line(limited, 1), line(limited, 1))
    # Stock is not checked where the caller says so (a payment link being saved).
    checkout.checked_lines(ctx, [line(limited, 2)] * 3, mode="payment", currency_id=None, check_stock=False)
    assert checkout.units_left({"quantity_available": 0}) is None
    assert checkout.units_left({"quantity_available": 2, "quantity_sold": 5}) == 0


def test_one_subscription_has_one_billing_interval(ctx: Context) -> None:
    monthly, yearly = recurring_price(ctx), recurring_price(ctx, interval="year")
    assert len(check(ctx, line(monthly), line(recurring_price(ctx)), mode="subscription")[0]) == 2
    with refused(
        400, f"line_items[1].price_id: price {yearly['id']} recurs every 1 year, unlike line_items[0] (every 1 month)"
    ):
        check(ctx, line(monthly), line(yearly), mode="subscription")


def test_the_session_currency_must_exist_and_be_offered_by_every_price(
    ctx: Context, one_token: dict[str, Any], currency: dict[str, Any]
) -> None:
    cents = catalog.new_currency(ctx, payment_method_id=currency["payment_method_id"], symbol="USC", decimal=2)
    both = make_price(ctx, unit_amount="1", currency_options=[{"currency_id": cents["id"], "unit_amount": "0.5"}])
    priced, currency_id = check(ctx, line(both, 3), currency_id=cents["id"])
    assert checkout.subtotal(ctx, priced, currency_id) == 150
    with refused(400, f"line_items[1].price_id: price {one_token['id']} has no amount in currency {cents['id']} (USC)"):
        check(ctx, line(both), line(one_token), currency_id=cents["id"])
    with refused(400, "currency_id: no payment currency 'pc_gone'"):
        check(ctx, line(both), currency_id="pc_gone")


def test_custom_amounts_stay_within_the_prices_range(ctx: Context, one_token: dict[str, Any]) -> None:
    custom = {"minimum": "1", "maximum": "10", "preset": "5", "presets": []}
    tip = make_price(ctx, unit_amount="0", custom_unit_amount=custom)
    currency_id = tip["currency_id"]
    assert checkout.line_amount(ctx, line(tip, 2), tip, currency_id, "x") == 10 * TOKEN  # the preset
    assert checkout.line_amount(ctx, line(tip, 2, custom_amount="2.5"), tip, currency_id, "x") == 5 * TOKEN
    for outside in ("0.5", "10.000000000000000001"):
        with refused(400, f"x.custom_amount: {outside} is outside what price {tip['id']} accepts"):
            checkout.line_amount(ctx, line(tip, 1, custom_amount=outside), tip, currency_id, "x")
    with refused(400, f"x.custom_amount: price {one_token['id']} does not take a custom amount"):
        checkout.line_amount(ctx, line(one_token, custom_amount="2"), one_token, currency_id, "x")
    open_ended = make_price(ctx, unit_amount="0", custom_unit_amount={**custom, "maximum": "0"})
    assert checkout.line_amount(ctx, line(open_ended, custom_amount="99"), open_ended, currency_id, "x") == 99 * TOKEN


def test_metered_lines_cost_nothing_at_checkout_and_may_have_no_quantity(ctx: Context) -> None:
    metered = recurring_price(ctx, recurring={"usage_type": "metered"})
    priced, currency_id = check(ctx, line(metered, 0), mode="subscription")
    assert checkout.subtotal(ctx, priced, currency_id) == 0


def test_an_opened_session_is_open_priced_and_expires_in_a_day_by_default(
    ctx: Context, one_token: dict[str, Any], currency: dict[str, Any]
) -> None:
    ctx.base_url = "http://sandbox.test"
    ctx.events.clear()
    opened = session(
        ctx,
        line(one_token, 3),
        success_url="https://shop/ok",
        metadata={"order": "7"},
        nft_mint_settings={"enabled": True},
    )
    assert (opened["status"], opened["payment_status"], opened["mode"], opened["currency_id"]) == (
        "open",
        "unpaid",
        "payment",
        currency["id"],
    )
    assert (opened["amount_subtotal"], opened["amount_total"]) == (str(3 * TOKEN), str(3 * TOKEN))
    assert opened["expires_at"] == ctx.now() + checkout.DEFAULT_TTL
    assert opened["url"] == f"http://sandbox.test/checkout/pay/{opened['id']}"
    assert (opened["success_url"], opened["metadata"], opened["payment_method_types"]) == (
        "https://shop/ok",
        {"order": "7"},
        ["arcblock"],
    )
    assert (opened["customer_id"], opened["customer_did"], opened["nft_mint_status"]) == (None, None, "pending")
    assert emitted(ctx) == ["checkout.session.created"]


def test_a_session_refuses_a_past_expiry_or_trial_end_on_the_sandbox_clock(
    ctx: Context, one_token: dict[str, Any]
) -> None:
    now = ctx.now()
    with refused(400, f"expires_at: {now} is not in the future (the sandbox clock says"):
        session(ctx, line(one_token), expires_at=now)
    with refused(400, f"subscription_data.trial_end: {now} is not in the future"):
        session(ctx, line(recurring_price(ctx)), mode="subscription", subscription_data={"trial_end": now})


def test_a_session_names_its_customer_by_id_or_did_consistently(
    ctx: Context, one_token: dict[str, Any], buyer: dict[str, Any]
) -> None:
    by_did = session(ctx, line(one_token), customer_did="did:abt:zBuyer0001")
    assert (by_did["customer_id"], by_did["customer_did"]) == (buyer["id"], "zBuyer0001")
    stranger = session(ctx, line(one_token), customer_did="zStranger")
    assert (stranger["customer_id"], stranger["customer_did"]) == (None, "zStranger")
    by_id = session(ctx, line(one_token), customer_id=buyer["id"])
    assert by_id["customer_did"] == "zBuyer0001"
    with refused(400, f"customer_did: zOther is not the DID of customer {buyer['id']} (zBuyer0001)"):
        session(ctx, line(one_token), customer_id=buyer["id"], customer_did="zOther")
    with refused(400, "customer_id: no customer 'cus_gone'"):
        session(ctx, line(one_token), customer_id="cus_gone")


def test_a_session_is_expired_once_and_then_cannot_be_paid(ctx: Context, one_token: dict[str, Any]) -> None:
    opened = session(ctx, line(one_token))
    ctx.events.clear()
    assert checkout.expire(ctx, opened)["status"] == "expired"
    assert emitted(ctx) == ["checkout.session.expired"]
    with refused(
        400, f"Checkout session {opened['id']} is already expired; it cannot be expired (only an open session can)"
    ):
        checkout.expire(ctx, opened)
    with refused(400, "is already expired; it cannot be completed"):
        checkout.complete(ctx, opened, {"customer_did": "zBuyer0001"})


def test_the_clock_expires_open_sessions_of_both_modes_past_their_expiry(
    ctx: Context, one_token: dict[str, Any]
) -> None:
    soon = session(ctx, line(one_token), expires_at=ctx.now() + 60)
    later = session(ctx, line(one_token), expires_at=ctx.now() + 600)
    live_price = make_price(Context(op=None, store=ctx.store, livemode=True, wiring=ctx.wiring), unit_amount="1")
    live = session(
        Context(op=None, store=ctx.store, livemode=True, wiring=ctx.wiring), line(live_price), expires_at=ctx.now() + 60
    )
    done = session(ctx, line(one_token), expires_at=ctx.now() + 60)
    checkout.expire(ctx, done)
    ctx.set_clock_offset(60)
    ctx.events.clear()
    assert checkout.expire_due(ctx) == {"checkout_sessions_expired": 2}
    assert emitted(ctx) == ["checkout.session.expired"] * 2
    statuses = {s["id"]: s["status"] for s in ctx.store.all("checkout_session", None)}
    assert statuses == {soon["id"]: "expired", later["id"]: "open", live["id"]: "expired", done["id"]: "expired"}
    with refused(400, f"Checkout session {later['id']} expired at"):
        ctx.set_clock_offset(600)
        checkout.complete(ctx, later, {"customer_did": "zBuyer0001"})


def test_completing_a_payment_collects_it_takes_stock_and_closes_the_session(
    ctx: Context, buyer: dict[str, Any]
) -> None:
    stocked = make_price(ctx, unit_amount="0.5", quantity_available=10)
    opened = session(ctx, line(stocked, 4), payment_intent_data={"description": "four"})
    ctx.events.clear()
    done = checkout.complete(ctx, opened, {"customer_did": "did:abt:zBuyer0001", "customer_name": "Bo"})
    assert (done["status"], done["payment_status"], done["amount_total"], done["customer_id"]) == (
        "complete",
        "paid",
        str(2 * TOKEN),
        buyer["id"],
    )
    assert done["customer_details"]["name"] == "Bo"
    invoice = ctx.store.get("invoice", done["invoice_id"], False)
    intent = ctx.store.get("payment_intent", done["payment_intent_id"], False)
    assert (invoice["status"], invoice["total"], invoice["checkout_session_id"]) == (
        "paid",
        str(2 * TOKEN),
        opened["id"],
    )
    assert (intent["status"], intent["amount_received"]) == ("succeeded", str(2 * TOKEN))
    sold = ctx.store.get("price", stocked["id"], False)
    assert (sold["quantity_sold"], sold["locked"]) == (4, True)
    assert emitted(ctx)[-1] == "checkout.session.completed"
    with refused(400, f"Checkout session {opened['id']} is already complete; it cannot be completed"):
        checkout.complete(ctx, done, {"customer_did": "zBuyer0001"})
    with refused(400, "is already complete; it cannot be expired"):
        checkout.expire(ctx, done)


def test_the_payer_must_be_named_and_match_the_sessions_customer(
    ctx: Context, one_token: dict[str, Any], buyer: dict[str, Any]
) -> None:
    anonymous = session(ctx, line(one_token))
    with refused(400, f"customer_did is required: session {anonymous['id']} does not name its customer"):
        checkout.complete(ctx, anonymous, {})
    theirs = session(ctx, line(one_token), customer_id=buyer["id"])
    with refused(400, f"customer_did: session {theirs['id']} is for zBuyer0001, not zIntruder"):
        checkout.complete(ctx, theirs, {"customer_did": "did:abt:zIntruder"})
    assert checkout.complete(ctx, theirs, {})["customer_did"] == "zBuyer0001"
    fresh = checkout.complete(
        ctx, session(ctx, line(one_token)), {"customer_did": "zNewcomer", "customer_email": "n@x"}
    )
    assert fresh["customer_details"]["email"] == "n@x"
    assert ctx.store.get("customer", fresh["customer_id"], False)["did"] == "zNewcomer"


def test_a_payer_marked_to_fail_is_declined_except_for_setup(
    ctx: Context, one_token: dict[str, Any], buyer: dict[str, Any]
) -> None:
    billing.mark_payments_failing(ctx, buyer["id"], "insufficient funds")
    with refused(402, "declined (insufficient funds)"):
        checkout.complete(ctx, session(ctx, line(one_token)), {"customer_did": "zBuyer0001"})
    setup = checkout.complete(ctx, session(ctx, line(one_token), mode="setup"), {"customer_did": "zBuyer0001"})
    assert (setup["status"], setup["payment_status"]) == ("complete", "no_payment_required")
    assert ctx.store.get("price", one_token["id"], False)["quantity_sold"] == 0  # a setup sells nothing


def test_a_promotion_code_discounts_the_payment_and_is_redeemed(
    ctx: Context, one_token: dict[str, Any], buyer: dict[str, Any]
) -> None:
    coupon = make_coupon(ctx, percent_off=12.5)
    promo = promotions.new_promotion_code(ctx, coupon, {"code": "EIGHTH"})
    opened = session(ctx, line(one_token, 3), allow_promotion_codes=True)
    done = checkout.complete(ctx, opened, {"customer_did": "zBuyer0001", "promotion_code": "eighth"})
    off = 3 * TOKEN // 8
    assert (done["amount_subtotal"], done["amount_total"]) == (str(3 * TOKEN), str(3 * TOKEN - off))
    assert done["total_details"]["amount_discount"] == str(off)
    assert done["discounts"][0]["coupon"] == coupon["id"] and done["discounts"][0]["promotion_code"] == promo["id"]
    invoice = ctx.store.get("invoice", done["invoice_id"], False)
    assert (invoice["subtotal"], invoice["total"]) == (str(3 * TOKEN), str(3 * TOKEN - off))
    [record] = discounts.records(ctx, coupon_id=coupon["id"])
    assert (record["checkout_session_id"], record["customer_id"]) == (opened["id"], buyer["id"])


def test_a_fully_discounted_payment_needs_no_payment(ctx: Context, one_token: dict[str, Any]) -> None:
    promotions.new_promotion_code(ctx, make_coupon(ctx, percent_off=100), {"code": "FREE"})
    done = checkout.complete(
        ctx, session(ctx, line(one_token), allow_promotion_codes=True), {"customer_did": "zB", "promotion_code": "FREE"}
    )
    assert (done["amount_total"], done["payment_status"]) == ("0", "no_payment_required")


def test_promotion_codes_are_refused_where_the_session_takes_none(ctx: Context, one_token: dict[str, Any]) -> None:
    with refused(400, "does not accept promotion codes (allow_promotion_codes is off)"):
        checkout.complete(ctx, session(ctx, line(one_token)), {"customer_did": "zB", "promotion_code": "ANY"})
    with refused(400, "promotion_code: a setup session has nothing to discount"):
        checkout.complete(
            ctx,
            session(ctx, line(one_token), mode="setup", allow_promotion_codes=True),
            {"customer_did": "zB", "promotion_code": "ANY"},
        )


def test_completing_a_subscription_session_starts_it_paid_with_the_discount(
    ctx: Context, buyer: dict[str, Any]
) -> None:
    monthly = recurring_price(ctx, unit_amount="2")
    coupon = make_coupon(ctx, percent_off=50, duration="forever")
    promotions.new_promotion_code(ctx, coupon, {"code": "HALF"})
    opened = session(
        ctx,
        line(monthly),
        mode="subscription",
        allow_promotion_codes=True,
        metadata={"a": 1},
        subscription_data={"metadata": {"b": 2}},
    )
    done = checkout.complete(ctx, opened, {"customer_did": "zBuyer0001", "promotion_code": "HALF"})
    sub = ctx.store.get("subscription", done["subscription_id"], False)
    assert (sub["status"], sub["metadata"], done["payment_status"], done["success_subscription_count"]) == (
        "active",
        {"a": 1, "b": 2},
        "paid",
        1,
    )
    invoice = ctx.store.get("invoice", done["invoice_id"], False)
    assert (invoice["subtotal"], invoice["total"], invoice["status"]) == (str(2 * TOKEN), str(TOKEN), "paid")
    assert done["payment_intent_id"] == invoice["payment_intent_id"]
    assert sub["discount_id"] == discounts.records(ctx, coupon_id=coupon["id"])[0]["id"]


def test_a_trialing_subscription_session_charges_nothing_yet(ctx: Context) -> None:
    opened = session(ctx, line(recurring_price(ctx)), mode="subscription", subscription_data={"trial_period_days": 7})
    done = checkout.complete(ctx, opened, {"customer_did": "zTrial"})
    sub = ctx.store.get("subscription", done["subscription_id"], False)
    assert (sub["status"], done["invoice_id"], done["payment_status"]) == ("trialing", None, "no_payment_required")
    assert sub["trial_end"] == sub["start_date"] + 7 * DAY


def test_a_session_that_mints_an_nft_gives_the_buyer_an_asset(ctx: Context, one_token: dict[str, Any]) -> None:
    opened = session(ctx, line(one_token), nft_mint_settings={"enabled": True})
    ctx.events.clear()
    done = checkout.complete(ctx, opened, {"customer_did": "zCollector"})
    assert done["nft_mint_status"] == "minted"
    assert done["nft_mint_details"]["arcblock"]["owner"] == "zCollector"
    assert emitted(ctx)[-2:] == ["checkout.session.completed", "checkout.session.nft_minted"]
