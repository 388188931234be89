"""Auto-recharge: when consumption leaves a customer's spendable credit below the
threshold of their enabled auto-recharge config, buy `quantity` of its top-up
price once, as an invoice with `billing_reason` `auto_recharge` paid from the
customer's payment method; the paid invoice grants the pack's credit through the
credit-pack hook, and that grant first settles any pending debt.

Sandbox choices where PaymentKit's material is silent:

- Spendable credit is the usable balance minus what unsettled events still
  owe; `threshold` is a human decimal of the credit currency.
- One recharge per consumption that leaves the balance below the threshold
  (a pack too small to lift it does not buy again in the same request);
  settling old debt never triggers one.
- `daily_limits.max_attempts` and `daily_limits.max_amount` (a human decimal of
  the paying currency) bound each UTC day of the sandbox clock; 0 means no
  limit (PaymentKit's defaults are 0). Failed attempts count as attempts;
  only paid ones count towards `daily_stats.total_amount`. A recharge the
  limits refuse makes no invoice and counts nothing.
- A customer marked to fail payments gets a recorded failed attempt (an open
  invoice, a payment intent with `last_payment_error`) and no credit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..context import Context
from . import billing, credits
from .credit_packs import credit_config, pack_units
from .money import from_units, to_units

__all__ = ["after_consumption", "capacity", "recharge"]

KIND = "auto_recharge_config"


def _today(ctx: Context) -> str:
    return datetime.fromtimestamp(ctx.now(), UTC).strftime("%Y-%m-%d")


def _paying_currency_id(config: dict[str, Any], price: dict[str, Any]) -> str:
    return str(config.get("recharge_currency_id") or price["currency_id"])


def _decimal_of(ctx: Context, currency_id: str) -> int:
    currency = ctx.store.get("payment_currency", currency_id, ctx.livemode) or {}
    return int(currency.get("decimal") or 0)


def _stats(ctx: Context, config: dict[str, Any]) -> dict[str, Any]:
    """Today's stats (a new day starts from zero)."""
    if config.get("last_recharge_date") != _today(ctx):
        return {"attempt_count": 0, "total_amount": "0"}
    return dict(config.get("daily_stats") or {"attempt_count": 0, "total_amount": "0"})


def _limits_left(ctx: Context, config: dict[str, Any], cost: int, paying_id: str) -> tuple[int | None, int | None]:
    """(attempts left today, units left today), None where there is no limit."""
    limits, stats = config.get("daily_limits") or {}, _stats(ctx, config)
    decimal = _decimal_of(ctx, paying_id)
    attempts = int(limits.get("max_attempts") or 0)
    amount = int(to_units(str(limits.get("max_amount") or "0"), decimal, "daily_limits.max_amount"))
    spent = int(to_units(str(stats.get("total_amount") or "0"), decimal, "daily_stats.total_amount"))
    return (
        max(0, attempts - int(stats["attempt_count"])) if attempts else None,
        max(0, amount - spent) if amount else None,
    )


def _plan(ctx: Context, config: dict[str, Any]) -> tuple[dict[str, Any], str, int, int] | None:
    """(price, paying currency, cost in its units, credit one recharge buys in units), or None when
    the config cannot buy credit."""
    price = ctx.store.get("price", config.get("price_id") or "", ctx.livemode)
    pack = credit_config(price)
    currency = ctx.store.get("payment_currency", config["currency_id"], ctx.livemode)
    if not config.get("enabled") or price is None or pack is None or currency is None:
        return None
    paying_id = _paying_currency_id(config, price)
    quantity = int(config.get("quantity") or 1)
    return price, paying_id, billing.price_amount(price, paying_id, quantity), pack_units(pack, currency, quantity)


def capacity(ctx: Context, config: dict[str, Any] | None, max_times: int | None) -> int:
    """Credit units auto-recharge could still buy today, in at most `max_times` recharges
    (None: one, the recharge a single consumption triggers)."""
    plan = _plan(ctx, config) if config else None
    if plan is None or config is None or billing.declined_reason(ctx, config["customer_id"]):
        return 0
    _, paying_id, cost, credit = plan
    times = 1 if max_times is None else max_times
    attempts, amount = _limits_left(ctx, config, cost, paying_id)
    if attempts is not None:
        times = min(times, attempts)
    if amount is not None:
        times = min(times, amount // cost if cost else times)
    return max(0, times) * credit


def after_consumption(ctx: Context, event: dict[str, Any]) -> None:
    """The hook on new meter events: recharge when the customer's spendable credit fell below the threshold."""
    customer_id, currency_id = event["payload"]["customer_id"], event["currency_id"]
    config = ctx.store.first(KIND, ctx.livemode, customer_id=customer_id, currency_id=currency_id)
    currency = ctx.store.get("payment_currency", currency_id, ctx.livemode)
    if config is None or currency is None or not config.get("enabled"):
        return
    threshold = int(to_units(str(config.get("threshold") or "0"), int(currency.get("decimal") or 0), "threshold"))
    spendable = credits.balance(ctx, customer_id, currency_id) - credits.outstanding(ctx, customer_id, currency_id)
    if spendable < threshold:
        recharge(ctx, config, trigger=event)


def recharge(ctx: Context, config: dict[str, Any], *, trigger: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """One recharge attempt within the daily limits: answers its invoice (paid, or open when the
    payment failed), or None when the limits or the config allow none."""
    plan = _plan(ctx, config)
    customer = ctx.store.get("customer", config["customer_id"], ctx.livemode)
    if plan is None or customer is None:
        return None
    price, paying_id, cost, _ = plan
    attempts, amount = _limits_left(ctx, config, cost, paying_id)
    if attempts == 0 or (amount is not None and cost > amount):
        return None
    stats = _stats(ctx, config)
    invoice = billing.create_invoice(
        ctx,
        customer=customer,
        currency_id=paying_id,
        lines=[{"price": price, "quantity": int(config.get("quantity") or 1)}],
        billing_reason="auto_recharge",
        description=f"Auto-recharge of {config['currency_id']}",
        metadata={"auto_recharge_config_id": config["id"], **({"meter_event_id": trigger["id"]} if trigger else {})},
    )
    stats["attempt_count"] = int(stats["attempt_count"]) + 1
    if billing.attempt_payment(ctx, invoice, customer):
        decimal = _decimal_of(ctx, paying_id)
        spent = Decimal(str(stats.get("total_amount") or "0")) + Decimal(from_units(cost, decimal))
        stats["total_amount"] = format(spent.normalize(), "f") if spent else "0"
    config.update(daily_stats=stats, last_recharge_date=_today(ctx))
    ctx.store.save(KIND, ctx.touch(config))
    return invoice
