"""Payment methods (`/api/payment-methods`): the rails currencies belong to."""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..skeletons import skeleton

KIND = "payment_method"
DEFAULT_FEATURES = {"recurring": True, "refund": True, "dispute": False}


def expand(ctx: Context, method: dict[str, Any]) -> dict[str, Any]:
    currencies = ctx.store.find("payment_currency", ctx.livemode, payment_method_id=method["id"])
    return {**method, "object": "payment_method", "payment_currencies": currencies}


@handles("createPaymentMethod")
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
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
    return ctx.store.insert(KIND, method)


@handles("retrievePaymentMethod")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Payment method"))


@handles("updatePaymentMethod")
def update(ctx: Context) -> dict[str, Any]:
    method = ctx.get(KIND, ctx.path["id"], "Payment method")
    method.update(ctx.body)
    return ctx.store.save(KIND, ctx.touch(method))


@handles("listPaymentMethods")
def list_(ctx: Context) -> list[dict[str, Any]]:
    return [expand(ctx, m) for m in ctx.store.all(KIND, ctx.livemode)]
