"""Promotion codes (`/api/promotion-codes`): the codes customers enter to
redeem a coupon, unique (ignoring case) within a mode.

Also the sandbox-only `POST /sandbox/promotion-codes/redeem`, which redeems a
code for a customer as a completed checkout would.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..context import Context, handles
from ..engine import discounts
from ..engine.money import to_units
from ..engine.shapes import skeleton
from ..errors import bad_request, not_found
from ..helpers import helper
from . import coupons, customers, payment_currencies
from ._common import filter_equal, page_of

KIND = "promotion_code"
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


def expand(ctx: Context, promo: dict[str, Any]) -> dict[str, Any]:
    coupon = ctx.store.get("coupon", promo["coupon_id"], ctx.livemode)
    return {**promo, "object": "promotion_code", "coupon": discounts.present(ctx, coupon) if coupon else None}


def _random_code(ctx: Context) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        if discounts.find_code(ctx, code) is None:
            return code


def _apply(ctx: Context, promo: dict[str, Any], body: dict[str, Any], field: str = "") -> dict[str, Any]:
    """Write a create or update body onto a code; `field` prefixes names in refusals (inline codes)."""
    code = body.get("code")
    if code is not None:
        clash = discounts.find_code(ctx, code)
        if clash is not None and clash["id"] != promo["id"]:
            raise bad_request(f"{field}code: {code!r} is already used by promotion code {clash['id']}")
    if body.get("expires_at") is not None and body["expires_at"] <= ctx.now():
        raise bad_request(f"{field}expires_at: {body['expires_at']} is not in the future")
    if body.get("max_redemptions") is not None and body["max_redemptions"] < int(promo.get("times_redeemed") or 0):
        raise bad_request(f"{field}max_redemptions: the code has already been redeemed {promo['times_redeemed']} times")
    promo.update({k: body[k] for k in FIELDS if k in body})
    if body.get("customer_id") is not None:
        promo["customer_id"] = customers.referenced(ctx, body["customer_id"], f"{field}customer_id")["id"]
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
            payment_currencies.referenced(ctx, body["minimum_amount_currency"], f"{field}minimum_amount_currency")
            if body.get("minimum_amount_currency")
            else payment_currencies.base_currency(ctx)
        )
        out["minimum_amount"] = to_units(body["minimum_amount"], currency["decimal"], f"{field}minimum_amount")
        out["minimum_amount_currency"] = currency["id"]
    elif body.get("minimum_amount_currency"):
        raise bad_request(f"{field}minimum_amount: minimum_amount_currency needs a minimum_amount")
    if body.get("currency_options") is not None:
        options = {}
        for currency_id, option in body["currency_options"].items():
            where = f"{field}currency_options.{currency_id}"
            currency = payment_currencies.referenced(ctx, currency_id, where)
            options[currency_id] = {
                "minimum_amount": to_units(option["minimum_amount"], currency["decimal"], f"{where}.minimum_amount")
            }
        out["currency_options"] = options
    return out


def new_code(ctx: Context, coupon: dict[str, Any], body: dict[str, Any], field: str = "") -> dict[str, Any]:
    """Create a promotion code for `coupon` (also inline, from createCoupon's `promotion_codes`)."""
    promo = ctx.stamp(
        {
            **skeleton("PromotionCode"),
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
    _apply(ctx, promo, body, field)
    if not promo["code"]:
        promo["code"] = _random_code(ctx)
    ctx.store.insert(KIND, promo)
    ctx.emit("promotion_code.created", KIND, promo)
    return promo


@handles("createPromotionCode")
def create(ctx: Context) -> dict[str, Any]:
    coupon = ctx.store.get("coupon", ctx.body["coupon_id"], ctx.livemode)
    if coupon is None:
        raise bad_request(f"coupon_id: no coupon {ctx.body['coupon_id']!r} in this mode")
    return expand(ctx, new_code(ctx, coupon, {k: v for k, v in ctx.body.items() if k != "coupon_id"}))


@handles("retrievePromotionCode")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Promotion code"))


@handles("retrievePromotionCodeByCode")
def by_code(ctx: Context) -> dict[str, Any]:
    """By the code as typed; codes that are not typed in match by NFT address, credential role or DID."""
    key = ctx.path["code"]
    promo = discounts.find_code(ctx, key)
    if promo is None:
        did = key.removeprefix("did:abt:")
        promo = next(
            (
                p
                for p in ctx.store.all(KIND, ctx.livemode)
                if key in ((p.get("nft_config") or {}).get("addresses") or [])
                or key in ((p.get("vc_config") or {}).get("roles") or [])
                or did in {d.removeprefix("did:abt:") for d in p.get("customer_dids") or []}
            ),
            None,
        )
    if promo is None:
        raise not_found("Promotion code", key)
    return expand(ctx, promo)


@handles("updatePromotionCode")
def update(ctx: Context) -> dict[str, Any]:
    promo = ctx.get(KIND, ctx.path["id"], "Promotion code")
    if promo.get("locked") and ctx.body.get("code", promo["code"]) != promo["code"]:
        raise bad_request(f"code: promotion code {promo['id']} has been redeemed, so its code cannot change")
    _apply(ctx, promo, ctx.body)
    ctx.store.save(KIND, ctx.touch(promo))
    ctx.emit("promotion_code.updated", KIND, promo)
    return expand(ctx, promo)


@handles("archivePromotionCode")
def archive(ctx: Context) -> dict[str, Any]:
    promo = ctx.get(KIND, ctx.path["id"], "Promotion code")
    if not promo["active"]:
        raise bad_request(f"Promotion code {promo['id']} is already archived (inactive)")
    promo["active"] = False
    ctx.store.save(KIND, ctx.touch(promo))
    ctx.emit("promotion_code.updated", KIND, promo)
    return promo


@handles("deletePromotionCode")
def delete(ctx: Context) -> dict[str, Any]:
    promo = ctx.get(KIND, ctx.path["id"], "Promotion code")
    if discounts.used(ctx, KIND, promo):
        raise bad_request(f"Promotion code {promo['id']} cannot be deleted: it has been redeemed; archive it instead")
    ctx.store.delete(KIND, promo["id"])
    return promo


@handles("listPromotionCodes")
def list_(ctx: Context) -> dict[str, Any]:
    rows = filter_equal(ctx, ctx.store.all(KIND, ctx.livemode), "coupon_id", "active")
    return page_of(
        ctx,
        rows,
        orderable=("created_at", "updated_at", "code", "times_redeemed"),
        expand=lambda p: expand(ctx, p),
    )


@handles("getPromotionCodeUsed")
def used(ctx: Context) -> dict[str, bool]:
    return {"used": discounts.used(ctx, KIND, ctx.get(KIND, ctx.path["id"], "Promotion code"))}


@handles("listPromotionCodeRedemptions")
def redemptions(ctx: Context) -> dict[str, Any]:
    promo = ctx.get(KIND, ctx.path["id"], "Promotion code")
    return coupons.redemptions_page(ctx, discounts.records(ctx, promotion_code_id=promo["id"]))


@helper("POST", "/sandbox/promotion-codes/redeem")
def redeem(ctx: Context) -> dict[str, Any]:
    """Redeem `code` for `customer_id` (an id or DID), and optionally `subscription_id`, as a checkout would.

    Answers `{coupon, promotion_code}` after the redemption; refuses as checkout does.
    """
    body = ctx.body
    unknown = sorted(set(body) - {"code", "customer_id", "subscription_id", "livemode"})
    if unknown:
        raise bad_request(f"{unknown[0]}: not a field of this sandbox helper (code, customer_id, subscription_id)")
    for name in ("code", "customer_id"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise bad_request(f"{name}: a non-empty string is required")
    customer = customers.referenced(ctx, body["customer_id"], "customer_id")
    subscription = None
    if body.get("subscription_id") is not None:
        subscription = ctx.store.get("subscription", str(body["subscription_id"]), ctx.livemode)
        if subscription is None or subscription["customer_id"] != customer["id"]:
            raise bad_request(f"subscription_id: no subscription {body['subscription_id']!r} of this customer")
    coupon, promo = discounts.resolve(ctx, promotion_code=body["code"], customer=customer)
    discounts.redeem(ctx, coupon, promo, customer, subscription=subscription)
    return {"coupon": discounts.present(ctx, coupon), "promotion_code": promo}
