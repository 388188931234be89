"""The Starlette shop's own tests: nothing but the `payment_kit_sandbox` fixture of the plugin
(installed with blocklet-payment-kit). Each test gets a fresh sandbox in this process, which the
app's `payment` client talks to, and whose webhooks reach the app signed, before the call that
caused them returns: no server, no port, no sleeping."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette_shop import create_app, set_up_catalog

from payment_kit.testing import Sandbox

WRONG_SECRET = "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="  # a valid secret, not the endpoint's


@pytest.fixture
def shop(payment_kit_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    app = create_app()
    endpoint = payment_kit_sandbox.forward_webhooks(app, "/webhooks", enabled_events=["checkout.session.completed"])
    monkeypatch.setenv("SHOP_WEBHOOK_SECRET", endpoint.secret)
    set_up_catalog()
    with TestClient(app) as client:
        yield client


def test_buying_the_pack_grants_access_and_credits(shop: TestClient, payment_kit_sandbox: Sandbox) -> None:
    assert shop.get("/users/ada").json() == {"access": False, "credits": "0"}
    checkout = shop.post("/users/ada/buy").json()
    payment_kit_sandbox.complete_checkout(checkout["session_id"], customer_did="z1ada")  # Ada pays
    assert shop.get("/users/ada").json() == {"access": True, "credits": "100"}
    assert [d.status_code for d in payment_kit_sandbox.deliveries] == [200]


def test_an_abandoned_checkout_grants_nothing(shop: TestClient) -> None:
    shop.post("/users/bob/buy")
    assert shop.get("/users/bob").json() == {"access": False, "credits": "0"}


def test_a_forged_event_is_refused(shop: TestClient) -> None:
    forged = b'{"id": "evt_forged", "type": "checkout.session.completed", "data": {"object": {}}}'
    headers = {"webhook-id": "evt_forged", "webhook-timestamp": "1", "webhook-signature": "v1,Zm9yZ2Vk"}
    answer = shop.post("/webhooks", content=forged, headers=headers)
    assert answer.status_code == 400


def test_an_event_delivered_twice_is_applied_once(shop: TestClient, payment_kit_sandbox: Sandbox) -> None:
    payment_kit_sandbox.complete_checkout(shop.post("/users/cy/buy").json()["session_id"], customer_did="z1cy")
    [completed] = payment_kit_sandbox.events(type="checkout.session.completed")["list"]
    payment_kit_sandbox.resend_event(completed["id"])
    assert payment_kit_sandbox.deliveries[-1].response == {"duplicate": completed["id"]}
    assert shop.get("/users/cy").json() == {"access": True, "credits": "100"}


def test_a_delivery_the_shop_refused_can_be_retried(
    shop: TestClient, payment_kit_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = os.environ["SHOP_WEBHOOK_SECRET"]
    monkeypatch.setenv(
        "SHOP_WEBHOOK_SECRET", "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    )  # misconfigured
    payment_kit_sandbox.complete_checkout(shop.post("/users/di/buy").json()["session_id"], customer_did="z1di")
    assert payment_kit_sandbox.deliveries[-1].status_code == 400
    assert shop.get("/users/di").json()["access"] is False

    monkeypatch.setenv("SHOP_WEBHOOK_SECRET", right)  # fixed: PaymentKit's retry now gets through
    [retried] = payment_kit_sandbox.retry_failed_deliveries()
    assert retried.ok and shop.get("/users/di").json() == {"access": True, "credits": "100"}
