"""A shop that sells a pack of 100 AI credits, on Starlette: the application that
test_starlette_shop.py tests with payment_kit.testing (flask_shop.py is the same shop on Flask).

    POST /users/ada/buy   -> {"checkout_url", "session_id"}: send the buyer to the checkout page
    POST /webhooks        <- PaymentKit's signed events: a completed checkout grants access
    GET  /users/ada       -> {"access": true, "credits": "100"}

It talks to PaymentKit through the default `payment` client (PAYMENT_KIT_BASE_URL,
PAYMENT_KIT_API_KEY) and verifies deliveries with SHOP_WEBHOOK_SECRET, the `secret` its webhook
endpoint was created with. Who has paid lives in the app's state (a real shop: its database).
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from payment_kit import SignatureVerificationError, from_units, payment, webhooks

PACK = "credits-100"  # the credit pack's price, by its lookup_key
METER = "ai_call"  # the meter whose credit the pack buys


def set_up_catalog() -> None:
    """What an operator runs once per deployment: a meter (its credit currency) and the pack."""
    meter = payment.meters.create(name="AI calls", event_name=METER, aggregation_method="sum", unit="calls")
    token = payment.payment_currencies.list().list[0]
    pack = payment.products.create(name="100 AI credits", type="credit")
    payment.prices.create(
        product_id=pack.id,
        type="one_time",
        unit_amount="5",
        currency_id=token.id,
        lookup_key=PACK,
        metadata={"credit_config": {"currency_id": meter.currency_id, "credit_amount": "100"}},
    )


def credits_of(customer_id: str) -> str:
    """The customer's spendable credits, for people ("100"); "0" with no usable grant."""
    meter = payment.meters.retrieve(METER)
    entry = payment.credit_grants.summary(customer_id=customer_id).to_dict().get(meter.currency_id)
    if entry is None:
        return "0"
    left = from_units(entry["remainingAmount"], entry["paymentCurrency"]["decimal"])
    return f"{left.normalize():f}"


def buy(request: Request) -> JSONResponse:
    session = payment.checkout.sessions.create(
        mode="payment",
        line_items=[{"price_id": payment.prices.retrieve(PACK).id, "quantity": 1}],
        success_url="https://shop.example.com/thanks",
        cancel_url="https://shop.example.com/",
        client_reference_id=request.path_params["user"],
    )
    return JSONResponse({"checkout_url": session.url, "session_id": session.id})


async def webhook(request: Request) -> JSONResponse:
    try:
        event = webhooks.construct_event(await request.body(), request.headers, os.environ["SHOP_WEBHOOK_SECRET"])
    except SignatureVerificationError as exc:
        return JSONResponse({"error": exc.reason}, status_code=400)
    state = request.app.state
    if event.id in state.events_seen:  # PaymentKit delivers at least once
        return JSONResponse({"duplicate": event.id})
    if event.type == "checkout.session.completed":
        session = event.data.object
        state.customers[session.client_reference_id] = session.customer_id
    state.events_seen.add(event.id)
    return JSONResponse({"received": event.id})


def user(request: Request) -> JSONResponse:
    customer_id = request.app.state.customers.get(request.path_params["user"])
    if customer_id is None:
        return JSONResponse({"access": False, "credits": "0"})
    return JSONResponse({"access": True, "credits": credits_of(customer_id)})


def create_app() -> Starlette:
    # Plain `def` handlers run in Starlette's thread pool: the sync `payment` client never blocks the loop.
    app = Starlette(
        routes=[
            Route("/users/{user}/buy", buy, methods=["POST"]),
            Route("/webhooks", webhook, methods=["POST"]),
            Route("/users/{user}", user),
        ]
    )
    app.state.customers = {}  # user -> PaymentKit customer id, once they have paid
    app.state.events_seen = set()
    return app
