"""test_starlette_shop.py, written for the Flask shop: the same tests, through Flask's own test
client, with nothing but the plugin's `payment_kit_sandbox` fixture. The sandbox delivers its
signed webhooks into the WSGI app exactly as into the ASGI one."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from flask_shop import create_app, set_up_catalog

from payment_kit.testing import Sandbox

WRONG_SECRET = "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="  # a valid secret, not the endpoint's


@pytest.fixture
def shop(payment_kit_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    app = create_app()
    endpoint = payment_kit_sandbox.forward_webhooks(app, "/webhooks", enabled_events=["checkout.session.completed"])
    monkeypatch.setenv("SHOP_WEBHOOK_SECRET", endpoint.secret)
    set_up_catalog()
    with app.test_client() as client:
        yield client


def test_buying_the_pack_grants_access_and_credits(shop: FlaskClient, payment_kit_sandbox: Sandbox) -> None:
    assert shop.get("/users/ada").json == {"access": False, "credits": "0"}
    checkout = shop.post("/users/ada/buy").json
    assert checkout is not None
    payment_kit_sandbox.complete_checkout(checkout["session_id"], customer_did="z1ada")  # Ada pays
    assert shop.get("/users/ada").json == {"access": True, "credits": "100"}
    assert [d.status_code for d in payment_kit_sandbox.deliveries] == [200]


def test_an_abandoned_checkout_grants_nothing(shop: FlaskClient) -> None:
    shop.post("/users/bob/buy")
    assert shop.get("/users/bob").json == {"access": False, "credits": "0"}


def test_a_forged_event_is_refused(shop: FlaskClient) -> None:
    forged = b'{"id": "evt_forged", "type": "checkout.session.completed", "data": {"object": {}}}'
    headers = {"webhook-id": "evt_forged", "webhook-timestamp": "1", "webhook-signature": "v1,Zm9yZ2Vk"}
    answer = shop.post("/webhooks", data=forged, headers=headers)
    assert answer.status_code == 400


def test_an_event_delivered_twice_is_applied_once(shop: FlaskClient, payment_kit_sandbox: Sandbox) -> None:
    checkout = shop.post("/users/cy/buy").json
    assert checkout is not None
    payment_kit_sandbox.complete_checkout(checkout["session_id"], customer_did="z1cy")
    [completed] = payment_kit_sandbox.events(type="checkout.session.completed")["list"]
    payment_kit_sandbox.resend_event(completed["id"])
    assert payment_kit_sandbox.deliveries[-1].response == {"duplicate": completed["id"]}
    assert shop.get("/users/cy").json == {"access": True, "credits": "100"}


def test_a_delivery_the_shop_refused_can_be_retried(
    shop: FlaskClient, payment_kit_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = os.environ["SHOP_WEBHOOK_SECRET"]
    monkeypatch.setenv(
        "SHOP_WEBHOOK_SECRET", "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    )  # misconfigured
    checkout = shop.post("/users/di/buy").json
    assert checkout is not None
    payment_kit_sandbox.complete_checkout(checkout["session_id"], customer_did="z1di")
    assert payment_kit_sandbox.deliveries[-1].status_code == 400
    assert shop.get("/users/di").json["access"] is False  # type: ignore[index]

    monkeypatch.setenv("SHOP_WEBHOOK_SECRET", right)  # fixed: PaymentKit's retry now gets through
    [retried] = payment_kit_sandbox.retry_failed_deliveries()
    assert retried.ok and shop.get("/users/di").json == {"access": True, "credits": "100"}
