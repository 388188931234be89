"""Subscription items and the usage reported for metered ones. A subscription
bills each price once, keeps at least one item, and takes no changes once it
has ended; usage is kept per item and timestamp within the current period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import lifecycle
from .subscriptions import (
    as_number,
    drop_item,
    is_metered,
    items_of,
    lock_price,
    merge_metadata,
    new_item,
    refuse_if_ended,
    save_changed,
    usable_price,
)

__all__ = ["add_item", "delete_item", "report_usage", "update_item"]

KIND = "subscription_item"
USAGE = "usage_record"


def _subscription_of(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    return ctx.get("subscription", item["subscription_id"], "Subscription")


def _price_for(ctx: Context, sub: dict[str, Any], price_id: str, item_id: str | None = None) -> dict[str, Any]:
    """A price the subscription can take as an item: billable there, and not already one of its items."""
    price = usable_price(
        ctx, price_id, "price_id", currency_id=sub["currency_id"], recurring=sub["pending_invoice_item_interval"]
    )
    twin = next((i for i in items_of(ctx, sub) if i["price_id"] == price["id"] and i["id"] != item_id), None)
    if twin is not None:
        raise bad_request(
            f"price_id: subscription {sub['id']} already has item {twin['id']} for price {price['id']}; "
            "change that item's quantity instead"
        )
    return price


def add_item(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """An item joins a subscription that has not ended, for a price it does not bill yet."""
    sub = ctx.store.get("subscription", body["subscription_id"], ctx.livemode)
    if sub is None:
        raise bad_request(f"subscription_id: no subscription {body['subscription_id']!r} in this mode")
    refuse_if_ended(sub, "items cannot be added")
    price = _price_for(ctx, sub, body["price_id"])
    item = new_item(ctx, sub, price, body.get("quantity", 1), body.get("metadata"), body.get("billing_thresholds"))
    save_changed(ctx, sub, "updated")
    return item


def update_item(ctx: Context, item: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """An item of a subscription that has not ended may move to another price (locking it) or quantity."""
    sub = _subscription_of(ctx, item)
    refuse_if_ended(sub, "its items cannot change")
    if "price_id" in body:
        price = _price_for(ctx, sub, body["price_id"], item["id"])
        lock_price(ctx, price)
        item["price_id"] = price["id"]
    if "metadata" in body:
        item["metadata"] = merge_metadata(item.get("metadata"), body["metadata"])
    for field in ("quantity", "billing_thresholds"):
        if field in body:
            item[field] = body[field]
    lifecycle.changed(ctx, KIND, item)
    save_changed(ctx, sub, "updated")
    return item


def delete_item(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    """A subscription keeps at least one item: its last one cannot be deleted."""
    sub = _subscription_of(ctx, item)
    refuse_if_ended(sub, "its items cannot change")
    if len(items_of(ctx, sub)) == 1:
        raise bad_request(
            f"Subscription item {item['id']} is the last item of subscription {sub['id']}; "
            "a subscription needs at least one item (cancel the subscription instead)"
        )
    drop_item(ctx, item)
    save_changed(ctx, sub, "updated")
    return item


def report_usage(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Usage of a metered item in its current period: `increment` adds to a timestamp's, `set` replaces it."""
    item = ctx.store.get(KIND, body["subscription_item_id"], ctx.livemode)
    if item is None:
        raise bad_request(f"subscription_item_id: no subscription item {body['subscription_item_id']!r} in this mode")
    price = ctx.store.get("price", item["price_id"], ctx.livemode) or {}
    if not is_metered(price):
        raise bad_request(
            f"subscription_item_id: item {item['id']} bills price {item['price_id']}, which is not metered "
            "(recurring.usage_type is not metered); only metered items take usage"
        )
    sub = _subscription_of(ctx, item)
    refuse_if_ended(sub, "it takes no more usage")
    timestamp = body.get("timestamp", ctx.now())
    start, end = sub["current_period_start"], sub["current_period_end"]
    if not start <= timestamp < end:
        raise bad_request(
            f"timestamp: {timestamp} is outside the current billing period of subscription {sub['id']} "
            f"({start} to {end})"
        )
    quantity = Decimal(str(body["quantity"]))
    record = ctx.store.first(USAGE, ctx.livemode, subscription_item_id=item["id"], timestamp=timestamp)
    if record is not None:
        if body.get("action", "increment") == "increment":
            quantity += Decimal(str(record["quantity"]))
        record["quantity"] = as_number(quantity)
        return lifecycle.changed(ctx, USAGE, record)
    record = ctx.stamp(
        {
            **skeleton(ctx.document, "UsageRecord"),
            "billed": False,
            "timestamp": timestamp,
            "quantity": as_number(quantity),
            "subscription_item_id": item["id"],
            "metadata": {},
        },
        "ur",
    )
    return lifecycle.added(ctx, USAGE, record)
