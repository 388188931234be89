"""Events and webhook delivery.

Handlers call `ctx.emit(type, kind, object)`; once the request's transaction
commits, the app calls `after_commit(ctx)`, which stores each event as an
Event object and queues, in the same transaction, its delivery
(`engine.webhooks`) to the enabled endpoints of its mode that subscribe to its type.
"""

from __future__ import annotations

import logging
from typing import Any

from ..context import Context, new_id
from . import webhooks

__all__ = ["API_VERSION", "after_commit"]

logger = logging.getLogger("payment_kit_sandbox.events")

# The API version PaymentKit stamps on events and endpoints (the document's example).
API_VERSION = "2023-09-05"


def after_commit(ctx: Context) -> None:
    """Store the request's events and start their deliveries.

    The request has already committed, so nothing here may turn its answer
    into an error: a failure is logged, and the answer stands.
    """
    pending, ctx.events[:] = list(ctx.events), []
    if not pending:
        return
    try:
        queued = False
        with ctx.store.transaction():
            for raw in pending:
                event = _event(ctx, raw)
                endpoints = webhooks.subscribed(ctx.store, event["livemode"], event["type"])
                event["pending_webhooks"] = len(endpoints)
                ctx.store.insert("event", event)
                webhooks.deliver(ctx.store, event, endpoints)
                queued = queued or bool(endpoints)
        if queued:
            webhooks.wake(ctx.store)
    except Exception:
        logger.exception("storing or delivering the events of a committed request failed")


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
