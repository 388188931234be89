"""Meters: the event names usage is reported under, each consuming one credit
currency (`type: credit`), named or made for the meter as PaymentKit makes it."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import lifecycle
from .catalog import base_currency, new_currency, referenced_currency
from .credits import DEFAULT_DECIMAL

__all__ = ["new_meter", "set_meter_status", "update_meter"]

KIND = "meter"
EDITABLE = ("name", "description", "status", "metadata", "unit")


def _credit_currency(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A meter consumes a credit currency: the one named, or a new one as PaymentKit makes it."""
    if "currency_id" in body:
        currency = referenced_currency(ctx, body["currency_id"], "currency_id")
        if currency["type"] != "credit":
            raise bad_request(f"currency_id: {currency['id']} is a {currency['type']} currency, not a credit currency")
        return currency
    return new_currency(
        ctx,
        payment_method_id=base_currency(ctx)["payment_method_id"],
        name=body["name"],
        description=f"Credits for {body['name']}",
        symbol=body["unit"],
        decimal=body.get("decimal", DEFAULT_DECIMAL),
        maximum_precision=body.get("decimal", DEFAULT_DECIMAL),
        maximum_payment_amount="100000000000000000000",
        type="credit",
    )


def new_meter(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """An event name belongs to one meter of a mode; only a new credit currency takes a decimal."""
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
    return lifecycle.added(ctx, KIND, meter)


def update_meter(ctx: Context, meter: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A meter's labels and status change; its event name and currency stay."""
    meter.update({k: v for k, v in body.items() if k in EDITABLE})
    return lifecycle.changed(ctx, KIND, meter)


def set_meter_status(ctx: Context, meter: dict[str, Any], status: str) -> dict[str, Any]:
    """Activating an active meter (or deactivating an inactive one) is a 400."""
    if meter["status"] == status:
        raise bad_request(f"Meter {meter['id']} is already {status}")
    meter["status"] = status
    return lifecycle.changed(ctx, KIND, meter)
