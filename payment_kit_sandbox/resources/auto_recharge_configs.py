"""Auto-recharge configs (`/api/auto-recharge-configs`): when a customer's
credit balance falls below `threshold`, buy `quantity` of a top-up price.

One config per (customer, credit currency). Reading a customer's config
creates a disabled one with default values, as PaymentKit does. Amounts
arrive as JSON numbers (PaymentKit's Node SDK types them so) and are kept
as exact decimal strings in the currency's own unit. What an enabled config
does when credit runs low is engine.auto_recharge's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine.billing import declined_reason
from ..engine.money import to_units
from ..refusals import bad_request, not_found
from ..skeletons import skeleton

KIND = "auto_recharge_config"
DEFAULT_THRESHOLD = "100"  # what PaymentKit's UI offers a new config


def _decimal(value: int | float, decimal: int, field: str) -> str:
    """A JSON number as a plain decimal string, refused if the currency cannot hold it."""
    # repr of a float is the shortest text that parses back to it: what the client sent.
    text = repr(value) if isinstance(value, float) else str(value)
    to_units(text, decimal, field)
    number = Decimal(text)
    return format(number.normalize(), "f") if number else "0"


def _credit_currency(ctx: Context, currency_id: str) -> dict[str, Any]:
    currency = lookups.referenced_currency(ctx, currency_id, "currency_id")
    if currency.get("type") != "credit":
        raise bad_request(
            f"currency_id: {currency_id} is a {currency.get('type')} currency; auto-recharge watches credit currencies"
        )
    return currency


def _payable(price: dict[str, Any], currency_id: str) -> bool:
    options = {o["currency_id"] for o in price.get("currency_options") or []}
    return currency_id == price["currency_id"] or currency_id in options


def expand(ctx: Context, config: dict[str, Any], balance: dict[str, Any] | None = None) -> dict[str, Any]:
    def get(kind: str, object_id: str | None) -> dict[str, Any] | None:
        return ctx.store.get(kind, object_id, ctx.livemode) if object_id else None

    return {
        **config,
        "currency": get("payment_currency", config["currency_id"]),
        "rechargeCurrency": get("payment_currency", config.get("recharge_currency_id")),
        "paymentMethod": get("payment_method", config.get("payment_method_id")),
        "price": get("price", config.get("price_id")),
        "customer": get("customer", config["customer_id"]),
        "balanceResult": balance,
    }


def _new(ctx: Context, customer: dict[str, Any], currency: dict[str, Any]) -> dict[str, Any]:
    """A disabled config with PaymentKit's defaults, topping up with the currency's recharge price if it has one."""
    config = ctx.stamp(
        {
            **skeleton(ctx.document, "AutoRechargeConfig"),
            "customer_id": customer["id"],
            "currency_id": currency["id"],
            "enabled": False,
            "threshold": DEFAULT_THRESHOLD,
            "price_id": (currency.get("recharge_config") or {}).get("base_price_id") or "",
            "quantity": 1,
            "daily_limits": {"max_attempts": 0, "max_amount": "0"},
            "daily_stats": {"attempt_count": 0, "total_amount": "0"},
            "metadata": {},
        },
        "arc",
    )
    return ctx.store.insert(KIND, config)


@handles("getCustomerAutoRechargeConfig")
def get_for_customer(ctx: Context) -> dict[str, Any]:
    key = ctx.path["customer_id"]
    customer = lookups.find_customer(ctx, key)
    if customer is None:
        raise not_found("Customer", key)
    currency = _credit_currency(ctx, ctx.param("currency_id"))
    config = ctx.store.first(KIND, ctx.livemode, customer_id=customer["id"], currency_id=currency["id"])
    return expand(ctx, config or _new(ctx, customer, currency))


@handles("retrieveAutoRechargeConfig")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Auto-recharge config"))


@handles("submitAutoRechargeConfig")
def submit(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    customer = lookups.referenced_customer(ctx, body["customer_id"])
    currency = _credit_currency(ctx, body["currency_id"])
    config = ctx.store.first(KIND, ctx.livemode, customer_id=customer["id"], currency_id=currency["id"])
    config = dict(config) if config is not None else _new(ctx, customer, currency)

    price = lookups.referenced_price(ctx, body["price_id"], "price_id") if "price_id" in body else None
    if price is not None:
        if not price.get("active", True):
            raise bad_request(f"price_id: price {price['id']} is archived")
        grants = ((price.get("metadata") or {}).get("credit_config") or {}).get("currency_id")
        if grants and grants != currency["id"]:
            raise bad_request(f"price_id: price {price['id']} grants credits in {grants}, not in {currency['id']}")
        config["price_id"] = price["id"]
    elif config.get("price_id"):
        price = ctx.store.get("price", config["price_id"], ctx.livemode)

    paying = _paying_currency(ctx, body, config, price)
    config["recharge_currency_id"] = paying["id"] if paying else None
    method_id = body.get("payment_method_id")
    if method_id is not None:
        if ctx.store.get("payment_method", method_id, ctx.livemode) is None:
            raise bad_request(f"payment_method_id: no payment method {method_id!r} in this mode")
        if paying is not None and paying["payment_method_id"] != method_id:
            raise bad_request(
                f"payment_method_id: {paying['id']} is paid through {paying['payment_method_id']}, not {method_id}"
            )
    config["payment_method_id"] = method_id or (paying["payment_method_id"] if paying else None)
    if config["payment_method_id"]:
        method = ctx.store.get("payment_method", config["payment_method_id"], ctx.livemode) or {}
        config["payment_settings"] = {"payment_method_types": [method.get("type")], "payment_method_options": {}}

    if "threshold" in body:
        config["threshold"] = _decimal(body["threshold"], int(currency.get("decimal") or 0), "threshold")
    if "quantity" in body:
        config["quantity"] = body["quantity"]
    limits = body.get("daily_limits") or {}
    daily = dict(config.get("daily_limits") or {"max_attempts": 0, "max_amount": "0"})
    if "max_attempts" in limits:
        daily["max_attempts"] = limits["max_attempts"]
    if "max_amount" in limits:
        scale = int((paying or currency).get("decimal") or 0)
        daily["max_amount"] = _decimal(limits["max_amount"], scale, "daily_limits.max_amount")
    config["daily_limits"] = daily
    if "enabled" in body:
        config["enabled"] = body["enabled"]
    if config["enabled"] and not config.get("price_id"):
        raise bad_request("price_id: an enabled auto-recharge needs a top-up price to buy")

    ctx.store.save(KIND, ctx.touch(config))
    # The sandbox has no wallet or card to ask: an enabled payer can cover a recharge unless the
    # customer is marked to fail payments (`/sandbox/customers/{id}/payment-failures`).
    sufficient = declined_reason(ctx, customer["id"]) is None
    balance = {"sufficient": sufficient, "payer": customer["did"]} if config["enabled"] else None
    return expand(ctx, config, balance)


def _paying_currency(
    ctx: Context, body: dict[str, Any], config: dict[str, Any], price: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The currency recharges are paid in: as given, else as before, else the price's own."""
    given = body.get("recharge_currency_id")
    if given is not None:
        paying = lookups.referenced_currency(ctx, given, "recharge_currency_id")
        if paying.get("type") == "credit":
            raise bad_request(f"recharge_currency_id: {given} is a credit currency; recharges are paid in tokens")
        if price is not None and not _payable(price, given):
            raise bad_request(f"recharge_currency_id: price {price['id']} cannot be paid in {given}")
        return paying
    kept = config.get("recharge_currency_id")
    if kept and (price is None or _payable(price, kept)):
        return ctx.store.get("payment_currency", kept, ctx.livemode)
    if price is not None:
        return ctx.store.get("payment_currency", price["currency_id"], ctx.livemode)
    return None
