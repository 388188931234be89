"""Coupons (`/api/coupons`): a percentage or a fixed amount off, for once,
some months or forever; created with their promotion codes.

Redemption itself lives in `engine/discounts.py`, the coupon's own rules
(its terms, locked once redeemed) in `engine/coupons.py`.
"""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import coupons, discounts
from ..list_queries import filter_metadata, page_of

KIND = "coupon"
ORDERABLE = ("created_at", "updated_at", "name", "percent_off", "times_redeemed")


@handles("createCoupon")
def create(ctx: Context) -> dict[str, Any]:
    coupon, codes = coupons.new_coupon(ctx, ctx.body)
    return {"coupon": discounts.present(ctx, coupon), "promotion_codes": codes}


@handles("retrieveCoupon")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_coupon(ctx, ctx.get(KIND, ctx.path["id"], "Coupon"))


@handles("updateCoupon")
def update(ctx: Context) -> dict[str, Any]:
    return lookups.expand_coupon(ctx, coupons.update_coupon(ctx, ctx.get(KIND, ctx.path["id"], "Coupon"), ctx.body))


@handles("deleteCoupon")
def delete(ctx: Context) -> dict[str, Any]:
    return discounts.present(ctx, coupons.delete_coupon(ctx, ctx.get(KIND, ctx.path["id"], "Coupon")))


@handles("listCoupons")
def list_(ctx: Context) -> dict[str, Any]:
    rows = [discounts.present(ctx, c) for c in filter_metadata(ctx, ctx.store.all(KIND, ctx.livemode))]
    if ctx.param("valid") is not None:
        rows = [c for c in rows if c["valid"] is ctx.param("valid")]
    if ctx.param("name") is not None:
        rows = [c for c in rows if c["name"] == ctx.param("name")]
    return page_of(ctx, rows, orderable=ORDERABLE)


@handles("getCouponUsed")
def used(ctx: Context) -> dict[str, bool]:
    return {"used": discounts.used(ctx, KIND, ctx.get(KIND, ctx.path["id"], "Coupon"))}


@handles("listCouponRedemptions")
def redemptions(ctx: Context) -> dict[str, Any]:
    coupon = ctx.get(KIND, ctx.path["id"], "Coupon")
    return lookups.redemptions_page(ctx, discounts.records(ctx, coupon_id=coupon["id"]))
