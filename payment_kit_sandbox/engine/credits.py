"""Credit-based billing: grants, their lifecycle, and the consumption of
credit by meter events.

Amounts are integer units of the grant's credit currency. A meter event of
value `v` costs `v × 10^decimal` units of its meter's credit currency (one
credit per unit of usage, as PaymentKit's seed README shows: 1000 credits,
an event of 10, 990 left). Grants are drawn on in spending order: highest
`priority` first, then the one expiring soonest (no expiry last), then the
oldest. What the grants cannot cover stays on the event as `credit_pending`
(status `requires_action`) and is paid as soon as new credit becomes usable,
so `remainingAmount - pendingAmount` is the spendable balance either way.

Processing happens in the request that reports the event, not on a queue:
PaymentKit settles events within moments, and a sandbox user's next read
(summary, transactions) should already see it without a sandbox-only call.
The create answer itself still shows the event as recorded (`pending`), as
PaymentKit answers it, so code written against the sandbox does not come to
rely on a settled answer that a real deployment never gives.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..context import Context
from ..database import Bound, OneOf
from ..refusals import bad_request
from ..skeletons import skeleton
from . import lifecycle
from .catalog import meter_id_of
from .customers import referenced_customer
from .money import exact_arithmetic, from_units, to_units

__all__ = [
    "DEFAULT_DECIMAL",
    "DEFAULT_PRIORITY",
    "OUTSTANDING",
    "applies",
    "balance",
    "current",
    "decimal_sum",
    "expire",
    "grant",
    "invoiced_usage",
    "joined",
    "new_grant",
    "outstanding",
    "price_ids_of",
    "record_event",
    "report_event",
    "sync",
    "unix",
    "update_grant",
    "usable_grants",
]

DEFAULT_DECIMAL = 2  # the scale PaymentKit's own examples show for a meter's credit currency
DEFAULT_PRIORITY = 50
OUTSTANDING = ("pending", "processing", "requires_action", "requires_capture")


def unix(stamp: str) -> int:
    """An ISO `created_at` as Unix seconds."""
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


# Columns the sandbox keeps on its rows for its own lookups and filters, which PaymentKit's models do
# not have (the document declares none of them): answers and events leave them out.
PRIVATE_COLUMNS = {
    "meter_event": frozenset({"meter_id", "currency_id"}),
    "credit_transaction": frozenset({"currency_id", "livemode", "meter_event_id"}),
}


def public(kind: str, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """`row` as an answer carries it: without the sandbox's private columns."""
    if row is None:
        return None
    private = PRIVATE_COLUMNS.get(kind, frozenset())
    return {key: value for key, value in row.items() if key not in private}


def joined(ctx: Context, kind: str, object_id: str | None, schema: str | None = None) -> dict[str, Any] | None:
    """A related object for an expanded answer; with `schema`, a placeholder of that shape
    when the object is gone, so an answer that must carry it stays well-formed."""
    found = ctx.store.get(kind, object_id, ctx.livemode) if object_id else None
    if found is None and schema is not None:
        return {**skeleton(ctx.document, schema), "id": object_id or "", "livemode": ctx.livemode}
    return found


def _expiry(grant: dict[str, Any]) -> int | None:
    return grant.get("expires_at") or None  # 0 means never, as PaymentKit takes it


def _spending_order(grant: dict[str, Any]) -> tuple[int, float, int]:
    expiry = _expiry(grant)
    return (-int(grant.get("priority") or 0), expiry if expiry is not None else float("inf"), unix(grant["created_at"]))


def price_ids_of(ctx: Context, subscription_id: str | None) -> set[str]:
    if not subscription_id:
        return set()
    items = ctx.store.find("subscription_item", ctx.livemode, subscription_id=subscription_id)
    return {item["price_id"] for item in items}


def applies(grant: dict[str, Any], price_ids: set[str]) -> bool:
    """A grant limited to some prices only pays for usage billed under one of them."""
    scope = (grant.get("applicability_config") or {}).get("scope") or {}
    limited = scope.get("prices") or []
    return not limited or bool(price_ids.intersection(limited))


def usable_grants(
    ctx: Context,
    customer_id: str,
    currency_id: str,
    price_ids: set[str] | None = None,
    grants: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The customer's granted grants in a currency, in spending order; with `price_ids`,
    only those that may pay for usage under those prices. `grants`: the customer's grants as
    this request already holds them (read again when not given)."""
    if grants is None:
        grants = ctx.store.find("credit_grant", ctx.livemode, customer_id=customer_id, currency_id=currency_id)
    grants = [g for g in grants if g["status"] == "granted" and g["currency_id"] == currency_id]
    if price_ids is not None:
        grants = [g for g in grants if applies(g, price_ids)]
    return sorted(grants, key=_spending_order)


def balance(ctx: Context, customer_id: str, currency_id: str) -> int:
    return sum(int(g["remaining_amount"]) for g in usable_grants(ctx, customer_id, currency_id))


def outstanding(ctx: Context, customer_id: str, currency_id: str) -> int:
    """Credit the customer's unsettled events in a currency still need."""
    return sum(
        int(event["credit_pending"])
        for event in ctx.store.find("meter_event", ctx.livemode, currency_id=currency_id)
        if event["payload"]["customer_id"] == customer_id and event["status"] in OUTSTANDING
    )


# -- grants ---------------------------------------------------------------------------------


def grant(
    ctx: Context,
    *,
    customer: dict[str, Any],
    currency: dict[str, Any],
    amount: int,
    category: str,
    name: str | None = None,
    priority: int | None = None,
    effective_at: int | None = None,
    expires_at: int | None = None,
    applicability_config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    created_via: str = "api",
) -> dict[str, Any]:
    """Give a customer `amount` units of a credit currency; for other areas too (a paid
    credit pack, a subscription's credit schedule: put `subscription_id` in `metadata`)."""
    now = ctx.now()
    effective = effective_at if effective_at is not None else now
    record = ctx.stamp(
        {
            **skeleton(ctx.document, "CreditGrant"),
            "object": "credit_grant",
            "amount": str(amount),
            "remaining_amount": str(amount),
            "currency_id": currency["id"],
            "customer_id": customer["id"],
            "category": category,
            "name": name,
            "priority": DEFAULT_PRIORITY if priority is None else priority,
            "effective_at": effective,
            "expires_at": expires_at,
            "applicability_config": applicability_config,
            "metadata": metadata or {},
            "status": "pending" if effective > now else "granted",
            "created_via": created_via,
        },
        "cg",
    )
    ctx.store.insert("credit_grant", record)
    if record["status"] == "granted":
        _granted(ctx, record)
    return record


def _granted(ctx: Context, record: dict[str, Any]) -> None:
    ctx.emit("customer.credit_grant.granted", "credit_grant", record)
    retry_outstanding(ctx, record["customer_id"], record["currency_id"])


def expire(ctx: Context, record: dict[str, Any]) -> None:
    """End a grant now; what it still held stays as `remaining_amount` for the record,
    but it no longer counts towards any balance."""
    record["status"] = "expired"
    if not _expiry(record) or record["expires_at"] > ctx.now():
        record["expires_at"] = ctx.now()
    ctx.store.save("credit_grant", ctx.touch(record))


def sync(ctx: Context, grants: list[dict[str, Any]] | None = None) -> dict[str, int]:
    """Bring this mode's grants up to the clock (or only `grants`, one customer's, oldest first,
    updated in place): expire those past `expires_at`, then make pending ones whose
    `effective_at` has come usable."""
    now = ctx.now()
    expired = activated = 0
    if grants is None:
        # Only the grants that are due, over the status index: none of the others is read.
        due = ctx.store.find(
            "credit_grant", ctx.livemode, OneOf("status", ("pending", "granted")), Bound("expires_at", high=now)
        )
        pending = ctx.store.find("credit_grant", ctx.livemode, status="pending")
        # A test clock's grants move with it alone, and the others not with it.
        grants = ctx.on_this_clock(due + [g for g in pending if g["id"] not in {d["id"] for d in due}])
    for record in grants:
        expiry = _expiry(record)
        if record["status"] in ("pending", "granted") and expiry is not None and expiry <= now:
            expire(ctx, record)
            expired += 1
    for record in [g for g in grants if g["status"] == "pending"]:
        if int(record.get("effective_at") or 0) <= now:
            record["status"] = "granted"
            ctx.store.save("credit_grant", ctx.touch(record))
            _granted(ctx, record)
            activated += 1
    return {"credit_grants_expired": expired, "credit_grants_activated": activated}


def current(handler: Callable[[Context], Any]) -> Callable[[Context], Any]:
    """Run `sync` before a handler, so grants follow real time as well as the sandbox clock."""

    @functools.wraps(handler)
    def wrapper(ctx: Context) -> Any:
        sync(ctx)
        return handler(ctx)

    return wrapper


def advance_grants(ctx: Context) -> dict[str, int]:
    """The clock step: grants of both modes expire or become usable."""
    # The clock is shared by both modes, so both modes' grants move with it.
    totals = {"credit_grants_expired": 0, "credit_grants_activated": 0}
    for livemode in (False, True):
        for key, count in sync(dataclasses.replace(ctx, livemode=livemode)).items():
            totals[key] += count
    return totals


# -- consumption ----------------------------------------------------------------------------


def record_event(
    ctx: Context,
    event: dict[str, Any],
    meter: dict[str, Any],
    currency: dict[str, Any],
    grants: list[dict[str, Any]] | None = None,
) -> None:
    """Store a new meter event and settle it at once (see the module docstring). `grants`: the
    customer's grants, as `report_event` read them."""
    event["currency_id"] = currency["id"]
    event["credit_pending"] = to_units(event["payload"]["value"], int(currency["decimal"]), "payload.value")
    ctx.store.insert("meter_event", event)
    if invoiced_usage(ctx, event, meter):
        # Usage of a metered subscription price tied to this meter is billed on the period's
        # invoice (engine.subscriptions), so it draws no credit.
        settled = dict(event, credit_pending="0", status="completed", processed_at=ctx.now(), attempt_count=1)
        ctx.store.save("meter_event", ctx.touch(settled))
        return
    _settle(ctx, dict(event), meter, currency, grants)
    for hook in ctx.wiring.on_credit_consumed:
        hook(ctx, event)


def invoiced_usage(ctx: Context, event: dict[str, Any], meter: dict[str, Any]) -> bool:
    """Whether the event's subscription bills this meter's usage through a metered price
    (`recurring.meter_id` or `metadata.meter_id` naming the meter) rather than drawing on credit."""
    subscription_id = event["payload"].get("subscription_id")
    for price_id in price_ids_of(ctx, subscription_id):
        price = ctx.store.get("price", price_id, ctx.livemode) or {}
        metered = ((price.get("recurring") or {}).get("usage_type")) == "metered"
        if metered and meter_id_of(price) == meter["id"]:
            return True
    return False


def retry_outstanding(ctx: Context, customer_id: str, currency_id: str) -> None:
    """New credit pays the customer's unsettled events in that currency, oldest first."""
    currency = ctx.store.get("payment_currency", currency_id, ctx.livemode)
    if currency is None:
        return
    for event in ctx.store.find("meter_event", ctx.livemode, status="requires_action", currency_id=currency_id):
        if event["payload"]["customer_id"] != customer_id:
            continue
        meter = ctx.store.first("meter", ctx.livemode, event_name=event["event_name"])
        if meter is not None:
            _settle(ctx, event, meter, currency)


def _settle(
    ctx: Context,
    event: dict[str, Any],
    meter: dict[str, Any],
    currency: dict[str, Any],
    grants: list[dict[str, Any]] | None = None,
) -> None:
    need = int(event["credit_pending"])
    customer_id = event["payload"]["customer_id"]
    subscription_id = event["payload"].get("subscription_id")
    decimal = int(currency["decimal"])
    paid = 0
    settling = event["status"] == "requires_action"
    for source in usable_grants(ctx, customer_id, currency["id"], price_ids_of(ctx, subscription_id), grants):
        if need == 0:
            break
        take = min(need, int(source["remaining_amount"]))
        if take == 0:
            continue
        # Exact across worker processes: which grants draw depends on every grant of the customer
        # read above, a set no single row lock covers, so a request holds the customer's lock
        # (store.lock_customer, taken by report_event and by any write of the customer's credit)
        # or runs SERIALIZABLE; either way a concurrent draw waits or conflicts, and sees what the
        # other left.
        left = int(source["remaining_amount"]) - take
        source["remaining_amount"] = str(left)
        if left == 0:
            source["status"] = "depleted"
        ctx.store.save("credit_grant", ctx.touch(source))
        if left == 0:
            ctx.emit("customer.credit_grant.depleted", "credit_grant", source)
        ctx.store.insert(
            "credit_transaction",
            ctx.stamp(
                {
                    **skeleton(ctx.document, "CreditTransaction"),
                    "quantity": from_units(take, decimal),
                    "credit_amount": str(take),
                    "remaining_balance": str(left),
                    "customer_id": customer_id,
                    "credit_grant_id": source["id"],
                    "currency_id": currency["id"],
                    "meter_id": meter["id"],
                    "meter_event_id": event["id"],
                    "subscription_id": subscription_id,
                    "source": event["id"],
                    "meter_event_name": meter["event_name"],
                    "meter_unit": meter["unit"],
                    "description": f"{from_units(take, decimal)} {meter['unit']} of {meter['event_name']}"
                    + (" (settles pending usage)" if settling else ""),
                    # A retry pays usage that was owed: the ledger says which rows settle debt.
                    "metadata": {"settlement": "pending"} if settling else {},
                },
                "ctxn",
            ),
        )
        need -= take
        paid += take
    first_try = event["status"] == "pending"
    event.update(
        credit_consumed=str(int(event["credit_consumed"]) + paid),
        credit_pending=str(need),
        status="completed" if need == 0 else "requires_action",
        processed_at=ctx.now(),
        attempt_count=int(event["attempt_count"]) + 1,
        next_attempt=None,
    )
    ctx.store.save("meter_event", ctx.touch(event))
    if need and first_try:
        # Once per event: later retries that still fall short say nothing new.
        ctx.emit("customer.credit.insufficient", "meter_event", public("meter_event", event) or {})


def decimal_sum(values: Iterable[str]) -> str:
    """Decimal strings (event values, metered quantities) added exactly."""
    with exact_arithmetic():
        total = sum((Decimal(v) for v in values), Decimal(0))
    return format(total.normalize(), "f") if total else "0"


def update_grant(ctx: Context, record: dict[str, Any], body: dict[str, Any]) -> None:
    """A grant's metadata can change; `expired: true` ends a pending or granted grant now."""
    expiring = body.get("expired") is True
    if expiring and record["status"] not in ("pending", "granted"):
        raise bad_request(
            f"Credit grant {record['id']} is {record['status']}; only pending or granted grants can be expired"
        )
    if "metadata" in body:
        record["metadata"] = body["metadata"]
        lifecycle.changed(ctx, "credit_grant", record)
    if expiring:
        expire(ctx, record)


# -- what the API asks ----------------------------------------------------------------------------


def _check_window(ctx: Context, effective_at: int, expires_at: int | None) -> None:
    if expires_at:  # 0 means the grant never expires
        floor = max(effective_at, ctx.now())
        if expires_at <= floor:
            raise bad_request(f"expires_at: {expires_at} is not after {floor}, when the grant would start")


def _check_scope(ctx: Context, config: dict[str, Any] | None) -> None:
    for i, price_id in enumerate(((config or {}).get("scope") or {}).get("prices") or []):
        if ctx.store.get("price", price_id, ctx.livemode) is None:
            raise bad_request(f"applicability_config.scope.prices[{i}]: no price {price_id!r} in this mode")


def new_grant(ctx: Context, customer: dict[str, Any], currency: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A grant gives more than 0 credits, expires (if ever) after it starts, and is scoped to existing prices."""
    amount = int(to_units(body["amount"], int(currency["decimal"]), "amount"))
    if amount == 0:
        raise bad_request("amount: a grant must give more than 0 credits")
    effective_at = body.get("effective_at", ctx.now())
    _check_window(ctx, effective_at, body.get("expires_at"))
    _check_scope(ctx, body.get("applicability_config"))
    record = grant(
        ctx,
        customer=customer,
        currency=currency,
        amount=amount,
        category=body["category"],
        name=body.get("name"),
        priority=body.get("priority"),
        effective_at=effective_at,
        expires_at=body.get("expires_at"),
        applicability_config=body.get("applicability_config"),
        metadata=body.get("metadata"),
    )
    # New credit may already have paid for usage that was waiting: the grant as it is now.
    return ctx.store.get("credit_grant", record["id"], ctx.livemode) or record


def report_event(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Usage goes to an active meter, for a customer and their own subscription; an identifier counts once.

    The hot path of a busy sandbox, so its reads are two statements (`Store.find_each`): what the
    body names (an earlier event with the identifier, the meter, the customer by id), then what
    those name (the meter's currency, the customer's own grants, the customer's auto-recharge
    config, which `auto_recharge.after_consumption` then finds already read). Only the customer's
    own grants are brought up to the clock here: no other customer's grant is read."""
    # Two workers may both find no event yet: the identifier is also unique in the database (a
    # unique index, store.unique_indexes), so the second insert fails, its request is retried, and
    # this lookup then finds the first event.
    payload = body["payload"]
    seen, meters, by_id = ctx.store.find_each(
        ctx.livemode,
        ("meter_event", {"identifier": body["identifier"]}),
        ("meter", {"event_name": body["event_name"]}),
        ("customer", {"id": payload["customer_id"]}),
    )
    if seen:
        return seen[0]
    meter = _usable_meter(meters[0] if meters else None, body["event_name"])
    customer = by_id[0] if by_id else referenced_customer(ctx, payload["customer_id"], "payload.customer_id")
    subscription_id = payload.get("subscription_id")
    if subscription_id:
        subscription = ctx.store.get("subscription", subscription_id, ctx.livemode)
        if subscription is None:
            raise bad_request(f"payload.subscription_id: no subscription {subscription_id!r} in this mode")
        if subscription["customer_id"] != customer["id"]:
            raise bad_request(f"payload.subscription_id: subscription {subscription_id} belongs to another customer")
    currency_id = meter.get("currency_id") or ""
    # Before the customer's credit is read: on PostgreSQL this request runs READ COMMITTED
    # (resources.meter_events), and this lock is what keeps its draw exact (database.py's docstring).
    ctx.store.lock_customer(customer["id"])
    currencies, grants, _ = ctx.store.find_each(
        ctx.livemode,
        ("payment_currency", {"id": currency_id}),
        ("credit_grant", {"customer_id": customer["id"]}),
        ("auto_recharge_config", {"customer_id": customer["id"], "currency_id": currency_id}),
    )
    if not currencies:
        raise bad_request(f"event_name: meter {meter['id']} has no credit currency to consume")
    changed = sync(ctx, grants)
    if any(changed.values()):
        # A grant became usable and paid older events meanwhile (`retry_outstanding`), with grants
        # read on their own: read them again rather than hold stale copies.
        grants = ctx.store.find("credit_grant", ctx.livemode, customer_id=customer["id"])
    event = ctx.stamp(
        {
            **skeleton(ctx.document, "MeterEvent"),
            "event_name": meter["event_name"],
            "meter_id": meter["id"],
            "payload": {"customer_id": customer["id"], "value": payload["value"], "subscription_id": subscription_id},
            "identifier": body["identifier"],
            "timestamp": body.get("timestamp", ctx.now()),
            "status": "pending",
            "attempt_count": 0,
            "credit_consumed": "0",
            "metadata": body.get("metadata") or {},
            "source_data": body.get("source_data"),
            "created_via": "api",
        },
        "mevt",
    )
    record_event(ctx, event, meter, currencies[0], grants)
    return event


def _usable_meter(meter: dict[str, Any] | None, event_name: str) -> dict[str, Any]:
    if meter is None:
        raise bad_request(f"event_name: no meter has the event name {event_name!r} in this mode")
    if meter["status"] != "active":
        raise bad_request(f"event_name: meter {meter['id']} ({event_name!r}) is inactive; activate it to report usage")
    return meter
