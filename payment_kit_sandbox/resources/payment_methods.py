"""Payment methods (`/api/payment-methods`): the rails currencies belong to."""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..engine import payment_methods

KIND = "payment_method"


def expand(ctx: Context, method: dict[str, Any]) -> dict[str, Any]:
    currencies = ctx.store.find("payment_currency", ctx.livemode, payment_method_id=method["id"])
    return {**method, "object": "payment_method", "payment_currencies": currencies}


@handles("createPaymentMethod")
def create(ctx: Context) -> dict[str, Any]:
    return payment_methods.new_payment_method(ctx, ctx.body)


@handles("retrievePaymentMethod")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Payment method"))


@handles("updatePaymentMethod")
def update(ctx: Context) -> dict[str, Any]:
    return payment_methods.update_payment_method(ctx, ctx.get(KIND, ctx.path["id"], "Payment method"), ctx.body)


@handles("listPaymentMethods")
def list_(ctx: Context) -> list[dict[str, Any]]:
    return [expand(ctx, m) for m in ctx.store.all(KIND, ctx.livemode)]
