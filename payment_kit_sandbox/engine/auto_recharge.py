"""Auto-recharge: when consumption leaves a customer's spendable credit below the
threshold of their enabled auto-recharge config, buy `quantity` of its top-up
price once, as an invoice with `billing_reason` `auto_recharge` paid from the
customer's payment method; the paid invoice grants the pack's credit through the
credit-pack hook, and that grant first settles any pending debt.

Sandbox choices where PaymentKit's material is silent:

- The config's `threshold` is the customer's "low-balance threshold" (PaymentKit's credit top-up
  guide): a consumption that takes spendable credit from at or above it to below it emits
  `customer.credit.low_balance` (its object the customer), whether or not auto-recharge is
  enabled, once per crossing (usage while already below says nothing new); then an enabled
  config recharges.

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
from typing import Any

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import billing, credits, lifecycle
from .catalog import referenced_currency, referenced_price
from .credit_packs import credit_config, pack_units
from .money import from_units, plain_amount, to_units

__all__ = ["after_consumption", "availability", "capacity", "config_for", "recharge", "submit_config"]

KIND = "auto_recharge_config"
DEFAULT_THRESHOLD = "100"  # what PaymentKit's UI offers a new config


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
    """The hook on new meter events: when the customer's spendable credit fell below the threshold,
    say so (`customer.credit.low_balance`, once per crossing) and recharge if the config is enabled."""
    customer_id, currency_id = event["payload"]["customer_id"], event["currency_id"]
    config = ctx.store.first(KIND, ctx.livemode, customer_id=customer_id, currency_id=currency_id)
    currency = ctx.store.get("payment_currency", currency_id, ctx.livemode)
    if config is None or currency is None:
        return
    threshold = int(to_units(str(config.get("threshold") or "0"), int(currency.get("decimal") or 0), "threshold"))
    spendable = credits.balance(ctx, customer_id, currency_id) - credits.outstanding(ctx, customer_id, currency_id)
    # The event's whole value left the spendable balance: drawn from grants, or owed.
    before = spendable + int(event["credit_pending"])
    if before >= threshold > spendable:
        customer = ctx.store.get("customer", customer_id, ctx.livemode)
        if customer is not None:
            ctx.emit("customer.credit.low_balance", "customer", customer)
    if spendable < threshold and config.get("enabled"):
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
        spent = int(to_units(str(stats.get("total_amount") or "0"), decimal, "daily_stats.total_amount")) + cost
        stats["total_amount"] = from_units(spent, decimal)
    config.update(daily_stats=stats, last_recharge_date=_today(ctx))
    ctx.store.save(KIND, ctx.touch(config))
    return invoice


# -- the config itself ----------------------------------------------------------------------------


def _decimal(value: int | float, decimal: int, field: str) -> str:
    """A JSON number as a plain decimal string, refused if the currency cannot hold it."""
    to_units(value, decimal, field)
    return plain_amount(value, field)


def _payable(price: dict[str, Any], currency_id: str) -> bool:
    options = {o["currency_id"] for o in price.get("currency_options") or []}
    return currency_id == price["currency_id"] or currency_id in options


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
    return lifecycle.added(ctx, KIND, config)


def config_for(ctx: Context, customer: dict[str, Any], currency: dict[str, Any]) -> dict[str, Any]:
    """One config per (customer, credit currency): reading a missing one creates it disabled, as PaymentKit does."""
    config = ctx.store.first(KIND, ctx.livemode, customer_id=customer["id"], currency_id=currency["id"])
    return config or _new(ctx, customer, currency)


def submit_config(
    ctx: Context, customer: dict[str, Any], currency: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """A config buys an active price granting its currency, paid in a token the price and method accept."""
    config = ctx.store.first(KIND, ctx.livemode, customer_id=customer["id"], currency_id=currency["id"])
    config = dict(config) if config is not None else _new(ctx, customer, currency)

    price = referenced_price(ctx, body["price_id"], "price_id") if "price_id" in body else None
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

    return lifecycle.changed(ctx, KIND, config)


def _paying_currency(
    ctx: Context, body: dict[str, Any], config: dict[str, Any], price: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The currency recharges are paid in: as given, else as before, else the price's own."""
    given = body.get("recharge_currency_id")
    if given is not None:
        paying = referenced_currency(ctx, given, "recharge_currency_id")
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


def availability(
    ctx: Context,
    customer: dict[str, Any],
    currency: dict[str, Any],
    *,
    pending_amount: Any,
    max_pending_amount: Any,
    max_recharge_times: int | None,
) -> dict[str, Any]:
    """Usage may go on while credit, plus what auto-recharge could buy, covers what is owed (or the debt tolerated)."""
    extra = int(pending_amount or 0)
    tolerated = max_pending_amount
    if extra < 0 or (tolerated is not None and int(tolerated) < 0):
        raise bad_request("pending_amount and max_pending_amount must not be negative")
    left = credits.balance(ctx, customer["id"], currency["id"])
    owed = credits.outstanding(ctx, customer["id"], currency["id"]) + extra
    # With a pending_amount to cover, exactly enough is enough; with none, something must be left.
    if left > owed or (extra and left == owed):
        return {"can_continue": True, "reason": None}
    if tolerated is not None and owed - left <= int(tolerated):
        return {"can_continue": True, "reason": None}
    config = ctx.store.first(KIND, ctx.livemode, customer_id=customer["id"], currency_id=currency["id"])
    bought = capacity(ctx, config, max_recharge_times)
    if bought and (left + bought > owed or (extra and left + bought == owed)):
        return {"can_continue": True, "reason": None}
    if tolerated is not None and owed - left - bought <= int(tolerated):
        return {"can_continue": True, "reason": None}
    could = f"; auto-recharge could buy {bought} more" if bought else ""
    return {
        "can_continue": False,
        "reason": f"insufficient credit: {left} units of {currency['id']} left, {owed} needed by pending usage{could}",
    }
