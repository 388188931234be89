"""Payment currencies (`/api/payment-currencies`): tokens and credit units."""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..engine import catalog
from ..engine.money import to_units
from ..refusals import bad_request

KIND = "payment_currency"


@handles("createPaymentCurrency")
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    method = ctx.store.get("payment_method", body["payment_method_id"], ctx.livemode)
    if method is None:
        raise bad_request(f"payment_method_id: no payment method {body['payment_method_id']!r} in this mode")
    symbol = body.get("symbol") or body["name"].upper()[:8]
    if ctx.store.first(KIND, ctx.livemode, symbol=symbol):
        raise bad_request(f"symbol: a currency with symbol {symbol!r} already exists")
    return catalog.new_currency(
        ctx,
        payment_method_id=method["id"],
        name=body["name"],
        description=body["description"],
        contract=body["contract"],
        logo=body.get("logo") or "",
        symbol=symbol,
        decimal=body.get("decimal", 18),
        metadata=body.get("metadata") or {},
        **_settings(body, body.get("decimal", 18)),
    )


SETTINGS = ("active", "maximum_precision", "type", "vault_config", "recharge_config", "token_config")
LIMITS = ("minimum_payment_amount", "maximum_payment_amount")


def _settings(body: dict[str, Any], decimal: int) -> dict[str, Any]:
    """The rest of what payment-js' `Partial<PaymentCurrency>` lets a create set (limits are decimals in)."""
    out = {k: body[k] for k in SETTINGS if k in body}
    out.update({k: to_units(body[k], decimal, k) for k in LIMITS if k in body})
    return out


@handles("retrievePaymentCurrency")
def retrieve(ctx: Context) -> dict[str, Any]:
    currency = catalog.find_currency(ctx, ctx.path["id"])
    method = ctx.store.get("payment_method", currency["payment_method_id"], ctx.livemode)
    return {**currency, "object": "payment_currency", "paymentMethod": method}


@handles("updatePaymentCurrency")
def update(ctx: Context) -> dict[str, Any]:
    currency = ctx.get(KIND, ctx.path["id"], "Payment currency")
    if "decimal" in ctx.body and ctx.body["decimal"] != currency["decimal"]:
        # Stored amounts are integers in the currency's smallest unit: a new scale would change them all.
        raise bad_request(f"decimal: the sandbox keeps a currency's decimal ({currency['decimal']}) once created")
    body = {k: v for k, v in ctx.body.items() if k not in LIMITS}
    currency.update({**body, **_settings({k: ctx.body[k] for k in LIMITS if k in ctx.body}, currency["decimal"])})
    return ctx.store.save(KIND, ctx.touch(currency))


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
    currency = ctx.get(KIND, ctx.path["id"], "Payment currency")
    config = dict(ctx.body)
    if ctx.store.get("price", config["base_price_id"], ctx.livemode) is None:
        raise bad_request(f"base_price_id: no price {config['base_price_id']!r} in this mode")
    link_id = config.get("payment_link_id")
    if link_id:
        link = ctx.store.get("payment_link", link_id, ctx.livemode)
        if link is None:
            raise bad_request(f"payment_link_id: no payment link {link_id!r} in this mode")
        if config["base_price_id"] not in {line["price_id"] for line in link["line_items"]}:
            raise bad_request(
                f"payment_link_id: payment link {link_id} does not sell the base price {config['base_price_id']}"
            )
    currency["recharge_config"] = config
    return ctx.store.save(KIND, ctx.touch(currency))


@handles("checkPaymentCurrencyRecurringSupport")
def check_recurring_support(ctx: Context) -> dict[str, Any]:
    unsupported = []
    for currency_id in ctx.body["currency_ids"]:
        currency = catalog.referenced_currency(ctx, currency_id, "currency_ids")
        method = ctx.store.get("payment_method", currency["payment_method_id"], ctx.livemode) or {}
        if not (method.get("features") or {}).get("recurring"):
            unsupported.append({"id": currency["id"], "name": currency["name"], "symbol": currency["symbol"]})
    return {"supported": not unsupported, "unsupported_currencies": unsupported}
