"""Discounts: which coupon a code or id names, whether it may still be
redeemed, how much it takes off, and the record a redemption leaves.

Other areas (checkout completion, subscription renewals, invoices) call
`resolve` → `amount_off` → `redeem`, inside the request's transaction, so a
refusal later in the same request rolls the redemption back too.

Coupons keep `valid` as stored by the user (the on/off switch of
`updateCoupon`); whether a coupon can be redeemed *now* also depends on the
clock and on its redemption count, so answers show `present(ctx, coupon)`,
never the stored row. A redemption is a `discount` record (`di_…`): who
redeemed which coupon through which code, for what, and until when.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from ..context import Context
from ..refusals import bad_request

__all__ = [
    "active_discount",
    "amount_off",
    "applies_to_product",
    "coupon_problem",
    "find_code",
    "present",
    "promotion_code_problem",
    "records",
    "redeem",
    "resolve",
    "used",
]

Obj = dict[str, Any]


# -- lookups and validity ----------------------------------------------------------------------


def find_code(ctx: Context, code: str) -> Obj | None:
    """The promotion code of this mode whose code is `code`, ignoring case (customers type it)."""
    wanted = code.casefold()
    return next((p for p in ctx.store.all("promotion_code", ctx.livemode) if p["code"].casefold() == wanted), None)


def _limit_reached(obj: Obj) -> bool:
    limit = obj.get("max_redemptions")
    return limit is not None and int(obj.get("times_redeemed") or 0) >= int(limit)


def coupon_problem(ctx: Context, coupon: Obj) -> str | None:
    """Why the coupon cannot be redeemed now, or None when it can."""
    if coupon.get("valid") is False:
        return "it has been turned off (valid: false)"
    redeem_by = coupon.get("redeem_by")
    if redeem_by and redeem_by <= ctx.now():
        return f"its redeem_by ({redeem_by}) has passed"
    if _limit_reached(coupon):
        return f"it has reached its max_redemptions ({coupon['max_redemptions']})"
    return None


def promotion_code_problem(ctx: Context, promo: Obj) -> str | None:
    """Why the code itself cannot be redeemed now (its coupon aside), or None when it can."""
    if not promo.get("active"):
        return "it is inactive (archived or turned off)"
    expires_at = promo.get("expires_at")
    if expires_at and expires_at <= ctx.now():
        return f"it expired at {expires_at}"
    if _limit_reached(promo):
        return f"it has reached its max_redemptions ({promo['max_redemptions']})"
    return None


def present(ctx: Context, coupon: Obj) -> Obj:
    """The coupon as answers show it: `valid` says whether it can be redeemed now."""
    return {**coupon, "valid": coupon_problem(ctx, coupon) is None}


def resolve(
    ctx: Context,
    *,
    promotion_code: str | None = None,
    coupon_id: str | None = None,
    customer: Obj | None = None,
    currency_id: str | None = None,
    subtotal: int | None = None,
) -> tuple[Obj, Obj | None]:
    """The stored coupon (and promotion code) a purchase names, if it may be redeemed now.

    `promotion_code` is a code as typed (any case) or a `promo_…` id. Given
    `customer`, the code's customer restrictions are checked too; given
    `currency_id` and `subtotal`, its minimum amounts and the coupon's currency.
    Refusals are 400s naming `promotion_code` or `coupon_id`.
    """
    promo: Obj | None = None
    if promotion_code is not None:
        promo = ctx.store.get("promotion_code", promotion_code, ctx.livemode) or find_code(ctx, promotion_code)
        if promo is None:
            raise bad_request(f"promotion_code: no promotion code {promotion_code!r} in this mode")
        problem = promotion_code_problem(ctx, promo) or _restriction_problem(
            ctx, promo, customer, currency_id, subtotal
        )
        if problem:
            raise bad_request(f"promotion_code: {promo['code']!r} cannot be redeemed: {problem}")
        if coupon_id is not None and coupon_id != promo["coupon_id"]:
            raise bad_request(
                f"coupon_id: promotion code {promo['code']!r} redeems {promo['coupon_id']}, not {coupon_id}"
            )
        coupon_id, field = promo["coupon_id"], "promotion_code"
    elif coupon_id is not None:
        field = "coupon_id"
    else:
        raise bad_request("promotion_code: give a promotion code or a coupon_id")
    coupon = ctx.store.get("coupon", coupon_id, ctx.livemode)
    if coupon is None:
        raise bad_request(f"{field}: no coupon {coupon_id!r} in this mode")
    problem = coupon_problem(ctx, coupon)
    fixed_elsewhere = currency_id is not None and not coupon["percent_off"]
    if problem is None and fixed_elsewhere and _fixed_amount(coupon, str(currency_id)) is None:
        problem = f"it has no amount_off in currency {currency_id}"
    if problem:
        raise bad_request(f"{field}: coupon {coupon['id']} is no longer valid: {problem}")
    return coupon, promo


def _restriction_problem(
    ctx: Context, promo: Obj, customer: Obj | None, currency_id: str | None, subtotal: int | None
) -> str | None:
    if customer is not None:
        if promo.get("customer_id") and promo["customer_id"] != customer["id"]:
            return "it is reserved for another customer"
        if promo.get("verification_type") == "user_restricted":
            allowed = {d.removeprefix("did:abt:") for d in promo.get("customer_dids") or []}
            if customer.get("did") not in allowed:
                return "the customer's DID is not among its customer_dids"
        restrictions = promo.get("restrictions") or {}
        if restrictions.get("first_time_transaction") and any(
            i["status"] == "paid" for i in ctx.store.find("invoice", ctx.livemode, customer_id=customer["id"])
        ):
            return "it is for first-time customers only, and this customer has paid before"
    if currency_id is not None and subtotal is not None:
        minimum = _minimum_amount(promo.get("restrictions") or {}, currency_id)
        if minimum is not None and subtotal < minimum:
            return f"it needs a purchase of at least {minimum} units of {currency_id}"
    return None


def _minimum_amount(restrictions: Obj, currency_id: str) -> int | None:
    option = (restrictions.get("currency_options") or {}).get(currency_id)
    if option is not None:
        return int(option["minimum_amount"])
    if restrictions.get("minimum_amount") and restrictions.get("minimum_amount_currency") == currency_id:
        return int(restrictions["minimum_amount"])
    return None


# -- amounts -----------------------------------------------------------------------------------


def _fixed_amount(coupon: Obj, currency_id: str) -> int | None:
    if currency_id == coupon.get("currency_id"):
        return int(coupon.get("amount_off") or 0)
    option = (coupon.get("currency_options") or {}).get(currency_id)
    return int(option["amount_off"]) if option is not None else None


def amount_off(ctx: Context, coupon: Obj, currency_id: str, subtotal: int) -> int:
    """Integer units the coupon takes off `subtotal` in `currency_id`, never more than the subtotal.

    A percentage rounds down (the customer never gets more than the percent); a
    fixed coupon with no amount in `currency_id` takes nothing off.
    """
    if subtotal <= 0:
        return 0
    if coupon.get("percent_off"):
        # percent_off is a JSON number and may be a fraction (12.5): exact rational arithmetic on the
        # number as sent (its shortest text), never float, and never Decimal's 28 digits.
        off = subtotal * Fraction(repr(coupon["percent_off"])) // 100
    else:
        off = _fixed_amount(coupon, currency_id) or 0
    return max(0, min(off, subtotal))


def applies_to_product(coupon: Obj, product_id: str) -> bool:
    """Whether a line of this product is discountable (a coupon without `applies_to` covers every product)."""
    products = (coupon.get("applies_to") or {}).get("products")
    return not products or product_id in products


# -- redemptions -------------------------------------------------------------------------------


def _add_months(unix: int, months: int) -> int:
    at = datetime.fromtimestamp(unix, UTC)
    month_index = at.month - 1 + months
    year, month = at.year + month_index // 12, month_index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return int(at.replace(year=year, month=month, day=day).timestamp())


def redeem(
    ctx: Context,
    coupon: Obj,
    promo: Obj | None,
    customer: Obj,
    subscription: Obj | None = None,
    checkout_session: Obj | None = None,
) -> Obj:
    """Count one redemption on the coupon (and code), lock their terms, and record it.

    A subscription gets the new discount as its `discount_id` (the dict is
    updated in place, so a caller that inserts it afterwards keeps it).
    Answers the `discount` record.
    """
    for kind, obj in (("coupon", coupon), ("promotion_code", promo)):
        if obj is None:
            continue
        # Against max_redemptions across workers: the limit was checked and the count is raised in the
        # request's SERIALIZABLE transaction (store.run), so of two concurrent last redemptions one is
        # aborted and its retry finds the limit reached (the checks also read the customer's earlier
        # payments for `first_time_transaction`, rows a lock on the code alone would not cover).
        obj["times_redeemed"] = int(obj.get("times_redeemed") or 0) + 1
        obj["locked"] = True
        ctx.store.save(kind, ctx.touch(obj))
        ctx.emit(f"{kind}.updated", kind, present(ctx, obj) if kind == "coupon" else obj)
    start = ctx.now()
    end = _add_months(start, int(coupon["duration_in_months"])) if coupon["duration"] == "repeating" else None
    discount = ctx.stamp(
        {
            "object": "discount",
            "coupon_id": coupon["id"],
            "promotion_code_id": promo["id"] if promo else None,
            "customer_id": customer["id"],
            "subscription_id": subscription["id"] if subscription else None,
            "checkout_session_id": checkout_session["id"] if checkout_session else None,
            "duration": coupon["duration"],
            "start": start,
            "end": end,
            "metadata": {},
        },
        "di",
    )
    ctx.store.insert("discount", discount)
    if subscription is not None:
        subscription["discount_id"] = discount["id"]
        ctx.store.save("subscription", subscription)
    return discount


def records(ctx: Context, *, coupon_id: str | None = None, promotion_code_id: str | None = None) -> list[Obj]:
    """The redemptions of a coupon or of a promotion code, oldest first."""
    wanted = {"coupon_id": coupon_id} if coupon_id else {"promotion_code_id": promotion_code_id}
    return ctx.store.find("discount", ctx.livemode, **wanted)


def used(ctx: Context, kind: str, obj: Obj) -> bool:
    """Whether a coupon or promotion code (`kind`) has been redeemed at least once."""
    key = "coupon_id" if kind == "coupon" else "promotion_code_id"
    return bool(obj.get("times_redeemed")) or bool(records(ctx, **{key: obj["id"]}))


def active_discount(ctx: Context, subscription: Obj) -> tuple[Obj, Obj] | None:
    """`(coupon, discount)` still applying to a subscription's next renewal, if any.

    `once` covers the first invoice only (the one its checkout paid), `repeating`
    until its end, `forever` always.
    """
    discount = ctx.store.get("discount", subscription.get("discount_id") or "", ctx.livemode)
    if discount is None or discount["duration"] == "once":
        return None
    if discount["end"] is not None and discount["end"] <= ctx.now():
        return None
    coupon = ctx.store.get("coupon", discount["coupon_id"], ctx.livemode)
    return (coupon, discount) if coupon is not None else None
