"""Promotion codes: codes unique ignoring case, generated ones readable, the refusals of a code write
(past expiry, a limit below its redemptions, unknown customers and currencies, a verification type
without its setting) and minimum amounts converted to each currency's units."""

from __future__ import annotations

from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import catalog, promotions

from .conftest import emitted, make_coupon, refused


@pytest.fixture
def coupon(ctx: Context) -> dict[str, Any]:
    return make_coupon(ctx)


def test_a_new_code_belongs_to_its_coupon_and_is_announced(ctx: Context, coupon: dict[str, Any]) -> None:
    promo = promotions.new_promotion_code(ctx, coupon, {"code": "Spring", "max_redemptions": 5})
    assert (promo["code"], promo["coupon_id"], promo["max_redemptions"], promo["times_redeemed"]) == (
        "Spring",
        coupon["id"],
        5,
        0,
    )
    assert (promo["active"], promo["verification_type"], promo["id"][:6]) == (True, "code", "promo_")
    assert ctx.store.get("promotion_code", promo["id"], False) is not None
    assert emitted(ctx) == ["promotion_code.created"]


def test_a_code_left_out_is_generated_from_characters_customers_do_not_confuse(
    ctx: Context, coupon: dict[str, Any]
) -> None:
    codes = {promotions.new_promotion_code(ctx, coupon, {})["code"] for _ in range(5)}
    assert len(codes) == 5
    for code in codes:
        assert len(code) == 10 and set(code) <= set(promotions.CODE_ALPHABET)
        assert not set(code) & set("01OIL")


def test_a_code_is_unique_ignoring_case_but_a_code_may_keep_its_own(ctx: Context, coupon: dict[str, Any]) -> None:
    promo = promotions.new_promotion_code(ctx, coupon, {"code": "SAVE"})
    with refused(400, f"code: 'save' is already used by promotion code {promo['id']}"):
        promotions.new_promotion_code(ctx, coupon, {"code": "save"})
    with refused(400, "promotion_codes[1].code: 'Save'"):
        promotions.new_promotion_code(ctx, coupon, {"code": "Save"}, "promotion_codes[1].")
    assert promotions.apply_promotion_code(ctx, promo, {"code": "SAVE", "active": False})["active"] is False


def test_expiry_must_be_in_the_future_on_the_sandbox_clock(ctx: Context, coupon: dict[str, Any]) -> None:
    soon = ctx.now() + 3600
    assert promotions.new_promotion_code(ctx, coupon, {"expires_at": soon})["expires_at"] == soon
    ctx.set_clock_offset(3600)
    with refused(400, f"expires_at: {soon} is not in the future"):
        promotions.new_promotion_code(ctx, coupon, {"expires_at": soon})


def test_max_redemptions_cannot_drop_below_what_was_redeemed(ctx: Context, coupon: dict[str, Any]) -> None:
    promo = promotions.new_promotion_code(ctx, coupon, {"code": "USED"})
    promo["times_redeemed"] = 3
    with refused(400, "max_redemptions: the code has already been redeemed 3 times"):
        promotions.apply_promotion_code(ctx, promo, {"max_redemptions": 2})
    assert promotions.apply_promotion_code(ctx, promo, {"max_redemptions": 3})["max_redemptions"] == 3


def test_a_code_for_one_customer_names_a_known_one(ctx: Context, coupon: dict[str, Any], buyer: dict[str, Any]) -> None:
    promo = promotions.new_promotion_code(ctx, coupon, {"customer_id": "did:abt:zBuyer0001"})
    assert promo["customer_id"] == buyer["id"]
    with refused(400, "customer_id: no customer 'cus_nobody' in this mode"):
        promotions.new_promotion_code(ctx, coupon, {"customer_id": "cus_nobody"})


@pytest.mark.parametrize(
    ("kind", "setting", "value"),
    [
        ("nft", "nft_config", {"address": "z1"}),
        ("vc", "vc_config", {"roles": ["x"]}),
        ("user_restricted", "customer_dids", ["did:abt:z1"]),
    ],
)
def test_a_verification_type_needs_the_setting_that_says_who_qualifies(
    ctx: Context, coupon: dict[str, Any], kind: str, setting: str, value: Any
) -> None:
    with refused(400, f"{setting}: a {kind} code needs {setting} to say who qualifies"):
        promotions.new_promotion_code(ctx, coupon, {"verification_type": kind})
    promo = promotions.new_promotion_code(ctx, coupon, {"verification_type": kind, setting: value})
    assert promo[setting] == value


def test_minimum_amounts_are_units_of_the_named_or_base_currency(
    ctx: Context, coupon: dict[str, Any], currency: dict[str, Any]
) -> None:
    cents = catalog.new_currency(ctx, payment_method_id=currency["payment_method_id"], symbol="USC", decimal=2)
    base = promotions.new_promotion_code(ctx, coupon, {"restrictions": {"minimum_amount": "0.5"}})
    assert base["restrictions"] == {
        "currency_options": None,
        "first_time_transaction": None,
        "minimum_amount": str(5 * 10**17),
        "minimum_amount_currency": currency["id"],
    }
    named = promotions.new_promotion_code(
        ctx,
        coupon,
        {
            "restrictions": {
                "minimum_amount": "1.25",
                "minimum_amount_currency": cents["id"],
                "first_time_transaction": True,
                "currency_options": {cents["id"]: {"minimum_amount": "3"}},
            }
        },
    )
    assert named["restrictions"] == {
        "currency_options": {cents["id"]: {"minimum_amount": "300"}},
        "first_time_transaction": True,
        "minimum_amount": "125",
        "minimum_amount_currency": cents["id"],
    }


@pytest.mark.parametrize(
    ("restrictions", "problem"),
    [
        (
            {"minimum_amount_currency": "pc_x"},
            "restrictions.minimum_amount: minimum_amount_currency needs a minimum_amount",
        ),
        (
            {"minimum_amount": "1", "minimum_amount_currency": "pc_x"},
            "restrictions.minimum_amount_currency: no payment",
        ),
        ({"currency_options": {"pc_x": {"minimum_amount": "1"}}}, "restrictions.currency_options.pc_x: no payment"),
        ({"minimum_amount": "0.1234567890123456789"}, "restrictions.minimum_amount: 0.1234567890123456789 has more"),
    ],
)
def test_restrictions_are_refused_naming_the_field(
    ctx: Context, coupon: dict[str, Any], restrictions: dict[str, Any], problem: str
) -> None:
    with refused(400, problem):
        promotions.new_promotion_code(ctx, coupon, {"restrictions": restrictions})
