"""A small webhook receiver (Starlette): verify each delivery, then act on its type.

    PAYMENT_KIT_WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 8000

Register it with `payment.webhook_endpoints.create(url="http://127.0.0.1:8000/webhooks",
enabled_events=[...])` and keep the `secret` that call answers. The local sandbox signs
every delivery with it (Standard Webhooks); PaymentKit itself publishes no signing scheme,
so against a real deployment set PAYMENT_KIT_WEBHOOK_SECRET empty: the receiver then
parses without verifying, and should trust only what it fetches back through the API.

Deliveries come at least once: the same event can arrive again (a retry whose answer was
lost), so handlers key their work on `event.id`.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from payment_kit import SignatureVerificationError, webhooks

logger = logging.getLogger("webhook_receiver")


def fulfil_order(event: Any) -> str:
    session = event.data.object  # a CheckoutSession model
    return f"fulfil checkout {session.id}: {session.amount_total} units paid by {session.customer_did}"


def start_access(event: Any) -> str:
    subscription = event.data.object  # a Subscription model
    return f"grant access for subscription {subscription.id} ({subscription.status})"


def record_payment(event: Any) -> str:
    invoice = event.data.object  # an Invoice model
    return f"record invoice {invoice.id}: {invoice.amount_paid} units paid"


def top_up(event: Any) -> str:
    grant = event.data.object  # a CreditGrant model
    return f"credit grant {grant.id}: {grant.amount} credit available to {grant.customer_id}"


HANDLERS: dict[str, Callable[[Any], str]] = {
    "checkout.session.completed": fulfil_order,
    "customer.subscription.created": start_access,
    "invoice.paid": record_payment,
    "customer.credit_grant.granted": top_up,
}


def create_app(secret: str | None) -> Starlette:
    """The receiver; `secret` None or empty parses deliveries without verifying them."""
    seen: set[str] = set()  # a real application keeps these in its database

    async def receive(request: Request) -> Response:
        payload = await request.body()  # the raw bytes: the signature covers exactly these
        try:
            if secret:
                event = webhooks.construct_event(payload, request.headers, secret)
            else:
                event = webhooks.parse_event(payload)
        except SignatureVerificationError as exc:
            logger.warning("refused a delivery: %s", exc)
            return JSONResponse({"error": exc.reason}, status_code=400)
        if event.id in seen:
            return JSONResponse({"received": event.id, "duplicate": True})
        handler = HANDLERS.get(event.type)
        done = handler(event) if handler else f"ignored {event.type}"
        seen.add(event.id)
        logger.info("%s %s: %s", event.id, event.type, done)
        return JSONResponse({"received": event.id, "done": done})

    return Starlette(routes=[Route("/webhooks", receive, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    uvicorn.run(create_app(os.environ.get("PAYMENT_KIT_WEBHOOK_SECRET")), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
