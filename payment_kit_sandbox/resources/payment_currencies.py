"""Payment currencies (`/api/payment-currencies`): tokens and credit units."""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..engine import catalog

KIND = "payment_currency"


@handles("createPaymentCurrency")
def create(ctx: Context) -> dict[str, Any]:
    return catalog.new_payment_currency(ctx, ctx.body)


@handles("retrievePaymentCurrency")
def retrieve(ctx: Context) -> dict[str, Any]:
    currency = catalog.find_currency(ctx, ctx.path["id"])
    method = ctx.store.get("payment_method", currency["payment_method_id"], ctx.livemode)
    return {**currency, "object": "payment_currency", "paymentMethod": method}


@handles("updatePaymentCurrency")
def update(ctx: Context) -> dict[str, Any]:
    return catalog.update_currency(ctx, ctx.get(KIND, ctx.path["id"], "Payment currency"), ctx.body)


@handles("listPaymentCurrencies")
def list_(ctx: Context) -> list[dict[str, Any]]:
    return ctx.store.all(KIND, ctx.livemode)


def _checkout_url(ctx: Context, config: dict[str, Any]) -> str | None:
    """Where a customer buys the recharge pack: the payment link's page on this sandbox (a
    relative `checkout_url`, as PaymentKit's UI stores it, resolves against the sandbox)."""
    url = config.get("checkout_url")
    if url and url.startswith("/"):
        return f"{ctx.base_url}{url}"
    if url:
        return str(url)
    link_id = config.get("payment_link_id")
    return f"{ctx.base_url}/checkout/pay/{link_id}" if link_id else None


@handles("getPaymentCurrencyRechargeConfig")
def get_recharge_config(ctx: Context) -> dict[str, Any]:
    """The currency with its `recharge_config`, `checkout_url` resolved to an absolute URL
    (the answer's exact shape is not established; PaymentKit types it as the currency)."""
    currency = catalog.find_currency(ctx, ctx.path["id"])
    config = currency.get("recharge_config")
    if config:
        currency = {**currency, "recharge_config": {**config, "checkout_url": _checkout_url(ctx, config)}}
    return currency


@handles("updatePaymentCurrencyRechargeConfig")
def update_recharge_config(ctx: Context) -> dict[str, Any]:
    return catalog.set_recharge_config(ctx, ctx.get(KIND, ctx.path["id"], "Payment currency"), dict(ctx.body))


@handles("checkPaymentCurrencyRecurringSupport")
def check_recurring_support(ctx: Context) -> dict[str, Any]:
    unsupported = []
    for currency_id in ctx.body["currency_ids"]:
        currency = catalog.referenced_currency(ctx, currency_id, "currency_ids")
        method = ctx.store.get("payment_method", currency["payment_method_id"], ctx.livemode) or {}
        if not (method.get("features") or {}).get("recurring"):
            unsupported.append({"id": currency["id"], "name": currency["name"], "symbol": currency["symbol"]})
    return {"supported": not unsupported, "unsupported_currencies": unsupported}
