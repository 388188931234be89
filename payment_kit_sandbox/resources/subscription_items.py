"""Subscription items (`/api/subscription-items`) and the usage reported
for metered ones (`/api/usage-records`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import subscriptions as engine
from ..list_queries import page_of
from ..refusals import bad_request
from ..skeletons import skeleton

KIND = "subscription_item"
USAGE = "usage_record"


def _subscription_of(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    return lookups.find_subscription(ctx, item["subscription_id"])


def _price_for(ctx: Context, sub: dict[str, Any], price_id: str, item_id: str | None = None) -> dict[str, Any]:
    """A price the subscription can take as an item: billable there, and not already one of its items."""
    price = engine.usable_price(
        ctx, price_id, "price_id", currency_id=sub["currency_id"], recurring=sub["pending_invoice_item_interval"]
    )
    twin = next((i for i in engine.items_of(ctx, sub) if i["price_id"] == price["id"] and i["id"] != item_id), None)
    if twin is not None:
        raise bad_request(
            f"price_id: subscription {sub['id']} already has item {twin['id']} for price {price['id']}; "
            "change that item's quantity instead"
        )
    return price


def _changed(ctx: Context, sub: dict[str, Any]) -> None:
    engine.emit(ctx, "updated", sub)
    ctx.store.save("subscription", ctx.touch(sub))


@handles("createSubscriptionItem")
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    sub = ctx.store.get("subscription", body["subscription_id"], ctx.livemode)
    if sub is None:
        raise bad_request(f"subscription_id: no subscription {body['subscription_id']!r} in this mode")
    engine.refuse_if_ended(sub, "items cannot be added")
    price = _price_for(ctx, sub, body["price_id"])
    item = engine.new_item(
        ctx, sub, price, body.get("quantity", 1), body.get("metadata"), body.get("billing_thresholds")
    )
    _changed(ctx, sub)
    return item


@handles("retrieveSubscriptionItem")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_subscription_item(ctx, ctx.get(KIND, ctx.path["id"], "Subscription item"))


@handles("updateSubscriptionItem")
def update(ctx: Context) -> dict[str, Any]:
    item = ctx.get(KIND, ctx.path["id"], "Subscription item")
    sub = _subscription_of(ctx, item)
    engine.refuse_if_ended(sub, "its items cannot change")
    body = ctx.body
    if "price_id" in body:
        price = _price_for(ctx, sub, body["price_id"], item["id"])
        engine.lock_price(ctx, price)
        item["price_id"] = price["id"]
    if "metadata" in body:
        item["metadata"] = engine.merge_metadata(item.get("metadata"), body["metadata"])
    for field in ("quantity", "billing_thresholds"):
        if field in body:
            item[field] = body[field]
    ctx.store.save(KIND, ctx.touch(item))
    _changed(ctx, sub)
    return item


@handles("deleteSubscriptionItem")
def delete(ctx: Context) -> dict[str, Any]:
    item = ctx.get(KIND, ctx.path["id"], "Subscription item")
    sub = _subscription_of(ctx, item)
    engine.refuse_if_ended(sub, "its items cannot change")
    if len(engine.items_of(ctx, sub)) == 1:
        raise bad_request(
            f"Subscription item {item['id']} is the last item of subscription {sub['id']}; "
            "a subscription needs at least one item (cancel the subscription instead)"
        )
    for record in ctx.store.find(USAGE, ctx.livemode, subscription_item_id=item["id"]):
        ctx.store.delete(USAGE, record["id"])
    ctx.store.delete(KIND, item["id"])
    _changed(ctx, sub)
    return item


@handles("listSubscriptionItems")
def list_(ctx: Context) -> dict[str, Any]:
    rows = ctx.store.find(KIND, ctx.livemode, subscription_id=ctx.param("subscription_id"))
    return page_of(
        ctx,
        rows,
        orderable=("created_at", "updated_at", "quantity"),
        expand=lambda i: lookups.expand_subscription_item(ctx, i),
    )


# -- usage ----------------------------------------------------------------------------------------


@handles("createUsageRecord")
def create_usage_record(ctx: Context) -> dict[str, Any]:
    """Usage is kept per item and timestamp, as PaymentKit (after Stripe) does: `increment` adds to
    what was reported at that timestamp, `set` replaces it."""
    body = ctx.body
    item = ctx.store.get(KIND, body["subscription_item_id"], ctx.livemode)
    if item is None:
        raise bad_request(f"subscription_item_id: no subscription item {body['subscription_item_id']!r} in this mode")
    price = ctx.store.get("price", item["price_id"], ctx.livemode) or {}
    if not engine.is_metered(price):
        raise bad_request(
            f"subscription_item_id: item {item['id']} bills price {item['price_id']}, which is not metered "
            "(recurring.usage_type is not metered); only metered items take usage"
        )
    sub = _subscription_of(ctx, item)
    engine.refuse_if_ended(sub, "it takes no more usage")
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
        record["quantity"] = engine.as_number(quantity)
        return ctx.store.save(USAGE, ctx.touch(record))
    record = ctx.stamp(
        {
            **skeleton(ctx.document, "UsageRecord"),
            "billed": False,
            "timestamp": timestamp,
            "quantity": engine.as_number(quantity),
            "subscription_item_id": item["id"],
            "metadata": {},
        },
        "ur",
    )
    return ctx.store.insert(USAGE, record)


@handles("listUsageRecords")
def list_usage_records(ctx: Context) -> dict[str, Any]:
    rows = ctx.store.find(USAGE, ctx.livemode, subscription_item_id=ctx.param("subscription_item_id"))
    return page_of(ctx, rows, orderable=("created_at", "updated_at", "timestamp", "quantity"))


@handles("listUsageRecordSummaries")
def list_usage_record_summaries(ctx: Context) -> dict[str, Any]:
    """One row per billing period of the item: each period a renewal invoiced (found through that
    invoice's line for the item), then the current one, not invoiced yet (`invoice_id` null)."""
    item = ctx.store.get(KIND, ctx.param("subscription_item_id"), ctx.livemode)
    if item is None:
        return page_of(ctx, [])
    price = ctx.store.get("price", item["price_id"], ctx.livemode) or {}
    sub = _subscription_of(ctx, item)
    periods: list[tuple[int, int, str | None]] = []
    for line in ctx.store.find("invoice_item", ctx.livemode, subscription_item_id=item["id"]):
        billed_price = ctx.store.get("price", line["price_id"], ctx.livemode) or {}
        if engine.is_metered(billed_price) and line.get("period"):
            periods.append((line["period"]["start"], line["period"]["end"], line["invoice_id"]))
    if not engine.ended(sub):
        periods.append((sub["current_period_start"], sub["current_period_end"], None))
    rows = [
        {
            "object": "usage_record_summary",
            "livemode": ctx.livemode,
            "invoice_id": invoice_id,
            "subscription_item_id": item["id"],
            "total_usage": engine.as_number(engine.aggregate(ctx, item, price, start, end)),
            "period": {"start": start, "end": end},
        }
        for start, end, invoice_id in periods
    ]
    return page_of(ctx, rows, orderable=("created_at",))
