"""Promotion codes (`/api/promotion-codes`): the codes customers enter to
redeem a coupon, unique (ignoring case) within a mode.

Also the sandbox-only `POST /sandbox/promotion-codes/redeem`, which redeems a
code for a customer as a completed checkout would.
"""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles, sandbox_route
from ..engine import discounts, promotions
from ..list_queries import equal_params, stored_page
from ..refusals import bad_request, not_found

KIND = "promotion_code"


@handles("createPromotionCode")
def create(ctx: Context) -> dict[str, Any]:
    coupon = ctx.store.get("coupon", ctx.body["coupon_id"], ctx.livemode)
    if coupon is None:
        raise bad_request(f"coupon_id: no coupon {ctx.body['coupon_id']!r} in this mode")
    return lookups.expand_promotion_code(
        ctx, promotions.new_promotion_code(ctx, coupon, {k: v for k, v in ctx.body.items() if k != "coupon_id"})
    )


@handles("retrievePromotionCode")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_promotion_code(ctx, ctx.get(KIND, ctx.path["id"], "Promotion code"))


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
    return lookups.expand_promotion_code(ctx, promo)


@handles("updatePromotionCode")
def update(ctx: Context) -> dict[str, Any]:
    promo = ctx.get(KIND, ctx.path["id"], "Promotion code")
    return lookups.expand_promotion_code(ctx, promotions.update_promotion_code(ctx, promo, ctx.body))


@handles("archivePromotionCode")
def archive(ctx: Context) -> dict[str, Any]:
    return promotions.archive_promotion_code(ctx, ctx.get(KIND, ctx.path["id"], "Promotion code"))


@handles("deletePromotionCode")
def delete(ctx: Context) -> dict[str, Any]:
    return promotions.delete_promotion_code(ctx, ctx.get(KIND, ctx.path["id"], "Promotion code"))


@handles("listPromotionCodes")
def list_(ctx: Context) -> dict[str, Any]:
    return stored_page(
        ctx,
        KIND,
        orderable=("created_at", "updated_at", "code", "times_redeemed"),
        expand=lambda p: lookups.expand_promotion_code(ctx, p),
        **equal_params(ctx, "coupon_id", "active"),
    )


@handles("getPromotionCodeUsed")
def used(ctx: Context) -> dict[str, bool]:
    return {"used": discounts.used(ctx, KIND, ctx.get(KIND, ctx.path["id"], "Promotion code"))}


@handles("listPromotionCodeRedemptions")
def redemptions(ctx: Context) -> dict[str, Any]:
    promo = ctx.get(KIND, ctx.path["id"], "Promotion code")
    return lookups.redemptions_page(ctx, discounts.records(ctx, promotion_code_id=promo["id"]))


@sandbox_route("POST", "/sandbox/promotion-codes/redeem")
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
    customer = lookups.referenced_customer(ctx, body["customer_id"], "customer_id")
    coupon, promo = promotions.redeem_for(ctx, body["code"], customer, body.get("subscription_id"))
    return {"coupon": discounts.present(ctx, coupon), "promotion_code": promo}
