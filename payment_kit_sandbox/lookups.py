"""Lookups and expansions the resource modules share, so that no resource
module imports another: records found by id or natural key (a 404 for a path
id, a 400 naming the field for an id a write refers to), answers expanded
with their related records, the customer / currency / payment method joins
every money object carries, and the redemption pages of coupons and codes.

The lookups the billing rules need themselves live in the engine
(`engine.customers`, `engine.catalog`) and are re-exported here, so a
resource module finds every lookup in one place. Nothing here writes,
except `ensure_customer` (a DID becomes a customer when first named).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .context import Context
from .engine.catalog import base_currency, find_currency, find_price, referenced_currency, referenced_price
from .engine.customers import ensure_customer, find_customer, plain_did, referenced_customer
from .engine.discounts import present as present_coupon
from .engine.refunds import refund_summary
from .engine.subscriptions import items_of
from .list_queries import page_of
from .refusals import not_found
from .skeletons import skeleton

__all__ = [
    "base_currency",
    "customer_id_param",
    "ensure_customer",
    "expand_checkout_session",
    "expand_coupon",
    "expand_customer",
    "expand_lines",
    "expand_meter",
    "expand_price",
    "expand_promotion_code",
    "expand_refund",
    "expand_subscription",
    "expand_subscription_item",
    "find_currency",
    "find_customer",
    "find_meter",
    "find_price",
    "find_subscription",
    "meter_by_key",
    "money_joins",
    "overdue",
    "owed_by_currency",
    "plain_did",
    "redemptions_page",
    "referenced_currency",
    "referenced_customer",
    "referenced_price",
    "refund_summary",
    "stored",
]


# -- any record ------------------------------------------------------------------------------


def _stored_or_stub(
    ctx: Context, kind: str, object_id: str | None, schema: str, owner: dict[str, Any]
) -> dict[str, Any]:
    """A joined record that must be present in the answer; if it was deleted since, a stub carrying its id."""
    found = ctx.store.get(kind, object_id or "", ctx.livemode)
    if found is not None:
        return found
    return {
        **skeleton(ctx.document, schema),
        "id": object_id or "",
        "livemode": ctx.livemode,
        "created_at": owner["created_at"],
        "updated_at": owner["created_at"],
    }


def money_joins(ctx: Context, obj: dict[str, Any]) -> dict[str, Any]:
    """The customer, currency and payment method every money object (intent, invoice, refund) is answered with."""
    currency = _stored_or_stub(ctx, "payment_currency", obj.get("currency_id"), "PaymentCurrency", obj)
    method_id = (
        obj.get("payment_method_id") or obj.get("default_payment_method_id") or currency.get("payment_method_id")
    )
    return {
        "customer": _stored_or_stub(ctx, "customer", obj.get("customer_id"), "Customer", obj),
        "paymentCurrency": currency,
        "paymentMethod": _stored_or_stub(ctx, "payment_method", method_id, "PaymentMethod", obj),
    }


def stored(ctx: Context, kind: str, object_id: str | None) -> dict[str, Any] | None:
    return ctx.store.get(kind, object_id, ctx.livemode) if object_id else None


def expand_price(ctx: Context, price: dict[str, Any], with_product: bool = True) -> dict[str, Any]:
    options = []
    for option in price.get("currency_options") or []:
        options.append({**option, "currency": ctx.store.get("payment_currency", option["currency_id"], ctx.livemode)})
    meter_id = (price.get("recurring") or {}).get("meter_id")
    out = {
        **price,
        "object": "price",
        "currency": ctx.store.get("payment_currency", price["currency_id"], ctx.livemode),
        "currency_options": options,
        "meter": ctx.store.get("meter", meter_id, ctx.livemode) if meter_id else None,
    }
    if with_product:
        out["product"] = ctx.store.get("product", price["product_id"], ctx.livemode)
    return out


def expand_customer(ctx: Context, customer: dict[str, Any]) -> dict[str, Any]:
    mine = {"customer_id": customer["id"]}
    return {
        **customer,
        "object": "customer",
        "payments": ctx.store.find("payment_intent", ctx.livemode, **mine),
        "subscriptions": ctx.store.find("subscription", ctx.livemode, **mine),
        "invoices": ctx.store.find("invoice", ctx.livemode, **mine),
    }


def overdue(ctx: Context, invoice: dict[str, Any]) -> bool:
    return (
        invoice["status"] in ("open", "uncollectible")
        and int(invoice["amount_remaining"]) > 0
        and (invoice.get("due_date") is None or invoice["due_date"] <= ctx.now())
    )


def owed_by_currency(ctx: Context, invoices: list[dict[str, Any]]) -> dict[str, Any]:
    owed: dict[str, int] = defaultdict(int)
    for invoice in invoices:
        owed[invoice["currency_id"]] += int(invoice["amount_remaining"])
    out = {}
    for currency_id, amount in owed.items():
        currency = ctx.store.get("payment_currency", currency_id, ctx.livemode)
        if currency is None:
            continue
        method = ctx.store.get("payment_method", currency["payment_method_id"], ctx.livemode)
        out[currency_id] = {"amount": str(amount), "currency": currency, "method": method}
    return out


def expand_subscription_item(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    price = ctx.store.get("price", item["price_id"], ctx.livemode)
    return {**item, "object": "subscription", "price": expand_price(ctx, price) if price else None}


def expand_subscription(ctx: Context, sub: dict[str, Any]) -> dict[str, Any]:
    """SubscriptionExpanded: the customer, currency, payment method and items (with prices) joined."""
    items = [expand_subscription_item(ctx, i) for i in items_of(ctx, sub)]
    credit = any(
        (i["price"] or {}).get("metadata", {}).get("credit_config")
        or ((i["price"] or {}).get("product") or {}).get("type") == "credit"
        for i in items
    )
    return {
        **sub,
        "object": "subscription",
        "customer": ctx.store.get("customer", sub["customer_id"], ctx.livemode)
        or {**skeleton(ctx.document, "Customer"), "id": sub["customer_id"]},
        "paymentCurrency": ctx.store.get("payment_currency", sub["currency_id"], ctx.livemode),
        "paymentMethod": ctx.store.get("payment_method", sub.get("default_payment_method_id") or "", ctx.livemode),
        "items": items,
        "serviceType": "credit" if credit else "standard",
    }


def find_subscription(ctx: Context, subscription_id: str) -> dict[str, Any]:
    return ctx.get("subscription", subscription_id, "Subscription")


def expand_refund(ctx: Context, refund: dict[str, Any]) -> dict[str, Any]:
    intent = stored(ctx, "payment_intent", refund["payment_intent_id"]) or {
        **skeleton(ctx.document, "PaymentIntent"),
        "id": refund["payment_intent_id"],
        "livemode": refund["livemode"],
        "created_at": refund["created_at"],
        "updated_at": refund["created_at"],
    }
    return {
        **refund,
        "object": "refund",
        **money_joins(ctx, refund),
        "paymentIntent": intent,
        "invoice": stored(ctx, "invoice", refund.get("invoice_id")),
        "subscription": stored(ctx, "subscription", refund.get("subscription_id")),
    }


def expand_lines(ctx: Context, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Line items with their prices (and upsell prices) joined, as retrieve and list answer them."""
    out = []
    for line in lines:
        price = ctx.get("price", line["price_id"], "Price")
        upsell = line.get("upsell_price_id")
        upsell_price = ctx.store.get("price", upsell, ctx.livemode) if upsell else None
        out.append(
            {
                **line,
                "price": expand_price(ctx, price),
                "upsell_price": expand_price(ctx, upsell_price) if upsell_price else None,
            }
        )
    return out


def expand_checkout_session(ctx: Context, session: dict[str, Any]) -> dict[str, Any]:
    def get(kind: str, object_id: str | None) -> dict[str, Any] | None:
        return ctx.store.get(kind, object_id, ctx.livemode) if object_id else None

    created = [session.get("subscription_id"), *(session.get("subscription_groups") or {}).values()]
    subscriptions = [s for s in (get("subscription", i) for i in dict.fromkeys(created)) if s]
    return {
        **session,
        "object": "checkout_session",
        "line_items": expand_lines(ctx, session["line_items"]),
        "payment_link": get("payment_link", session.get("payment_link_id")),
        "payment_intent": get("payment_intent", session.get("payment_intent_id")),
        "subscription": get("subscription", session.get("subscription_id")),
        "customer": get("customer", session.get("customer_id")),
        "subscriptions": subscriptions,
    }


def meter_by_key(ctx: Context, key: str) -> dict[str, Any] | None:
    """A meter by id or by `event_name`."""
    return ctx.store.get("meter", key, ctx.livemode) or ctx.store.first("meter", ctx.livemode, event_name=key)


def find_meter(ctx: Context, key: str) -> dict[str, Any]:
    """A meter by id or by `event_name`, or a 404."""
    meter = meter_by_key(ctx, key)
    if meter is None:
        raise not_found("Meter", key)
    return meter


def expand_meter(ctx: Context, meter: dict[str, Any]) -> dict[str, Any]:
    currency_id = meter.get("currency_id")
    currency = ctx.store.get("payment_currency", currency_id, ctx.livemode) if currency_id else None
    return {**meter, "paymentCurrency": currency}


def customer_id_param(ctx: Context) -> str | None:
    """A `customer_id` filter, which may name the customer by DID."""
    key = ctx.param("customer_id")
    if key is None:
        return None
    found = find_customer(ctx, key)
    return str(found["id"]) if found else str(key)


# -- discounts ---------------------------------------------------------------------------------


def expand_coupon(ctx: Context, coupon: dict[str, Any]) -> dict[str, Any]:
    products = (coupon.get("applies_to") or {}).get("products") or []
    return {
        **present_coupon(ctx, coupon),
        "object": "coupon",
        "applied_products": [p for p in (ctx.store.get("product", i, ctx.livemode) for i in products) if p],
        "promotion_codes": ctx.store.find("promotion_code", ctx.livemode, coupon_id=coupon["id"]),
        "currency": ctx.store.get("payment_currency", coupon["currency_id"], ctx.livemode),
    }


def expand_promotion_code(ctx: Context, promo: dict[str, Any]) -> dict[str, Any]:
    coupon = ctx.store.get("coupon", promo["coupon_id"], ctx.livemode)
    return {**promo, "object": "promotion_code", "coupon": present_coupon(ctx, coupon) if coupon else None}


def redemptions_page(ctx: Context, records: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of redemptions grouped by customer or by subscription (`type`, customer by default).

    Groups sort by their first redemption (`created_at`) or their latest (`updated_at`).
    """
    by_subscription = ctx.param("type") == "subscription"
    key = "subscription_id" if by_subscription else "customer_id"
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get(key):
            groups.setdefault(record[key], []).append(record)
    rows = []
    for owner_id, mine in groups.items():
        kind = "subscription" if by_subscription else "customer"
        owner = ctx.store.get(kind, owner_id, ctx.livemode)
        if owner is not None:
            rows.append(
                {"created_at": mine[0]["created_at"], "updated_at": mine[-1]["created_at"], "row": (owner, mine)}
            )
    render = _subscription_row if by_subscription else _customer_row
    page = page_of(ctx, rows, expand=lambda r: render(ctx, *r["row"]))
    paging = {"page": int(ctx.param("page") or 1), "pageSize": int(ctx.param("pageSize") or 20)}
    listed, other = ("subscriptions", "customers") if by_subscription else ("customers", "subscriptions")
    return {"count": page["count"], listed: page["list"], other: [], "paging": paging}


def _customer_row(ctx: Context, customer: dict[str, Any], mine: list[dict[str, Any]]) -> dict[str, Any]:
    stats = {
        "times_redeemed": len(mine),
        "first_redeemed_at": mine[0]["created_at"],
        "last_redeemed_at": mine[-1]["created_at"],
        "subscriptions": len({r["subscription_id"] for r in mine if r.get("subscription_id")}),
    }
    return {**expand_customer(ctx, customer), "coupon_usage_stats": stats, "discount_records": mine}


def _subscription_row(ctx: Context, subscription: dict[str, Any], mine: list[dict[str, Any]]) -> dict[str, Any]:
    latest = mine[-1]
    coupon = ctx.store.get("coupon", latest["coupon_id"], ctx.livemode)
    promo = ctx.store.get("promotion_code", latest.get("promotion_code_id") or "", ctx.livemode)
    return {
        **expand_subscription(ctx, subscription),
        "discount_info": {
            "discount_id": latest["id"],
            "coupon_info": expand_coupon(ctx, coupon) if coupon else None,
            "promotion_code_info": expand_promotion_code(ctx, promo) if promo else None,
        },
    }
