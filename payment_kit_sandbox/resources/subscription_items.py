"""Subscription items (`/api/subscription-items`) and the usage reported
for metered ones (`/api/usage-records`)."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import subscription_items
from ..engine import subscriptions as engine
from ..list_queries import page_of

KIND = "subscription_item"
USAGE = "usage_record"


def _subscription_of(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    return lookups.find_subscription(ctx, item["subscription_id"])


@handles("createSubscriptionItem")
def create(ctx: Context) -> dict[str, Any]:
    return subscription_items.add_item(ctx, ctx.body)


@handles("retrieveSubscriptionItem")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_subscription_item(ctx, ctx.get(KIND, ctx.path["id"], "Subscription item"))


@handles("updateSubscriptionItem")
def update(ctx: Context) -> dict[str, Any]:
    return subscription_items.update_item(ctx, ctx.get(KIND, ctx.path["id"], "Subscription item"), ctx.body)


@handles("deleteSubscriptionItem")
def delete(ctx: Context) -> dict[str, Any]:
    return subscription_items.delete_item(ctx, ctx.get(KIND, ctx.path["id"], "Subscription item"))


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
    return subscription_items.report_usage(ctx, ctx.body)


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
