"""Payment methods: the rails payment currencies belong to."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..skeletons import skeleton
from . import lifecycle

__all__ = ["new_payment_method", "update_payment_method"]

KIND = "payment_method"
DEFAULT_FEATURES = {"recurring": True, "refund": True, "dispute": False}


def new_payment_method(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A new method confirms at once and supports recurring payments and refunds unless told otherwise."""
    method = ctx.stamp(
        {
            **skeleton(ctx.document, "PaymentMethod"),
            "active": body.get("active", True),
            "locked": False,
            "type": body["type"],
            "name": body["name"],
            "description": body.get("description") or "",
            "logo": body.get("logo") or "",
            "default_currency_id": body.get("default_currency_id"),
            "confirmation": body.get("confirmation") or {"type": "immediate", "block": None},
            "settings": body["settings"],
            "features": body.get("features") or DEFAULT_FEATURES,
            "metadata": body.get("metadata") or {},
        },
        "pm",
    )
    return lifecycle.added(ctx, KIND, method)


def update_payment_method(ctx: Context, method: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Every field the document lets an update send replaces the method's own."""
    method.update(body)
    return lifecycle.changed(ctx, KIND, method)
