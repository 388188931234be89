"""Meters (`/api/meters`): the event names usage is reported under, each
with the credit currency (`type: credit`) that its usage consumes."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import catalog
from ..engine.credits import DEFAULT_DECIMAL
from ..list_queries import filter_equal, page_of, search
from ..refusals import bad_request
from ..skeletons import skeleton

KIND = "meter"
EDITABLE = ("name", "description", "status", "metadata", "unit")


def _credit_currency(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """The currency a new meter consumes: the one named, or a new one as PaymentKit makes it."""
    if "currency_id" in body:
        currency = lookups.referenced_currency(ctx, body["currency_id"], "currency_id")
        if currency["type"] != "credit":
            raise bad_request(f"currency_id: {currency['id']} is a {currency['type']} currency, not a credit currency")
        return currency
    method_id = lookups.base_currency(ctx)["payment_method_id"]
    return catalog.new_currency(
        ctx,
        payment_method_id=method_id,
        name=body["name"],
        description=f"Credits for {body['name']}",
        symbol=body["unit"],
        decimal=body.get("decimal", DEFAULT_DECIMAL),
        maximum_precision=body.get("decimal", DEFAULT_DECIMAL),
        maximum_payment_amount="100000000000000000000",
        type="credit",
    )


@handles("createMeter")
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    clash = ctx.store.first(KIND, ctx.livemode, event_name=body["event_name"])
    if clash is not None:
        raise bad_request(f"event_name: {body['event_name']!r} is already the event name of meter {clash['id']}")
    if "currency_id" in body and "decimal" in body:
        raise bad_request("decimal: only a new credit currency takes a decimal; leave it out with currency_id")
    meter = ctx.stamp(
        {
            **skeleton(ctx.document, "Meter"),
            "object": "meter",
            "name": body["name"],
            "event_name": body["event_name"],
            "aggregation_method": body.get("aggregation_method", "sum"),
            "status": "active",
            "unit": body["unit"],
            "description": body.get("description"),
            "metadata": body.get("metadata") or {},
            "created_via": "api",
        },
        "mtr",
    )
    meter["currency_id"] = _credit_currency(ctx, body)["id"]
    ctx.store.insert(KIND, meter)
    return lookups.expand_meter(ctx, meter)


@handles("retrieveMeter")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_meter(ctx, lookups.find_meter(ctx, ctx.path["id"]))


@handles("updateMeter")
def update(ctx: Context) -> dict[str, Any]:
    meter = lookups.find_meter(ctx, ctx.path["id"])
    meter.update({k: v for k, v in ctx.body.items() if k in EDITABLE})
    return lookups.expand_meter(ctx, ctx.store.save(KIND, ctx.touch(meter)))


def _set_status(ctx: Context, status: str) -> dict[str, Any]:
    meter = lookups.find_meter(ctx, ctx.path["id"])
    if meter["status"] == status:
        raise bad_request(f"Meter {meter['id']} is already {status}")
    meter["status"] = status
    return lookups.expand_meter(ctx, ctx.store.save(KIND, ctx.touch(meter)))


@handles("activateMeter")
def activate(ctx: Context) -> dict[str, Any]:
    return _set_status(ctx, "active")


@handles("deactivateMeter")
def deactivate(ctx: Context) -> dict[str, Any]:
    return _set_status(ctx, "inactive")


@handles("listMeters")
def list_(ctx: Context) -> dict[str, Any]:
    rows = filter_equal(ctx, ctx.store.all(KIND, ctx.livemode), "event_name")
    rows = search(ctx, rows, ("id", "name", "event_name", "unit", "description"), param="q")
    return page_of(
        ctx,
        rows,
        orderable=("created_at", "updated_at", "name", "event_name"),
        expand=lambda m: lookups.expand_meter(ctx, m),
    )
