"""Credit bought with money: credit packs, subscriptions' credit schedules, and
what a refund takes back.

A price is a credit pack when its `metadata.credit_config` names a credit
currency (PaymentKit's `CreditConfig`). Paying for it grants
`credit_amount × quantity` of that currency (`credit_amount` is a human
decimal, turned into the currency's integer units), category `paid`, with the
config's `priority`, `applicable_prices` (as `applicability_config.scope.prices`)
and expiry (`valid_duration_value` × `valid_duration_unit` from the grant).

Sandbox choices where PaymentKit's material is silent:

- A grant names what paid for it in its `metadata`: `source` (`purchase`,
  `subscription_invoice`, `schedule`, `auto_recharge`), `invoice_id`,
  `price_id`, and when there is one `checkout_session_id`, `payment_link_id`,
  `subscription_id`, `payment_intent_id`. `invoice.relatedCreditGrants` reads them.
- A recurring price's config without a schedule (or with `delivery_mode`
  `invoice`) grants on every paid invoice of the subscription;
  `schedule.amount_per_grant`, when set, replaces `credit_amount × quantity`.
- `delivery_mode` `schedule` grants every `interval_value` `interval_unit`
  on the sandbox clock, from the first grant on: `immediate` (the default) at
  the subscription's start, `after_trial` when the trial ends (the start when
  there is none), `after_first_payment` when its first invoice is paid. Grants
  continue while the subscription is `active` or `trialing`; a grant that fell
  due during a clock advance is effective from the moment it fell due. Grants
  are made when the sandbox clock is advanced, a subscription starts or one of
  its invoices is paid; real time passing alone makes none.
  `max_grants_per_period` counts the grants due within the subscription's
  current billing period (the period as it stands when the grant is made).
- `expire_with_next_grant` expires what is left of the earlier grants of the
  same subscription and price when the next one is made.
- A refund of a fraction `f` of a paid invoice voids up to `f` of each grant
  that invoice bought, taken from what is still unspent (credit already used
  stays used); a grant left with nothing becomes `voided` (`voided_at`,
  `chain_detail.voided_reason` `refund`). The refund's `metadata.credit_grants_voided`
  lists `{credit_grant_id, voided_amount, spent_amount}` (integer units), so
  its answer says what happened. Whether PaymentKit voids credit on refunds
  is not established.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..context import Context
from ..refusals import bad_request
from . import credits
from .money import to_units
from .subscriptions import add_interval, ended, items_of, recurring_of

__all__ = [
    "advance_schedules",
    "credit_config",
    "deliver_due",
    "grant_for",
    "invoice_paid",
    "refund_made",
    "subscription_started",
]

_VALID_UNITS = {"hours": "hour", "days": "day", "weeks": "week", "months": "month", "years": "year"}
GRANTING = ("active", "trialing")
MAX_CATCH_UP = 1000


def credit_config(price: dict[str, Any] | None) -> dict[str, Any] | None:
    """A price's credit config, when it names a currency."""
    config = ((price or {}).get("metadata") or {}).get("credit_config")
    return config if isinstance(config, dict) and config.get("currency_id") else None


def _credit_currency(ctx: Context, config: dict[str, Any]) -> dict[str, Any] | None:
    currency = ctx.store.get("payment_currency", str(config["currency_id"]), ctx.livemode)
    return currency if currency is not None and currency.get("type") == "credit" else None


def _scheduled(config: dict[str, Any]) -> dict[str, Any] | None:
    schedule = config.get("schedule")
    return schedule if isinstance(schedule, dict) and schedule.get("enabled") else None


def pack_units(config: dict[str, Any], currency: dict[str, Any], quantity: int) -> int:
    """What one grant of this config gives, in integer units of its credit currency."""
    decimal = int(currency.get("decimal") or 0)
    per_grant = (_scheduled(config) or {}).get("amount_per_grant")
    if per_grant is not None:
        return int(to_units(str(per_grant), decimal, "credit_config.schedule.amount_per_grant"))
    return int(to_units(str(config["credit_amount"]), decimal, "credit_config.credit_amount")) * quantity


def _expiry(config: dict[str, Any], start: int) -> int | None:
    value, unit = config.get("valid_duration_value"), config.get("valid_duration_unit")
    if not value or unit not in _VALID_UNITS:
        return None
    return add_interval(start, _VALID_UNITS[unit], int(value))


def grant_for(
    ctx: Context,
    *,
    customer: dict[str, Any],
    price: dict[str, Any],
    quantity: int,
    links: dict[str, Any],
    effective_at: int | None = None,
) -> dict[str, Any] | None:
    """Grant what `quantity` of a credit-pack price gives (None when the price is no pack).
    `links` go into the grant's metadata (see the module docstring)."""
    config = credit_config(price)
    currency = _credit_currency(ctx, config) if config else None
    if config is None or currency is None:
        return None
    start = effective_at if effective_at is not None else ctx.now()
    if config.get("schedule") and (config["schedule"] or {}).get("expire_with_next_grant"):
        _expire_earlier(ctx, customer["id"], price["id"], links.get("subscription_id"))
    scope = config.get("applicable_prices")
    return credits.grant(
        ctx,
        customer=customer,
        currency=currency,
        amount=pack_units(config, currency, quantity),
        category="paid",
        name=price.get("nickname") or f"Credits from {price['id']}",
        priority=config.get("priority"),
        effective_at=start,
        expires_at=_expiry(config, start),
        applicability_config={"scope": {"prices": list(scope)}} if scope else None,
        metadata={"price_id": price["id"], **{k: v for k, v in links.items() if v is not None}},
    )


def _expire_earlier(ctx: Context, customer_id: str, price_id: str, subscription_id: str | None) -> None:
    for earlier in ctx.store.find("credit_grant", ctx.livemode, customer_id=customer_id):
        meta = earlier.get("metadata") or {}
        same = meta.get("price_id") == price_id and meta.get("subscription_id") == subscription_id
        if same and earlier["status"] in ("pending", "granted"):
            credits.expire(ctx, earlier)


# -- paid invoices ---------------------------------------------------------------------------

_SOURCES = {"auto_recharge": "auto_recharge", "manual": "purchase"}


def invoice_paid(ctx: Context, invoice: dict[str, Any]) -> None:
    """The hook on paid invoices: each credit-pack line grants its credit (a scheduled
    subscription price instead starts its timetable when it waits on the first payment)."""
    customer = ctx.store.get("customer", invoice["customer_id"], ctx.livemode)
    if customer is None:
        return
    sub = ctx.store.get("subscription", invoice.get("subscription_id") or "", ctx.livemode)
    session = ctx.store.get("checkout_session", invoice.get("checkout_session_id") or "", ctx.livemode)
    links = {
        "source": "subscription_invoice" if sub else _SOURCES.get(invoice["billing_reason"], "purchase"),
        "invoice_id": invoice["id"],
        "payment_intent_id": invoice.get("payment_intent_id"),
        "checkout_session_id": (session or {}).get("id"),
        "payment_link_id": (session or {}).get("payment_link_id"),
        "subscription_id": (sub or {}).get("id"),
    }
    for item in ctx.store.find("invoice_item", ctx.livemode, invoice_id=invoice["id"]):
        price = ctx.store.get("price", item["price_id"], ctx.livemode)
        config = credit_config(price)
        if price is None or config is None or (recurring_of(price) or {}).get("usage_type") == "metered":
            continue
        schedule = _scheduled(config)
        if schedule is not None and schedule.get("delivery_mode") == "schedule":
            if sub is not None:
                deliver_due(ctx, sub)
            continue
        grant_for(ctx, customer=customer, price=price, quantity=int(item["quantity"]), links=links)


def refund_made(ctx: Context, refund: dict[str, Any]) -> None:
    """The hook on refunds: void the refunded share of what the refunded invoice granted."""
    invoice = ctx.store.get("invoice", refund.get("invoice_id") or "", ctx.livemode)
    if invoice is None or not int(invoice.get("amount_paid") or 0):
        return
    intent = ctx.store.get("payment_intent", refund["payment_intent_id"], ctx.livemode) or {}
    paid = int(intent.get("amount_received") or invoice["amount_paid"])
    refunded_so_far = sum(
        int(r["amount"])
        for r in ctx.store.find("refund", ctx.livemode, payment_intent_id=refund["payment_intent_id"])
        if r["status"] == "succeeded" and r.get("type", "refund") == "refund"
    )
    notes = []
    for grant in ctx.store.find("credit_grant", ctx.livemode, customer_id=invoice["customer_id"]):
        meta = grant.get("metadata") or {}
        if meta.get("invoice_id") != invoice["id"] or grant["status"] in ("voided", "expired"):
            continue
        amount, remaining = int(grant["amount"]), int(grant["remaining_amount"])
        already = int(meta.get("voided_amount") or 0)
        target = amount if refunded_so_far >= paid else amount * refunded_so_far // paid
        void = max(0, min(remaining, target - already))
        grant["remaining_amount"] = str(remaining - void)
        grant["metadata"] = {**meta, "voided_amount": str(already + void)}
        if remaining - void == 0:
            grant.update(status="voided", voided_at=ctx.now(), chain_detail={"voided_reason": "refund"})
        # No event: PaymentKit's event list names none for a voided grant.
        ctx.store.save("credit_grant", ctx.touch(grant))
        notes.append(
            {
                "credit_grant_id": grant["id"],
                "voided_amount": str(void),
                "spent_amount": str(amount - remaining - already),
            }
        )
    if notes:
        refund["metadata"] = {**(refund.get("metadata") or {}), "credit_grants_voided": notes}
        ctx.store.save("refund", refund)


# -- credit schedules ------------------------------------------------------------------------


def _state_slot(ctx: Context, item_id: str) -> str:
    return f"credit_schedule:{'live' if ctx.livemode else 'test'}:{item_id}"


def _first_grant_at(ctx: Context, sub: dict[str, Any], schedule: dict[str, Any]) -> int | None:
    timing = schedule.get("first_grant_timing") or "immediate"
    if timing == "immediate":
        return int(sub["start_date"])
    if timing == "after_trial":
        if sub["status"] == "trialing":
            return None
        return int(sub.get("trial_end") or sub["start_date"])
    paid = [
        int((i.get("status_transitions") or {}).get("paid_at") or 0)
        for i in ctx.store.find("invoice", ctx.livemode, subscription_id=sub["id"])
        if i["status"] == "paid" and int(i.get("amount_paid") or 0) > 0
    ]
    return min(paid) if paid else None


def deliver_due(ctx: Context, sub: dict[str, Any]) -> int:
    """Make the scheduled grants of a subscription that have fallen due; answers how many."""
    if ended(sub) or sub["status"] not in GRANTING:
        return 0
    customer = ctx.store.get("customer", sub["customer_id"], ctx.livemode)
    if customer is None:
        return 0
    now, made = ctx.now(), 0
    for item in items_of(ctx, sub):
        price = ctx.store.get("price", item["price_id"], ctx.livemode)
        config = credit_config(price)
        schedule = _scheduled(config) if config else None
        if price is None or schedule is None or schedule.get("delivery_mode") != "schedule":
            continue
        slot = _state_slot(ctx, item["id"])
        stored = ctx.store.get_meta(slot)
        state = json.loads(stored) if stored else None
        if state is None:
            first = _first_grant_at(ctx, sub, schedule)
            if first is None:
                continue
            state = {"next_at": first, "period_start": None, "in_period": 0}
        rounds = 0
        while state["next_at"] <= now:
            rounds += 1
            if rounds > MAX_CATCH_UP:
                raise bad_request(
                    f"seconds: subscription {sub['id']} would receive more than {MAX_CATCH_UP} scheduled credit "
                    "grants in one advance; advance the clock in smaller steps"
                )
            due = int(state["next_at"])
            period = int(sub["current_period_start"]) if due >= int(sub["current_period_start"]) else 0
            if period != state["period_start"]:
                state.update(period_start=period, in_period=0)
            limit = schedule.get("max_grants_per_period")
            if not limit or state["in_period"] < int(limit):
                links = {"source": "schedule", "subscription_id": sub["id"], "subscription_item_id": item["id"]}
                quantity = int(item["quantity"])
                grant_for(ctx, customer=customer, price=price, quantity=quantity, links=links, effective_at=due)
                state["in_period"] += 1
                made += 1
            state["next_at"] = add_interval(due, str(schedule["interval_unit"]), int(schedule["interval_value"]))
        ctx.store.set_meta(slot, json.dumps(state))
    return made


def subscription_started(ctx: Context, sub: dict[str, Any]) -> None:
    """The hook on new subscriptions: an `immediate` schedule grants at once."""
    deliver_due(ctx, sub)


def advance_schedules(ctx: Context) -> dict[str, int]:
    """The clock step: scheduled credit grants that fell due, in both modes."""
    made = 0
    for livemode in (False, True):
        mode = dataclasses.replace(ctx, livemode=livemode)  # shares the request's event list
        for sub in ctx.on_this_clock(ctx.store.all("subscription", livemode)):
            made += deliver_due(mode, sub)
    return {"scheduled_credit_grants": made}
