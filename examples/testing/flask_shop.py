"""The shop of starlette_shop.py on Flask (WSGI): a pack of 100 AI credits, sold through
PaymentKit's checkout, access granted by the signed `checkout.session.completed` webhook.
test_flask_shop.py is its suite, the Starlette one written for Flask.

    POST /users/ada/buy   -> {"checkout_url", "session_id"}
    POST /webhooks        <- PaymentKit's signed events (secret: SHOP_WEBHOOK_SECRET)
    GET  /users/ada       -> {"access": true, "credits": "100"}
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app, request

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


def create_app() -> Flask:
    app = Flask(__name__)
    app.extensions["shop"] = {"customers": {}, "events_seen": set()}  # a real shop: its database

    def state() -> dict[str, Any]:
        shop: dict[str, Any] = current_app.extensions["shop"]
        return shop

    @app.post("/users/<user>/buy")
    def buy(user: str) -> dict[str, Any]:
        session = payment.checkout.sessions.create(
            mode="payment",
            line_items=[{"price_id": payment.prices.retrieve(PACK).id, "quantity": 1}],
            success_url="https://shop.example.com/thanks",
            cancel_url="https://shop.example.com/",
            client_reference_id=user,
        )
        return {"checkout_url": session.url, "session_id": session.id}

    @app.post("/webhooks")
    def webhook() -> tuple[dict[str, Any], int]:
        try:
            event = webhooks.construct_event(request.get_data(), request.headers, os.environ["SHOP_WEBHOOK_SECRET"])
        except SignatureVerificationError as exc:
            return {"error": exc.reason}, 400
        if event.id in state()["events_seen"]:  # PaymentKit delivers at least once
            return {"duplicate": event.id}, 200
        if event.type == "checkout.session.completed":
            session = event.data.object
            state()["customers"][session.client_reference_id] = session.customer_id
        state()["events_seen"].add(event.id)
        return {"received": event.id}, 200

    @app.get("/users/<user>")
    def user(user: str) -> dict[str, Any]:
        customer_id = state()["customers"].get(user)
        if customer_id is None:
            return {"access": False, "credits": "0"}
        return {"access": True, "credits": credits_of(customer_id)}

    return app
