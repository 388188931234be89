"""Promotion codes: the codes customers type to redeem a coupon, unique
(ignoring case) within a mode, with who may use them and the least they
must spend (in each currency's units). Redeeming one is `discounts`' work."""

from __future__ import annotations

import secrets
from typing import Any

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import lifecycle
from .catalog import base_currency, referenced_currency
from .customers import referenced_customer
from .discounts import find_code, redeem, resolve, used
from .money import to_units

__all__ = [
    "apply_promotion_code",
    "archive_promotion_code",
    "delete_promotion_code",
    "new_promotion_code",
    "redeem_for",
    "update_promotion_code",
]

PROMOTION_CODE = "promotion_code"
FIELDS = (
    "code",
    "description",
    "active",
    "max_redemptions",
    "expires_at",
    "verification_type",
    "nft_config",
    "vc_config",
    "customer_dids",
    "metadata",
)
# Generated codes avoid characters customers confuse (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# Each verification type needs the setting that says who qualifies.
QUALIFIES = {"nft": "nft_config", "vc": "vc_config", "user_restricted": "customer_dids"}


def _random_code(ctx: Context) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        if find_code(ctx, code) is None:
            return code


def apply_promotion_code(ctx: Context, promo: dict[str, Any], body: dict[str, Any], field: str = "") -> dict[str, Any]:
    """Write a create or update body onto a code; `field` prefixes names in refusals (inline codes)."""
    code = body.get("code")
    if code is not None:
        clash = find_code(ctx, code)
        if clash is not None and clash["id"] != promo["id"]:
            raise bad_request(f"{field}code: {code!r} is already used by promotion code {clash['id']}")
    if body.get("expires_at") is not None and body["expires_at"] <= ctx.now():
        raise bad_request(f"{field}expires_at: {body['expires_at']} is not in the future")
    if body.get("max_redemptions") is not None and body["max_redemptions"] < int(promo.get("times_redeemed") or 0):
        raise bad_request(f"{field}max_redemptions: the code has already been redeemed {promo['times_redeemed']} times")
    promo.update({k: body[k] for k in FIELDS if k in body})
    if body.get("customer_id") is not None:
        promo["customer_id"] = referenced_customer(ctx, body["customer_id"], f"{field}customer_id")["id"]
    if "restrictions" in body:
        promo["restrictions"] = _restrictions(ctx, body["restrictions"], f"{field}restrictions.")
    needed = QUALIFIES.get(promo.get("verification_type") or "code")
    if needed and not promo.get(needed):
        raise bad_request(f"{field}{needed}: a {promo['verification_type']} code needs {needed} to say who qualifies")
    return promo


def _restrictions(ctx: Context, body: dict[str, Any], field: str) -> dict[str, Any]:
    """Restriction amounts converted to each currency's units."""
    out: dict[str, Any] = {
        "currency_options": None,
        "first_time_transaction": body.get("first_time_transaction"),
        "minimum_amount": None,
        "minimum_amount_currency": None,
    }
    if body.get("minimum_amount") is not None:
        currency = (
            referenced_currency(ctx, body["minimum_amount_currency"], f"{field}minimum_amount_currency")
            if body.get("minimum_amount_currency")
            else base_currency(ctx)
        )
        out["minimum_amount"] = to_units(body["minimum_amount"], currency["decimal"], f"{field}minimum_amount")
        out["minimum_amount_currency"] = currency["id"]
    elif body.get("minimum_amount_currency"):
        raise bad_request(f"{field}minimum_amount: minimum_amount_currency needs a minimum_amount")
    if body.get("currency_options") is not None:
        options = {}
        for currency_id, option in body["currency_options"].items():
            where = f"{field}currency_options.{currency_id}"
            currency = referenced_currency(ctx, currency_id, where)
            options[currency_id] = {
                "minimum_amount": to_units(option["minimum_amount"], currency["decimal"], f"{where}.minimum_amount")
            }
        out["currency_options"] = options
    return out


def new_promotion_code(ctx: Context, coupon: dict[str, Any], body: dict[str, Any], field: str = "") -> dict[str, Any]:
    """Create a promotion code for `coupon` (also inline, from createCoupon's `promotion_codes`)."""
    promo = ctx.stamp(
        {
            **skeleton(ctx.document, "PromotionCode"),
            "active": True,
            "locked": False,
            "coupon_id": coupon["id"],
            "restrictions": {},
            "times_redeemed": 0,
            "verification_type": "code",
            "metadata": {},
            "created_via": "api",
        },
        "promo",
    )
    apply_promotion_code(ctx, promo, body, field)
    if not promo["code"]:
        promo["code"] = _random_code(ctx)
    ctx.store.insert(PROMOTION_CODE, promo)
    ctx.emit("promotion_code.created", PROMOTION_CODE, promo)
    return promo


def update_promotion_code(ctx: Context, promo: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A redeemed code keeps its code: customers and records name it by that."""
    if promo.get("locked") and body.get("code", promo["code"]) != promo["code"]:
        raise bad_request(f"code: promotion code {promo['id']} has been redeemed, so its code cannot change")
    apply_promotion_code(ctx, promo, body)
    return lifecycle.changed(ctx, PROMOTION_CODE, promo, "promotion_code.updated")


def archive_promotion_code(ctx: Context, promo: dict[str, Any]) -> dict[str, Any]:
    """An archived code stays, inactive, and redeems nothing; archiving it twice is a 400."""
    return lifecycle.archived(
        ctx, PROMOTION_CODE, promo, "Promotion code", "promotion_code.updated", note=" (inactive)"
    )


def delete_promotion_code(ctx: Context, promo: dict[str, Any]) -> dict[str, Any]:
    """Only a code never redeemed can be deleted; a redeemed one is archived instead."""
    if used(ctx, PROMOTION_CODE, promo):
        raise bad_request(f"Promotion code {promo['id']} cannot be deleted: it has been redeemed; archive it instead")
    return lifecycle.removed(ctx, PROMOTION_CODE, promo)


def redeem_for(
    ctx: Context, code: str, customer: dict[str, Any], subscription_id: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A code is redeemed as checkout redeems it, for a customer and optionally one of their own subscriptions."""
    subscription = None
    if subscription_id is not None:
        subscription = ctx.store.get("subscription", str(subscription_id), ctx.livemode)
        if subscription is None or subscription["customer_id"] != customer["id"]:
            raise bad_request(f"subscription_id: no subscription {subscription_id!r} of this customer")
    coupon, promo = resolve(ctx, promotion_code=code, customer=customer)
    redeem(ctx, coupon, promo, customer, subscription=subscription)
    return coupon, promo
