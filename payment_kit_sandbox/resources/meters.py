"""Meters (`/api/meters`): the event names usage is reported under, each
with the credit currency (`type: credit`) that its usage consumes."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import meters
from ..list_queries import equal_params, search_keep, stored_page

KIND = "meter"


@handles("createMeter")
def create(ctx: Context) -> dict[str, Any]:
    return lookups.expand_meter(ctx, meters.new_meter(ctx, ctx.body))


@handles("retrieveMeter")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_meter(ctx, lookups.find_meter(ctx, ctx.path["id"]))


@handles("updateMeter")
def update(ctx: Context) -> dict[str, Any]:
    meter = lookups.find_meter(ctx, ctx.path["id"])
    return lookups.expand_meter(ctx, meters.update_meter(ctx, meter, ctx.body))


def _set_status(ctx: Context, status: str) -> dict[str, Any]:
    meter = lookups.find_meter(ctx, ctx.path["id"])
    return lookups.expand_meter(ctx, meters.set_meter_status(ctx, meter, status))


@handles("activateMeter")
def activate(ctx: Context) -> dict[str, Any]:
    return _set_status(ctx, "active")


@handles("deactivateMeter")
def deactivate(ctx: Context) -> dict[str, Any]:
    return _set_status(ctx, "inactive")


@handles("listMeters")
def list_(ctx: Context) -> dict[str, Any]:
    fields = ("id", "name", "event_name", "unit", "description")
    return stored_page(
        ctx,
        KIND,
        orderable=("created_at", "updated_at", "name", "event_name"),
        expand=lambda m: lookups.expand_meter(ctx, m),
        keep=search_keep(ctx, fields, param="q"),
        **equal_params(ctx, "event_name"),
    )
