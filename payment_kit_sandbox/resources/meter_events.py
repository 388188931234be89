"""Meter events (`/api/meter-events`): usage reported under a meter's event
name, paid for from the customer's credit grants (engine/credits.py says
when and how)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from .. import lookups
from ..context import Context, handles, iso
from ..database import Bound, Condition, OneOf, read_committed
from ..engine import credits
from ..list_queries import search_keep, stored_page
from ..refusals import bad_request

KIND = "meter_event"
BUCKETS = {"minute": (60, "%Y-%m-%d %H:%M"), "hour": (3600, "%Y-%m-%d %H:00"), "day": (86400, "%Y-%m-%d")}


def expand(ctx: Context, event: dict[str, Any]) -> dict[str, Any]:
    return {
        **(credits.public(KIND, event) or {}),
        "object": "meter_event",
        "customer": credits.joined(ctx, "customer", event["payload"]["customer_id"], "Customer"),
        "subscription": credits.joined(ctx, "subscription", event["payload"].get("subscription_id")),
        "meter": credits.joined(ctx, "meter", event.get("meter_id"), "Meter"),
        "paymentCurrency": credits.joined(ctx, "payment_currency", event.get("currency_id"), "PaymentCurrency"),
    }


@handles("createMeterEvent")  # brings only the event's customer's grants up to the clock (report_event)
@read_committed  # report_event locks the customer's credit before it reads it
def create(ctx: Context) -> dict[str, Any]:
    return expand(ctx, credits.report_event(ctx, ctx.body))


@handles("retrieveMeterEvent")
@credits.current
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Meter event"))


def _filters(ctx: Context) -> tuple[list[Condition], dict[str, Any]]:
    """The customer, meter, event name and time-window filters, as the store runs them in SQL."""
    conditions: list[Condition] = []
    equals: dict[str, Any] = {}
    customer_id = lookups.customer_id_param(ctx)
    if customer_id:
        equals["payload.customer_id"] = customer_id
    if ctx.param("meter_id"):
        meter = lookups.meter_by_key(ctx, ctx.param("meter_id"))
        conditions.append(OneOf("event_name", (meter["event_name"],) if meter is not None else ()))
    if ctx.param("event_name"):
        equals["event_name"] = ctx.param("event_name")
    if ctx.param("start") is not None or ctx.param("end") is not None:
        conditions.append(Bound("timestamp", low=ctx.param("start"), high=ctx.param("end")))
    return conditions, equals


def _matching(ctx: Context) -> list[dict[str, Any]]:
    """Events matching the customer, meter, event name and time-window filters."""
    conditions, equals = _filters(ctx)
    return ctx.store.find(KIND, ctx.livemode, *conditions, **equals)


@handles("listMeterEvents")
@credits.current
def list_(ctx: Context) -> dict[str, Any]:
    conditions, equals = _filters(ctx)
    keep = search_keep(ctx, ("id", "identifier", "event_name"), param="q")
    return stored_page(
        ctx,
        KIND,
        *conditions,
        orderable=("created_at", "updated_at", "timestamp"),
        expand=lambda e: expand(ctx, e),
        keep=keep,
        **equals,
    )


@handles("getMeterEventStats")
@credits.current
def stats(ctx: Context) -> dict[str, Any]:
    meter = lookups.find_meter(ctx, ctx.param("meter_id"))
    start, end = ctx.param("start"), ctx.param("end")
    if end < start:
        raise bad_request(f"end: {end} is before start {start}")
    size, label = BUCKETS[ctx.param("granularity") or "day"]
    buckets: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in _matching(ctx):
        if event["event_name"] == meter["event_name"] and event["status"] != "canceled":
            buckets[event["timestamp"] // size * size].append(event)
    rows = [
        {
            "date": _label(at, label),
            "timestamp": iso(at),
            "event_count": len(events),
            "total_value": credits.decimal_sum(e["payload"]["value"] for e in events),
        }
        for at, events in sorted(buckets.items())
    ]
    return {"count": len(rows), "list": rows}


def _label(at: int, fmt: str) -> str:
    return datetime.fromtimestamp(at, UTC).strftime(fmt)


@handles("getMeterEventPendingAmount")
@credits.current
def pending_amount(ctx: Context) -> dict[str, str]:
    owed: dict[str, int] = defaultdict(int)
    customer_id = lookups.customer_id_param(ctx)
    for event in ctx.store.find(KIND, ctx.livemode, OneOf("status", credits.OUTSTANDING)):
        if not int(event["credit_pending"]):
            continue
        if customer_id and event["payload"]["customer_id"] != customer_id:
            continue
        if ctx.param("subscription_id") and event["payload"].get("subscription_id") != ctx.param("subscription_id"):
            continue
        if ctx.param("currency_id") and event.get("currency_id") != ctx.param("currency_id"):
            continue
        owed[event["currency_id"]] += int(event["credit_pending"])
    return {currency_id: str(amount) for currency_id, amount in owed.items()}
