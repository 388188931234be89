"""Coupons: a percentage or a fixed amount off (in the coupon's currency and
any others it names), for once, some months or forever. A redeemed coupon is
locked: its discount terms stay as they were given. Redeeming is `discounts`'."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import discounts, lifecycle
from .catalog import base_currency, referenced_currency
from .money import to_units
from .promotions import new_promotion_code

__all__ = ["delete_coupon", "new_coupon", "update_coupon"]

KIND = "coupon"
PLAIN_FIELDS = ("name", "description", "metadata", "max_redemptions", "redeem_by", "valid", "applies_to")
# What a redemption fixes: changing these afterwards would rewrite discounts already given.
TERMS = ("percent_off", "amount_off", "currency_id", "currency_options", "duration", "duration_in_months")


def _apply(ctx: Context, coupon: dict[str, Any], body: dict[str, Any]) -> None:
    """Write a create or update body onto a coupon, converting amounts and checking what it names."""
    if body.get("redeem_by") is not None and body["redeem_by"] <= ctx.now():
        raise bad_request(f"redeem_by: {body['redeem_by']} is not in the future")
    if body.get("max_redemptions") is not None and body["max_redemptions"] < int(coupon.get("times_redeemed") or 0):
        raise bad_request(f"max_redemptions: the coupon has already been redeemed {coupon['times_redeemed']} times")
    for i, product_id in enumerate((body.get("applies_to") or {}).get("products") or []):
        if ctx.store.get("product", product_id, ctx.livemode) is None:
            raise bad_request(f"applies_to.products[{i}]: no product {product_id!r} in this mode")
    coupon.update({k: body[k] for k in PLAIN_FIELDS if k in body})
    _apply_terms(ctx, coupon, body)


def _apply_terms(ctx: Context, coupon: dict[str, Any], body: dict[str, Any]) -> None:
    percent, amount = body.get("percent_off"), body.get("amount_off")
    if percent and amount is not None and Decimal(amount):
        raise bad_request("percent_off, amount_off: a coupon takes one of them, not both")
    options = dict(coupon.get("currency_options") or {})
    if "currency_id" in body:
        new_currency = referenced_currency(ctx, body["currency_id"], "currency_id")["id"]
        if new_currency != coupon["currency_id"] and amount is None and int(coupon["amount_off"]):
            raise bad_request("amount_off: give the fixed amount again in the new currency_id")
        options.pop(coupon["currency_id"], None)
        coupon["currency_id"] = new_currency
    if percent:
        coupon.update(percent_off=percent, amount_off="0", currency_options={})
    elif amount is not None:
        decimal = referenced_currency(ctx, coupon["currency_id"], "currency_id")["decimal"]
        coupon.update(percent_off=0, amount_off=to_units(amount, decimal, "amount_off"))
        # The coupon's own currency is one of its options too, as a price's is.
        coupon["currency_options"] = {**options, coupon["currency_id"]: {"amount_off": coupon["amount_off"]}}
    elif percent == 0:
        coupon["percent_off"] = 0
    if "currency_options" in body:
        if coupon["percent_off"]:
            raise bad_request("currency_options: only a fixed-amount coupon (amount_off) has per-currency amounts")
        options = {coupon["currency_id"]: {"amount_off": coupon["amount_off"]}}
        for currency_id, option in body["currency_options"].items():
            field = f"currency_options.{currency_id}.amount_off"
            currency = referenced_currency(ctx, currency_id, f"currency_options.{currency_id}")
            units = to_units(option["amount_off"], currency["decimal"], field)
            if currency_id == coupon["currency_id"] and units != coupon["amount_off"]:
                raise bad_request(f"{field}: differs from amount_off, the amount in the coupon's own currency")
            options[currency_id] = {"amount_off": units}
        coupon["currency_options"] = options
    if not coupon["percent_off"] and not int(coupon["amount_off"]):
        raise bad_request("percent_off, amount_off: a coupon needs a percent_off or an amount_off above 0")
    coupon.update({k: body[k] for k in ("duration", "duration_in_months") if k in body})
    if coupon["duration"] == "repeating":
        if not coupon.get("duration_in_months"):
            raise bad_request("duration_in_months: a repeating coupon needs the number of months it lasts")
    elif "duration_in_months" in body:
        raise bad_request(
            f"duration_in_months: only a repeating coupon lasts some months, not a {coupon['duration']} one"
        )
    else:
        coupon["duration_in_months"] = 0


def new_coupon(ctx: Context, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A coupon is created with its promotion codes, and announced after them."""
    coupon = ctx.stamp(
        {
            **skeleton(ctx.document, "Coupon"),
            "locked": False,
            "amount_off": "0",
            "percent_off": 0,
            "currency_id": base_currency(ctx)["id"],
            "duration_in_months": 0,
            "metadata": {},
            "currency_options": {},
            "times_redeemed": 0,
            "valid": True,
            "created_via": "api",
        },
        "co",
    )
    _apply(ctx, coupon, body)
    lifecycle.added(ctx, KIND, coupon)
    codes = [
        new_promotion_code(ctx, coupon, code, f"promotion_codes[{i}].")
        for i, code in enumerate(body.get("promotion_codes") or [])
    ]
    ctx.emit("coupon.created", KIND, discounts.present(ctx, coupon))
    return coupon, codes


def update_coupon(ctx: Context, coupon: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A redeemed coupon keeps its discount terms; its labels and limits stay editable."""
    # Amounts arrive as decimals and are stored as units, so any amount in the body counts as a change.
    changed = [k for k in TERMS if k in body and (k in ("amount_off", "currency_options") or body[k] != coupon.get(k))]
    if coupon.get("locked") and changed:
        raise bad_request(
            f"{changed[0]}: coupon {coupon['id']} has been redeemed, so its discount terms are locked; "
            "name, description, metadata, max_redemptions, redeem_by and valid stay editable"
        )
    _apply(ctx, coupon, body)
    lifecycle.changed(ctx, KIND, coupon)
    ctx.emit("coupon.updated", KIND, discounts.present(ctx, coupon))
    return coupon


def delete_coupon(ctx: Context, coupon: dict[str, Any]) -> dict[str, Any]:
    """Only a coupon never redeemed can be deleted, and its promotion codes go with it."""
    if discounts.used(ctx, KIND, coupon):
        raise bad_request(
            f"Coupon {coupon['id']} cannot be deleted: it has been redeemed; set valid to false to stop further use"
        )
    for promo in ctx.store.find("promotion_code", ctx.livemode, coupon_id=coupon["id"]):
        ctx.store.delete("promotion_code", promo["id"])
    ctx.store.delete(KIND, coupon["id"])
    ctx.emit("coupon.deleted", KIND, discounts.present(ctx, coupon))
    return coupon
