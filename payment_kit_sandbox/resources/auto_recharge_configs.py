"""Auto-recharge configs (`/api/auto-recharge-configs`): when a customer's
credit balance falls below `threshold`, buy `quantity` of a top-up price.

One config per (customer, credit currency). Reading a customer's config
creates a disabled one with default values, as PaymentKit does. Amounts
arrive as JSON numbers (PaymentKit's Node SDK types them so) and are kept
as exact decimal strings in the currency's own unit. What an enabled config
does when credit runs low is engine.auto_recharge's.
"""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import auto_recharge
from ..engine.billing import declined_reason
from ..refusals import bad_request, not_found

KIND = "auto_recharge_config"


def _credit_currency(ctx: Context, currency_id: str) -> dict[str, Any]:
    currency = lookups.referenced_currency(ctx, currency_id, "currency_id")
    if currency.get("type") != "credit":
        raise bad_request(
            f"currency_id: {currency_id} is a {currency.get('type')} currency; auto-recharge watches credit currencies"
        )
    return currency


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


@handles("getCustomerAutoRechargeConfig")
def get_for_customer(ctx: Context) -> dict[str, Any]:
    key = ctx.path["customer_id"]
    customer = lookups.find_customer(ctx, key)
    if customer is None:
        raise not_found("Customer", key)
    currency = _credit_currency(ctx, ctx.param("currency_id"))
    return expand(ctx, auto_recharge.config_for(ctx, customer, currency))


@handles("retrieveAutoRechargeConfig")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Auto-recharge config"))


@handles("submitAutoRechargeConfig")
def submit(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    customer = lookups.referenced_customer(ctx, body["customer_id"])
    currency = _credit_currency(ctx, body["currency_id"])
    config = auto_recharge.submit_config(ctx, customer, currency, body)
    # The sandbox has no wallet or card to ask: an enabled payer can cover a recharge unless the
    # customer is marked to fail payments (`/sandbox/customers/{id}/payment-failures`).
    sufficient = declined_reason(ctx, customer["id"]) is None
    balance = {"sufficient": sufficient, "payer": customer["did"]} if config["enabled"] else None
    return expand(ctx, config, balance)
