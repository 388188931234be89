"""Subscriptions (`/api/subscriptions`): creation, the status transitions
(cancel, recover, pause, resume), lists and overdue invoices. Billing over
time lives in `engine/subscriptions.py`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import subscriptions as engine
from ..list_queries import filter_equal, filter_in, filter_metadata, page_of
from ..refusals import bad_request

KIND = "subscription"
ORDERABLE = ("created_at", "updated_at", "current_period_start", "current_period_end", "start_date", "status")
SEARCHED = ("id", "description", "status", "customer_id", "currency_id")
# What a subscription that has ended can still have changed: labels, not billing.
CHANGEABLE_WHEN_ENDED = ("description", "metadata", "service_actions")


def find(ctx: Context, subscription_id: str) -> dict[str, Any]:
    return ctx.get(KIND, subscription_id, "Subscription")


def _payment_method(ctx: Context, method_id: str, currency_id: str) -> str:
    method = ctx.store.get("payment_method", method_id, ctx.livemode)
    if method is None:
        raise bad_request(f"default_payment_method_id: no payment method {method_id!r} in this mode")
    currency = ctx.store.get("payment_currency", currency_id, ctx.livemode) or {}
    if currency.get("payment_method_id") != method["id"]:
        raise bad_request(
            f"default_payment_method_id: payment method {method['id']} cannot pay in currency {currency_id}"
        )
    return str(method["id"])


# -- create, read, update, delete ---------------------------------------------------------------


@handles("createSubscription")
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    now = ctx.now()
    customer = lookups.referenced_customer(ctx, body["customer_id"], "customer_id")
    currency_id = (
        lookups.referenced_currency(ctx, body["currency_id"], "currency_id")["id"] if body.get("currency_id") else None
    )
    entries: list[dict[str, Any]] = []
    recurring = None
    for i, raw in enumerate(body["items"]):
        field = f"items[{i}].price_id"
        price = engine.usable_price(ctx, raw["price_id"], field, currency_id=currency_id, recurring=recurring)
        currency_id = currency_id or price["currency_id"]
        recurring = recurring or engine.recurring_of(price)
        if any(e["price"]["id"] == price["id"] for e in entries):
            raise bad_request(f"{field}: price {price['id']} is listed twice; give one item a larger quantity")
        entries.append({"price": price, "quantity": raw.get("quantity", 1), "metadata": raw.get("metadata")})
    assert currency_id is not None
    method_id = body.get("default_payment_method_id")
    if method_id:
        method_id = _payment_method(ctx, method_id, currency_id)
    for field in ("trial_end", "billing_cycle_anchor"):
        if body.get(field) is not None and body[field] <= now:
            raise bad_request(f"{field}: {body[field]} is not in the future (now is {now})")
    sub, _ = engine.start_subscription(
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
    return lookups.expand_subscription(ctx, sub)


@handles("retrieveSubscription")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_subscription(ctx, find(ctx, ctx.path["id"]))


@handles("updateSubscription")
def update(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    body = ctx.body
    locked = sorted(set(body) - set(CHANGEABLE_WHEN_ENDED))
    if engine.ended(sub) and locked:
        raise bad_request(
            f"Subscription {sub['id']} is {sub['status']}: only {', '.join(CHANGEABLE_WHEN_ENDED)} can change, "
            f"not {', '.join(locked)}"
        )
    for field, value in body.items():
        if field == "metadata":
            sub["metadata"] = engine.merge_metadata(sub.get("metadata"), value)
        elif field == "default_payment_method_id":
            sub[field] = _payment_method(ctx, value, sub["currency_id"])
        elif field == "cancel_at_period_end":
            # As the cancel operation does: the engine ends the subscription at `cancel_at`.
            sub.update(cancel_at_period_end=bool(value), cancel_at=sub["current_period_end"] if value else None)
        else:
            sub[field] = value
    engine.emit(ctx, "updated", sub)
    return ctx.store.save(KIND, ctx.touch(sub))


@handles("deleteSubscription")
def delete(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    if sub["status"] not in (*engine.ENDED, "incomplete"):
        raise bad_request(f"Subscription {sub['id']} is {sub['status']}: cancel it (at=now) before deleting it")
    for item in engine.items_of(ctx, sub):
        for record in ctx.store.find("usage_record", ctx.livemode, subscription_item_id=item["id"]):
            ctx.store.delete("usage_record", record["id"])
        ctx.store.delete("subscription_item", item["id"])
    ctx.store.delete(KIND, sub["id"])
    if sub["status"] == "incomplete":
        engine.emit(ctx, "deleted", sub)
    return sub


# -- lists ----------------------------------------------------------------------------------------


def _in_good_standing(sub: dict[str, Any]) -> bool:
    return sub["status"] in engine.GOOD_STANDING


def _page(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, Any]:
    first = _in_good_standing if ctx.param("activeFirst") else None
    return page_of(ctx, rows, orderable=ORDERABLE, expand=lambda s: lookups.expand_subscription(ctx, s), first=first)


@handles("listSubscriptions")
def list_(ctx: Context) -> dict[str, Any]:
    rows = filter_equal(ctx, filter_in(ctx, ctx.store.all(KIND, ctx.livemode), "status"), "customer_id")
    did = ctx.param("customer_did")
    if did:
        owner = ctx.store.first("customer", ctx.livemode, did=lookups.plain_did(did))
        rows = [s for s in rows if owner is not None and s["customer_id"] == owner["id"]]
    return _page(ctx, filter_metadata(ctx, rows))


@handles("searchSubscriptions")
def search_(ctx: Context) -> dict[str, Any]:
    """Matches the subscription's own text fields and its customer's name, email and DID."""
    rows = ctx.store.all(KIND, ctx.livemode)
    needle = str(ctx.param("query") or "").lower()
    if needle:
        people = {c["id"]: c for c in ctx.store.all("customer", ctx.livemode)}

        def text(sub: dict[str, Any]) -> str:
            who = people.get(sub["customer_id"]) or {}
            fields = [sub.get(f) for f in SEARCHED] + [who.get(f) for f in ("name", "email", "did")]
            return " ".join(str(v) for v in fields if v).lower()

        rows = [s for s in rows if needle in text(s)]
    return _page(ctx, rows)


@handles("listSubscriptionOverdueInvoices")
def overdue_invoices(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    invoices = [
        i for i in ctx.store.find("invoice", ctx.livemode, subscription_id=sub["id"]) if lookups.overdue(ctx, i)
    ]
    return {"subscription": sub, "invoices": invoices, "summary": lookups.owed_by_currency(ctx, invoices)}


# -- transitions ----------------------------------------------------------------------------------


def _when(value: Any) -> int:
    """`time` of a custom cancellation: Unix seconds, as a number or a string, or an ISO date."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"time: {value!r} is neither Unix seconds nor an ISO-8601 date") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _details(body: dict[str, Any]) -> dict[str, Any]:
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


@handles("cancelSubscription")
def cancel(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    engine.refuse_if_ended(sub, "it cannot be canceled again")
    body = ctx.body
    at = body.get("at", "current_period_end")
    now = ctx.now()
    details = _details(body)
    if at == "now":
        if details["refund"] != "none":
            engine.refund_on_cancel(ctx, sub, details["refund"], now, details["requested_by"])
        engine.cancel_now(ctx, sub, now, details)
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
    engine.emit(ctx, "updated", sub)
    return ctx.store.save(KIND, ctx.touch(sub))


@handles("recoverSubscription")
def recover(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    engine.refuse_if_ended(sub, "an ended subscription cannot be recovered")
    if not sub.get("cancel_at") and not sub.get("cancel_at_period_end"):
        raise bad_request(f"Subscription {sub['id']} is not scheduled to cancel: there is nothing to recover")
    sub.update(cancel_at=None, cancel_at_period_end=False, cancelation_details=None)
    engine.emit(ctx, "recovered", sub)
    engine.emit(ctx, "updated", sub)
    return ctx.store.save(KIND, ctx.touch(sub))


@handles("pauseSubscription")
def pause(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    if sub["status"] == "paused":
        raise bad_request(f"Subscription {sub['id']} is already paused")
    if sub["status"] not in engine.GOOD_STANDING:
        raise bad_request(f"Subscription {sub['id']} is {sub['status']}: only an active or trialing one can pause")
    resumes_at = ctx.body.get("resumes_at") or 0
    if resumes_at and resumes_at <= ctx.now():
        raise bad_request(f"resumes_at: {resumes_at} is not in the future (now is {ctx.now()})")
    sub["status"] = "paused"
    sub["pause_collection"] = {"behavior": ctx.body.get("behavior", "keep_as_draft"), "resumes_at": resumes_at}
    engine.emit(ctx, "paused", sub)
    engine.emit(ctx, "updated", sub)
    return ctx.store.save(KIND, ctx.touch(sub))


@handles("resumeSubscription")
def resume(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    if sub["status"] != "paused":
        raise bad_request(f"Subscription {sub['id']} is not paused (it is {sub['status']}): there is nothing to resume")
    engine.resume(ctx, sub, ctx.now())
    return sub


@handles("returnSubscriptionStake")
def return_stake(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    if not engine.ended(sub):
        raise bad_request(
            f"Subscription {sub['id']} is still {sub['status']}: a stake is returned only once it has ended"
        )
    raise bad_request(f"Subscription {sub['id']} has no stake to return: the sandbox takes no stakes")
