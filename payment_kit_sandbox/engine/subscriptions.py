"""Subscriptions over time: starting one, billing its periods, ending it.

A subscription's periods follow its first recurring price's interval,
counted from `billing_cycle_anchor` (so a month starting on the 31st keeps
ending on the last day of shorter months instead of drifting). Licensed
items are billed at the start of each period, metered items at its end
from the usage reported during it: usage records aggregated per the price's
`recurring.aggregate_usage`, plus meter events naming the subscription under
the meter the price names in `metadata.meter_id` (per the meter's
`aggregation_method`; those events draw no credit, see engine.credits). The clock step below moves every subscription
whose period, trial, scheduled cancellation or pause has run out.
"""

from __future__ import annotations

import calendar
import copy
import math
import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, NoReturn

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import billing
from .catalog import meter_id_of, referenced_currency, referenced_price
from .customers import referenced_customer
from .money import exact_arithmetic, round_half_up
from .refunds import refund_payment

__all__ = [
    "GOOD_STANDING",
    "aggregate",
    "as_number",
    "cancel",
    "cancel_now",
    "check_payment_method",
    "collect",
    "delete_subscription",
    "drop_item",
    "emit",
    "ended",
    "invoice_paid",
    "is_metered",
    "items_of",
    "lock_price",
    "merge_metadata",
    "meter_usage",
    "new_item",
    "new_subscription",
    "pause",
    "period_end_after",
    "recover",
    "recurring_of",
    "refund_on_cancel",
    "refuse_if_ended",
    "renew",
    "resume",
    "resume_paused",
    "return_stake",
    "save_changed",
    "start_subscription",
    "update_subscription",
    "usable_price",
]

GOOD_STANDING = ("active", "trialing")
ENDED = ("canceled", "incomplete_expired")
# What a subscription that has ended can still have changed: labels, not billing.
CHANGEABLE_WHEN_ENDED = ("description", "metadata", "service_actions")
DAY = 86400
# One clock advance renews a subscription at most this often: beyond it the request would run for
# minutes (an hourly plan over years), so the advance is refused and can be made in smaller steps.
MAX_RENEWALS = 1000
_FIXED = {"hour": 3600, "day": DAY, "week": 7 * DAY}


# -- periods ----------------------------------------------------------------------------------


def add_interval(ts: int, interval: str, count: int) -> int:
    if interval in _FIXED:
        return ts + _FIXED[interval] * count
    try:
        moment = datetime.fromtimestamp(ts, UTC)
        months = count * (12 if interval == "year" else 1)
        year, month0 = divmod(moment.month - 1 + months, 12)
        year += moment.year
        day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
        return int(moment.replace(year=year, month=month0 + 1, day=day).timestamp())
    except (ValueError, OverflowError, OSError):
        raise bad_request(
            f"a billing period from {ts} reaches past the year 9999, which the sandbox cannot date"
        ) from None


def period_end_after(anchor: int, start: int, recurring: dict[str, Any]) -> int:
    """The first billing boundary (anchor + k intervals, k ≥ 0) strictly after `start`."""
    if anchor > start:
        return anchor
    interval, count = recurring["interval"], int(recurring.get("interval_count") or 1)
    if interval in _FIXED:
        length = _FIXED[interval] * count
        return anchor + ((start - anchor) // length + 1) * length
    k = 1
    while (end := add_interval(anchor, interval, count * k)) <= start:
        k += 1
    return end


# -- items and prices ---------------------------------------------------------------------------


def recurring_of(price: dict[str, Any]) -> dict[str, Any] | None:
    return price.get("recurring") if price.get("type") == "recurring" else None


def is_metered(price: dict[str, Any]) -> bool:
    return (recurring_of(price) or {}).get("usage_type") == "metered"


def items_of(ctx: Context, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    return ctx.store.find("subscription_item", ctx.livemode, subscription_id=subscription["id"])


def _price(ctx: Context, item: dict[str, Any]) -> dict[str, Any] | None:
    return ctx.store.get("price", item["price_id"], ctx.livemode)


def lock_price(ctx: Context, price: dict[str, Any]) -> None:
    """A price a subscription bills can no longer change its amount (PaymentKit's `locked`)."""
    if not price.get("locked"):
        price["locked"] = True
        ctx.store.save("price", price)


def new_item(
    ctx: Context,
    subscription: dict[str, Any],
    price: dict[str, Any],
    quantity: int,
    metadata: dict[str, Any] | None = None,
    billing_thresholds: dict[str, Any] | None = None,
) -> dict[str, Any]:
    item = ctx.stamp(
        {
            **skeleton(ctx.document, "SubscriptionItem"),
            "subscription_id": subscription["id"],
            "price_id": price["id"],
            "quantity": quantity,
            "metadata": metadata or {},
            "billing_thresholds": billing_thresholds,
        },
        "si",
    )
    lock_price(ctx, price)
    return ctx.store.insert("subscription_item", item)


def as_number(value: Decimal) -> int | float:
    """Usage as JSON wants it: an int when whole (usage is a count, not money)."""
    return int(value) if value == value.to_integral_value() else float(value)


def aggregate(ctx: Context, item: dict[str, Any], price: dict[str, Any], start: int, end: int) -> Decimal:
    """The usage of [start, end) for an item, per `recurring.aggregate_usage` (sum when unset)."""
    how = (recurring_of(price) or {}).get("aggregate_usage") or "sum"
    records = ctx.store.find("usage_record", ctx.livemode, subscription_item_id=item["id"])
    if how == "last_ever":
        inside = [r for r in records if r["timestamp"] < end]
    else:
        inside = [r for r in records if start <= r["timestamp"] < end]
    if not inside:
        return Decimal(0)
    values = [Decimal(str(r["quantity"])) for r in inside]
    if how == "sum":
        with exact_arithmetic():
            return sum(values, Decimal(0))
    if how == "max":
        return max(values)
    # Records come oldest first; the latest timestamp wins, the latest written among equals.
    latest = max(range(len(inside)), key=lambda i: (inside[i]["timestamp"], i))
    return values[latest]


def meter_usage(ctx: Context, sub: dict[str, Any], price: dict[str, Any], start: int, end: int) -> Decimal:
    """Usage of [start, end) reported as meter events for this subscription, when the metered
    price is tied to a meter (`recurring.meter_id` or `metadata.meter_id`), per the meter's `aggregation_method`:
    `sum` adds the values, `count` counts the events, `last` takes the latest value."""
    meter = ctx.store.get("meter", meter_id_of(price) or "", ctx.livemode)
    if meter is None:
        return Decimal(0)
    events = [
        e
        for e in ctx.store.find("meter_event", ctx.livemode, event_name=meter["event_name"])
        if e["payload"].get("subscription_id") == sub["id"]
        and start <= e["timestamp"] < end
        and e["status"] != "canceled"
    ]
    if not events:
        return Decimal(0)
    how = meter.get("aggregation_method") or "sum"
    if how == "count":
        return Decimal(len(events))
    if how == "last":
        return Decimal(str(max(events, key=lambda e: e["timestamp"])["payload"]["value"]))
    with exact_arithmetic():
        return sum((Decimal(str(e["payload"]["value"])) for e in events), Decimal(0))


def _billed_units(price: dict[str, Any], quantity: Decimal) -> int:
    transform = price.get("transform_quantity")
    if transform:
        share = Fraction(quantity) / int(transform["divide_by"])
        return math.ceil(share) if transform.get("round") == "up" else math.floor(share)
    return math.ceil(quantity)


def _line(
    price: dict[str, Any], currency_id: str, quantity: Decimal, item: dict[str, Any], period: tuple[int, int]
) -> billing.Line:
    units = _billed_units(price, quantity)
    line: billing.Line = {
        "price": price,
        "quantity": units,
        "subscription_item_id": item["id"],
        "period": {"start": period[0], "end": period[1]},
    }
    # Fractional usage of a per-unit price is billed exactly (rounded to the smallest unit), not per whole unit.
    if price.get("billing_scheme") != "tiered" and not price.get("transform_quantity") and units != quantity:
        unit = billing.price_amount(price, currency_id, 1)
        line["amount"] = round_half_up(unit * Fraction(quantity))
    return line


def _licensed_lines(ctx: Context, sub: dict[str, Any], period: tuple[int, int]) -> list[billing.Line]:
    lines = []
    for item in items_of(ctx, sub):
        price = _price(ctx, item)
        if price is not None and not is_metered(price):
            lines.append(_line(price, sub["currency_id"], Decimal(item["quantity"]), item, period))
    return lines


def _metered_lines(ctx: Context, sub: dict[str, Any], period: tuple[int, int]) -> list[billing.Line]:
    """The usage of a finished period, one line per metered item (zero usage included); marks it billed."""
    lines = []
    for item in items_of(ctx, sub):
        price = _price(ctx, item)
        if price is None or not is_metered(price):
            continue
        # Usage records on the item and meter events for the subscription both count.
        used = aggregate(ctx, item, price, *period) + meter_usage(ctx, sub, price, *period)
        lines.append(_line(price, sub["currency_id"], used, item, period))
        for record in ctx.store.find("usage_record", ctx.livemode, subscription_item_id=item["id"]):
            if period[0] <= record["timestamp"] < period[1] and not record["billed"]:
                record["billed"] = True
                ctx.store.save("usage_record", ctx.touch(record))
    return lines


# -- events and collection ------------------------------------------------------------------------


def emit(ctx: Context, event: str, sub: dict[str, Any]) -> None:
    # A copy: later changes in the same request must not rewrite what the event said.
    ctx.emit(f"customer.subscription.{event}", "subscription", copy.deepcopy(sub))


def save_changed(ctx: Context, sub: dict[str, Any], *events: str) -> dict[str, Any]:
    """A changed subscription is announced by `events` in order, as it stood before this change's stamp, then saved."""
    for event in events:
        emit(ctx, event, sub)
    return ctx.store.save("subscription", ctx.touch(sub))


def _customer(ctx: Context, sub: dict[str, Any]) -> dict[str, Any]:
    return ctx.store.get("customer", sub["customer_id"], ctx.livemode) or {
        **skeleton(ctx.document, "Customer"),
        "id": sub["customer_id"],
    }


def _bill(
    ctx: Context,
    sub: dict[str, Any],
    lines: list[billing.Line],
    reason: str,
    period: tuple[int, int],
    *,
    paid_already: bool = False,
    checkout_session_id: str | None = None,
    discount: int = 0,
) -> tuple[dict[str, Any], bool]:
    """Invoice the lines and collect them when the subscription can be charged. Answers (invoice, paid)."""
    customer = _customer(ctx, sub)
    due = None
    if sub["collection_method"] == "send_invoice":
        due = ctx.now() + DAY * int(sub["days_until_due"] if sub.get("days_until_due") is not None else 30)
    invoice = billing.create_invoice(
        ctx,
        customer=customer,
        currency_id=sub["currency_id"],
        lines=lines,
        billing_reason=reason,
        subscription=sub,
        checkout_session_id=checkout_session_id,
        period=period,
        description=sub.get("description"),
        due_date=due,
        discount=discount,
    )
    sub["latest_invoice_id"] = invoice["id"]
    if paid_already:
        billing.pay_invoice(ctx, invoice, customer)
        return invoice, True
    # A customer marked to fail payments leaves the invoice open (the subscription then goes past due).
    return invoice, collect(sub) and billing.attempt_payment(ctx, invoice, customer)


def _session_discount(checkout_session: dict[str, Any] | str | None) -> int:
    if not isinstance(checkout_session, dict):
        return 0
    return int((checkout_session.get("total_details") or {}).get("amount_discount") or 0)


def collect(sub: dict[str, Any]) -> bool:
    """Whether the sandbox charges this subscription by itself: automatic collection with a payment method
    (a wallet that has approved recurring payments always pays in the sandbox)."""
    return sub["collection_method"] == "charge_automatically" and bool(sub.get("default_payment_method_id"))


# -- starting ---------------------------------------------------------------------------------


def start_subscription(
    ctx: Context,
    *,
    customer: dict[str, Any],
    currency_id: str,
    items: list[dict[str, Any]],
    trial_period_days: int = 0,
    trial_end: int | None = None,
    collection_method: str = "charge_automatically",
    default_payment_method_id: str | None = None,
    days_until_due: int | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    service_actions: list[dict[str, Any]] | None = None,
    checkout_session: dict[str, Any] | str | None = None,
    days_until_cancel: int | None = None,
    billing_cycle_anchor: int | None = None,
    proration_behavior: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A new subscription with its items, `trialing` or `active`; outside a trial, its first invoice.

    `items` are `{"price": <stored price>, "quantity": int, "metadata"?: dict}`. The first invoice
    is paid when the subscription came from a checkout session (the customer just paid) or can be
    charged automatically; otherwise it stays open for the customer to pay.
    """
    recurring = next((recurring_of(i["price"]) for i in items if recurring_of(i["price"])), None)
    if recurring is None:
        raise bad_request("items: a subscription needs at least one recurring price")
    now = ctx.now()
    if trial_end is None and trial_period_days:
        trial_end = now + DAY * int(trial_period_days)
    trialing = trial_end is not None and trial_end > now
    anchor = trial_end if trialing else (billing_cycle_anchor or now)
    assert anchor is not None
    session_id = checkout_session.get("id") if isinstance(checkout_session, dict) else checkout_session
    if session_id and not default_payment_method_id:
        # The wallet that paid the checkout approved the recurring payments: renewals charge it.
        default_payment_method_id = billing.method_of(ctx, currency_id).get("id")
    sub = ctx.stamp(
        {
            **skeleton(ctx.document, "Subscription"),
            "status": "trialing" if trialing else "active",
            "currency_id": currency_id,
            "customer_id": customer["id"],
            "default_payment_method_id": default_payment_method_id,
            "description": description,
            "metadata": metadata or {},
            "collection_method": collection_method,
            "days_until_due": days_until_due,
            "days_until_cancel": days_until_cancel,
            "proration_behavior": proration_behavior,
            "service_actions": service_actions,
            "billing_cycle_anchor": anchor,
            "pending_invoice_item_interval": {
                "interval": recurring["interval"],
                "interval_count": int(recurring.get("interval_count") or 1),
            },
            "start_date": now,
            "current_period_start": now,
            "current_period_end": anchor if trialing else period_end_after(anchor, now, recurring),
            "trial_start": now if trialing else None,
            "trial_end": trial_end if trialing else None,
        },
        "sub",
    )
    ctx.store.insert("subscription", sub)
    for entry in items:
        new_item(ctx, sub, entry["price"], int(entry.get("quantity", 1)), entry.get("metadata"))
    invoice = None
    if not trialing:
        period = (sub["current_period_start"], sub["current_period_end"])
        invoice, _ = _bill(
            ctx,
            sub,
            _licensed_lines(ctx, sub, period),
            "subscription_create",
            period,
            paid_already=bool(session_id),
            checkout_session_id=session_id,
            # The first invoice carries the discount the checkout session showed the payer.
            discount=_session_discount(checkout_session),
        )
    ctx.store.save("subscription", sub)
    emit(ctx, "created", sub)
    emit(ctx, "trial_start" if trialing else "started", sub)
    for hook in ctx.wiring.on_subscription_started:
        hook(ctx, sub)
    return sub, invoice


# -- what a subscription can take ------------------------------------------------------------


def _every(recurring: dict[str, Any]) -> str:
    count = int(recurring.get("interval_count") or 1)
    return f"every {count} {recurring['interval']}{'s' if count > 1 else ''}"


def usable_price(
    ctx: Context,
    price_id: str,
    field: str,
    *,
    currency_id: str | None = None,
    recurring: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A price a subscription can bill: it exists in this mode, is active and recurring, has an amount
    in the subscription's currency, and bills on the subscription's interval."""
    price = referenced_price(ctx, price_id, field)
    if not price.get("active"):
        raise bad_request(f"{field}: price {price['id']} is archived")
    own = recurring_of(price)
    if own is None:
        raise bad_request(f"{field}: price {price['id']} is not recurring (type {price.get('type')})")
    if recurring is not None and (own["interval"], int(own.get("interval_count") or 1)) != (
        recurring["interval"],
        int(recurring.get("interval_count") or 1),
    ):
        raise bad_request(
            f"{field}: price {price['id']} bills {_every(own)}, but the subscription bills {_every(recurring)}"
        )
    if currency_id is not None:
        priced_in = {price["currency_id"], *(o["currency_id"] for o in price.get("currency_options") or [])}
        if currency_id not in priced_in:
            raise bad_request(f"{field}: price {price['id']} has no amount in currency {currency_id}")
    return price


def ended(sub: dict[str, Any]) -> bool:
    return sub["status"] in ENDED


def refuse_if_ended(sub: dict[str, Any], what: str) -> None:
    if ended(sub):
        raise bad_request(f"Subscription {sub['id']} is {sub['status']}: {what}")


def merge_metadata(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Keys merge in; a key sent as null or "" is removed."""
    merged = {**(old or {}), **new}
    return {k: v for k, v in merged.items() if v is not None and v != ""}


# -- moving through time ----------------------------------------------------------------------------


def renew(ctx: Context, sub: dict[str, Any], start: int) -> dict[str, Any]:
    """Start the period beginning at `start`: bill the finished period's usage and the new period's
    licensed items, then settle the status on whether that was paid. Answers the invoice."""
    ended = (sub["current_period_start"], min(sub["current_period_end"], start))
    was_trial = sub["status"] == "trialing"
    recurring = sub["pending_invoice_item_interval"]
    sub["current_period_start"] = start
    sub["current_period_end"] = period_end_after(sub["billing_cycle_anchor"], start, recurring)
    period = (start, sub["current_period_end"])
    # Usage reported during a free trial is not charged.
    usage = [] if was_trial else _metered_lines(ctx, sub, ended)
    invoice, paid = _bill(ctx, sub, usage + _licensed_lines(ctx, sub, period), "subscription_cycle", period)
    was = sub["status"]
    if paid or sub["collection_method"] == "send_invoice":
        sub["status"] = "active"
        if was_trial:
            emit(ctx, "trial_end", sub)
            emit(ctx, "started", sub)
        emit(ctx, "renewed", sub)
    else:
        sub["status"] = "past_due"
        emit(ctx, "renew_failed", sub)
        if was != "past_due":
            emit(ctx, "past_due", sub)
    save_changed(ctx, sub, "updated")
    return invoice


def cancel_now(ctx: Context, sub: dict[str, Any], at: int, details: dict[str, Any] | None = None) -> None:
    """End the subscription at `at`: bill the usage of the unfinished period, then mark it canceled."""
    period = (sub["current_period_start"], max(sub["current_period_start"], at))
    if sub["status"] != "trialing":
        usage = _metered_lines(ctx, sub, period)
        if any(int(line.get("amount", 0)) or line["quantity"] for line in usage):
            _bill(ctx, sub, usage, "subscription_cancel", period)
    sub.update(status="canceled", canceled_at=at, ended_at=at, cancel_at=at, pause_collection=None)
    if details is not None:
        sub["cancelation_details"] = details
    ctx.store.save("subscription", ctx.touch(sub))
    emit(ctx, "deleted", sub)


def refund_on_cancel(ctx: Context, sub: dict[str, Any], how: str, now: int, who: str) -> None:
    """Cancelling with `refund=last` gives back the last payment; `proration` the part of it that paid for
    the unused rest of its period (rounded down to the smallest unit). `who` says who asked."""
    paid = [
        i
        for i in ctx.store.find("invoice", ctx.livemode, subscription_id=sub["id"])
        if i["status"] == "paid" and i.get("payment_intent_id")
    ]
    if not paid:
        return
    invoice = paid[-1]
    intent = ctx.store.get("payment_intent", invoice["payment_intent_id"], ctx.livemode)
    if intent is None:
        return
    amount = int(intent.get("amount_received") or 0)
    if how == "proration":
        start, end = int(invoice["period_start"]), int(invoice["period_end"])
        unused = max(0, end - max(now, start))
        amount = amount * unused // (end - start) if end > start else 0
    if amount > 0:
        reason = "requested_by_customer" if who == "customer" else "requested_by_admin"
        refund_payment(ctx, intent, amount, field="refund", reason=reason, description=f"Canceled {sub['id']}")


def resume(ctx: Context, sub: dict[str, Any], at: int) -> None:
    """End a pause. A period that ran out while paused is not billed after the fact: a fresh one starts now."""
    trialing = bool(sub.get("trial_end")) and sub["trial_end"] > at
    sub["status"] = "trialing" if trialing else "active"
    sub["pause_collection"] = None
    emit(ctx, "resumed", sub)
    if sub["current_period_end"] <= at:
        sub["billing_cycle_anchor"] = at
        sub["current_period_end"] = at  # so the finished period's usage is billed up to now
        renew(ctx, sub, at)
    else:
        save_changed(ctx, sub, "updated")


def invoice_paid(ctx: Context, invoice: dict[str, Any]) -> None:
    """For the invoices area: a paid invoice settles a `past_due` subscription when nothing else is owed."""
    sub = ctx.store.get("subscription", invoice.get("subscription_id") or "", ctx.livemode)
    if sub is None or sub["status"] != "past_due":
        return
    owed = [
        i
        for i in ctx.store.find("invoice", ctx.livemode, subscription_id=sub["id"])
        if i["status"] == "open" and i["id"] != invoice["id"]
    ]
    if not owed:
        sub["status"] = "active"
        save_changed(ctx, sub, "updated")


def _oldest_unpaid(ctx: Context, sub: dict[str, Any]) -> int | None:
    times = [
        int((i.get("status_transitions") or {}).get("finalized_at") or 0)
        for i in ctx.store.find("invoice", ctx.livemode, subscription_id=sub["id"])
        if i["status"] == "open"
    ]
    return min(times) if times else None


def _advance(ctx: Context, sub: dict[str, Any], now: int, summary: dict[str, int]) -> None:
    pause = sub.get("pause_collection") or {}
    if sub["status"] == "paused" and pause.get("resumes_at") and pause["resumes_at"] <= now:
        resume(ctx, sub, pause["resumes_at"])
        summary["subscriptions_resumed"] += 1
    renewals = 0
    while sub["status"] not in ENDED:
        cancel_at = sub.get("cancel_at")
        if cancel_at and cancel_at <= now and cancel_at <= sub["current_period_end"]:
            cancel_now(ctx, sub, cancel_at)
            summary["subscriptions_canceled"] += 1
            return
        if sub["status"] == "past_due" and sub.get("days_until_cancel") is not None:
            since = _oldest_unpaid(ctx, sub)
            if since is not None and since + DAY * int(sub["days_until_cancel"]) <= now:
                details = {"comment": "", "feedback": "other", "reason": "payment_failed", "requested_by": "system"}
                cancel_now(ctx, sub, now, details)
                summary["subscriptions_canceled"] += 1
                return
        if sub["status"] == "paused" or sub["current_period_end"] > now:
            return
        renewals += 1
        if renewals > MAX_RENEWALS:
            raise bad_request(
                f"seconds: subscription {sub['id']} would renew more than {MAX_RENEWALS} times in one advance; "
                "advance the clock in smaller steps"
            )
        if sub["status"] == "trialing":
            summary["trials_ended"] += 1
        renew(ctx, sub, sub["current_period_end"])
        summary["subscriptions_renewed"] += 1


def advance_subscriptions(ctx: Context) -> dict[str, Any]:
    """Renewals, trial ends, scheduled cancellations and automatic resumes that fell due, in both modes."""
    summary = {"subscriptions_renewed": 0, "trials_ended": 0, "subscriptions_canceled": 0, "subscriptions_resumed": 0}
    now = ctx.now()
    for livemode in (False, True):
        mode = replace(ctx, livemode=livemode)  # shares the request's event list
        for sub in ctx.on_this_clock(ctx.store.all("subscription", livemode)):
            if sub["status"] not in ENDED and sub["status"] != "incomplete":
                _advance(mode, sub, now, summary)
    return summary


# -- what the API asks of a subscription ----------------------------------------------------------


def check_payment_method(ctx: Context, method_id: str, currency_id: str) -> str:
    """A subscription's default payment method must exist and pay in the subscription's currency."""
    method = ctx.store.get("payment_method", method_id, ctx.livemode)
    if method is None:
        raise bad_request(f"default_payment_method_id: no payment method {method_id!r} in this mode")
    currency = ctx.store.get("payment_currency", currency_id, ctx.livemode) or {}
    if currency.get("payment_method_id") != method["id"]:
        raise bad_request(
            f"default_payment_method_id: payment method {method['id']} cannot pay in currency {currency_id}"
        )
    return str(method["id"])


def new_subscription(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Items share one currency and interval, each price once; a trial end or anchor given lies ahead."""
    now = ctx.now()
    customer = referenced_customer(ctx, body["customer_id"], "customer_id")
    currency_id = (
        referenced_currency(ctx, body["currency_id"], "currency_id")["id"] if body.get("currency_id") else None
    )
    entries: list[dict[str, Any]] = []
    recurring = None
    for i, raw in enumerate(body["items"]):
        field = f"items[{i}].price_id"
        price = usable_price(ctx, raw["price_id"], field, currency_id=currency_id, recurring=recurring)
        currency_id = currency_id or price["currency_id"]
        recurring = recurring or recurring_of(price)
        if any(e["price"]["id"] == price["id"] for e in entries):
            raise bad_request(f"{field}: price {price['id']} is listed twice; give one item a larger quantity")
        entries.append({"price": price, "quantity": raw.get("quantity", 1), "metadata": raw.get("metadata")})
    assert currency_id is not None
    method_id = body.get("default_payment_method_id")
    if method_id:
        method_id = check_payment_method(ctx, method_id, currency_id)
    for field in ("trial_end", "billing_cycle_anchor"):
        if body.get(field) is not None and body[field] <= now:
            raise bad_request(f"{field}: {body[field]} is not in the future (now is {now})")
    sub, _ = start_subscription(
        ctx,
        customer=customer,
        currency_id=currency_id,
        items=entries,
        trial_period_days=body.get("trial_period_days", 0),
        trial_end=body.get("trial_end"),
        collection_method=body.get("collection_method", "charge_automatically"),
        default_payment_method_id=method_id,
        days_until_due=body.get("days_until_due"),
        days_until_cancel=body.get("days_until_cancel"),
        billing_cycle_anchor=body.get("billing_cycle_anchor"),
        proration_behavior=body.get("proration_behavior"),
        description=body.get("description"),
        metadata=body.get("metadata"),
        service_actions=body.get("service_actions"),
    )
    return sub


def update_subscription(ctx: Context, sub: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """An ended subscription changes only its labels; `cancel_at_period_end` schedules as cancel does."""
    locked = sorted(set(body) - set(CHANGEABLE_WHEN_ENDED))
    if ended(sub) and locked:
        raise bad_request(
            f"Subscription {sub['id']} is {sub['status']}: only {', '.join(CHANGEABLE_WHEN_ENDED)} can change, "
            f"not {', '.join(locked)}"
        )
    for field, value in body.items():
        if field == "metadata":
            sub["metadata"] = merge_metadata(sub.get("metadata"), value)
        elif field == "default_payment_method_id":
            sub[field] = check_payment_method(ctx, value, sub["currency_id"])
        elif field == "cancel_at_period_end":
            # As the cancel operation does: the subscription ends at `cancel_at`.
            sub.update(cancel_at_period_end=bool(value), cancel_at=sub["current_period_end"] if value else None)
        else:
            sub[field] = value
    return save_changed(ctx, sub, "updated")


def drop_item(ctx: Context, item: dict[str, Any]) -> None:
    """An item goes with the usage reported for it."""
    for record in ctx.store.find("usage_record", ctx.livemode, subscription_item_id=item["id"]):
        ctx.store.delete("usage_record", record["id"])
    ctx.store.delete("subscription_item", item["id"])


def delete_subscription(ctx: Context, sub: dict[str, Any]) -> dict[str, Any]:
    """Only an ended or never-started subscription can be deleted; only the latter is news (the end was)."""
    if sub["status"] not in (*ENDED, "incomplete"):
        raise bad_request(f"Subscription {sub['id']} is {sub['status']}: cancel it (at=now) before deleting it")
    for item in items_of(ctx, sub):
        drop_item(ctx, item)
    ctx.store.delete("subscription", sub["id"])
    if sub["status"] == "incomplete":
        emit(ctx, "deleted", sub)
    return sub


def _when(value: Any) -> int:
    """`time` of a custom cancellation: Unix seconds, as a number or a string, or an ISO date."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    # ASCII digits, and few enough to be a time: isdigit() is true of "²" too, which int() refuses.
    if re.fullmatch("[0-9]{1,15}", text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"time: {value!r} is neither Unix seconds nor an ISO-8601 date") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _cancelation_details(body: dict[str, Any]) -> dict[str, Any]:
    # PaymentKit keeps what the caller sent, documented choice or free text.
    staking = body.get("staking", "none")
    return {
        "comment": body.get("comment", ""),
        "feedback": body.get("feedback", "other"),
        "reason": body.get("reason", "cancellation_requested"),
        "refund": body.get("refund", "none"),
        "return_stake": staking == "proration",
        "slash_stake": staking == "slash",
        "slash_reason": body.get("slashReason"),
        "requested_by": body.get("cancel_from", "admin"),
    }


def cancel(ctx: Context, sub: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """`at=now` ends it (refunding as asked); otherwise it is scheduled for a future time, once."""
    refuse_if_ended(sub, "it cannot be canceled again")
    at = body.get("at", "current_period_end")
    now = ctx.now()
    details = _cancelation_details(body)
    if at == "now":
        if details["refund"] != "none":
            refund_on_cancel(ctx, sub, details["refund"], now, details["requested_by"])
        cancel_now(ctx, sub, now, details)
        return sub
    if at == "custom":
        if body.get("time") is None:
            raise bad_request("time: at=custom needs the time the cancellation takes effect")
        when = _when(body["time"])
        if when <= now:
            raise bad_request(f"time: {when} is not in the future (now is {now}); use at=now to cancel at once")
    else:
        when = sub["current_period_end"]
    if sub.get("cancel_at") == when:
        raise bad_request(f"Subscription {sub['id']} is already scheduled to cancel at {when}")
    sub.update(cancel_at=when, cancel_at_period_end=when == sub["current_period_end"], cancelation_details=details)
    return save_changed(ctx, sub, "updated")


def recover(ctx: Context, sub: dict[str, Any]) -> dict[str, Any]:
    """Only a subscription scheduled to cancel, and not yet ended, can be recovered."""
    refuse_if_ended(sub, "an ended subscription cannot be recovered")
    if not sub.get("cancel_at") and not sub.get("cancel_at_period_end"):
        raise bad_request(f"Subscription {sub['id']} is not scheduled to cancel: there is nothing to recover")
    sub.update(cancel_at=None, cancel_at_period_end=False, cancelation_details=None)
    return save_changed(ctx, sub, "recovered", "updated")


def pause(ctx: Context, sub: dict[str, Any], behavior: str, resumes_at: int) -> dict[str, Any]:
    """Only an active or trialing subscription pauses, until a future time if one is given."""
    if sub["status"] == "paused":
        raise bad_request(f"Subscription {sub['id']} is already paused")
    if sub["status"] not in GOOD_STANDING:
        raise bad_request(f"Subscription {sub['id']} is {sub['status']}: only an active or trialing one can pause")
    if resumes_at and resumes_at <= ctx.now():
        raise bad_request(f"resumes_at: {resumes_at} is not in the future (now is {ctx.now()})")
    sub["status"] = "paused"
    sub["pause_collection"] = {"behavior": behavior, "resumes_at": resumes_at}
    return save_changed(ctx, sub, "paused", "updated")


def resume_paused(ctx: Context, sub: dict[str, Any]) -> dict[str, Any]:
    """Only a paused subscription can be resumed."""
    if sub["status"] != "paused":
        raise bad_request(f"Subscription {sub['id']} is not paused (it is {sub['status']}): there is nothing to resume")
    resume(ctx, sub, ctx.now())
    return sub


def return_stake(sub: dict[str, Any]) -> NoReturn:
    """A stake is returned only once the subscription has ended, and the sandbox takes none."""
    if not ended(sub):
        raise bad_request(
            f"Subscription {sub['id']} is still {sub['status']}: a stake is returned only once it has ended"
        )
    raise bad_request(f"Subscription {sub['id']} has no stake to return: the sandbox takes no stakes")
