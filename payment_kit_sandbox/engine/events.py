"""Events and webhook delivery: a transactional outbox.

Handlers call `ctx.emit(type, kind, object)`. As the last step of a request's work, inside the
request's own transaction, the app calls `record(ctx)`, which stores each event as an Event
object and queues its deliveries (`engine.webhooks`) to the enabled endpoints of its mode that
subscribe to its type. The events and their deliveries are thus committed exactly when the
request's writes are: a request rolled back leaves no event, and a process that dies after the
commit, before it answers, leaves every event of the commit queued for the next process to deliver.
Once the transaction commits, `after_commit(ctx)` only wakes the delivery worker.
"""

from __future__ import annotations

import logging
from typing import Any

from ..context import Context, new_id
from . import webhooks

__all__ = ["API_VERSION", "EVENT_TYPES", "after_commit", "check_recorded", "record"]

logger = logging.getLogger("payment_kit_sandbox.events")

# The API version PaymentKit stamps on events and endpoints (the document's example).
API_VERSION = "2023-09-05"

# Every event type the sandbox emits, all of them names in PaymentKit's `EventType`: the document's
# `x-webhooks` lists exactly these (tests/test_event_types.py holds the two equal, and the engine's
# calls to these). An endpoint may subscribe to these or to `*`; emitting another type is a bug.
EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.created",
        "checkout.session.expired",
        "checkout.session.nft_minted",
        "coupon.created",
        "coupon.deleted",
        "coupon.updated",
        "customer.created",
        "customer.credit.insufficient",
        "customer.credit.low_balance",
        "customer.credit_grant.depleted",
        "customer.credit_grant.granted",
        "customer.deleted",
        "customer.subscription.created",
        "customer.subscription.deleted",
        "customer.subscription.past_due",
        "customer.subscription.paused",
        "customer.subscription.recovered",
        "customer.subscription.renew_failed",
        "customer.subscription.renewed",
        "customer.subscription.resumed",
        "customer.subscription.started",
        "customer.subscription.trial_end",
        "customer.subscription.trial_start",
        "customer.subscription.updated",
        "customer.updated",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.payment_succeeded",
        "invoice.updated",
        "invoice.voided",
        "payment_intent.canceled",
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
        "payment_link.created",
        "payment_link.updated",
        "price.created",
        "price.deleted",
        "price.updated",
        "product.created",
        "product.deleted",
        "product.updated",
        "promotion_code.created",
        "promotion_code.updated",
        "refund.created",
        "refund.succeeded",
    }
)


def record(ctx: Context) -> None:
    """Store the request's events and queue their deliveries, in the request's transaction (call it
    inside `store.run`, after the handler): a failure here fails, and rolls back, the request."""
    for raw in ctx.events:
        if raw["type"] not in EVENT_TYPES:
            raise RuntimeError(f"the engine emitted {raw['type']!r}, which engine.events.EVENT_TYPES does not list")
        event = _event(ctx, raw)
        endpoints = webhooks.subscribed(ctx.store, event["livemode"], event["type"])
        event["pending_webhooks"] = len(endpoints)
        ctx.store.insert("event", event)
        webhooks.deliver(ctx.store, event, endpoints)
        ctx.deliveries_queued = ctx.deliveries_queued or bool(endpoints)
    ctx.events.clear()


def after_commit(ctx: Context) -> None:
    """Wake the delivery worker for the deliveries the committed request queued.

    Events emitted but never `record`ed would be lost: that is a sandbox bug, and raises. Waking
    cannot turn the answer into an error: the worker also looks at the queue every so often.
    """
    check_recorded(ctx)
    if not ctx.deliveries_queued:
        return
    try:
        webhooks.wake(ctx.store)
    except Exception:
        logger.exception("waking the webhook worker failed; it finds the deliveries on its next look")


def check_recorded(ctx: Context) -> None:
    """Raise if the committed request emitted events it never `record`ed (a sandbox bug): what a
    sandbox with no delivery worker runs after each commit."""
    if ctx.events:
        raise RuntimeError(
            f"{len(ctx.events)} event(s) emitted by a request were never recorded in its transaction "
            "(engine.events.record): the route that ran it must call it"
        )


def _event(ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    obj = raw["object"]
    headers = ctx.headers
    event = ctx.stamp(
        {
            "object": "event",
            "type": raw["type"],
            "api_version": API_VERSION,
            "data": {"object": obj},
            "object_type": raw["object_type"],
            "object_id": str(obj.get("id") or ""),
            "request": {
                "id": headers.get("x-request-id") or new_id("req"),
                "idempotency_key": headers.get("idempotency-key"),
                "requested_by": headers.get("x-user-did"),
            },
            "pending_webhooks": 0,
            "metadata": {},
        },
        "evt",
    )
    # Unix seconds on the sandbox clock, as receivers written for Stripe-style events expect.
    event["created"] = ctx.now()
    # A clock step may touch objects of either mode; an event belongs to its object's mode.
    if isinstance(obj.get("livemode"), bool):
        event["livemode"] = obj["livemode"]
    return event
