"""`payment_kit.webhooks`: verification of Standard Webhooks signatures, and typed events.

Cross-checked with `standardwebhooks`, the scheme's reference library (a test-only
dependency): what one signs, the other verifies, both ways.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import payment_kit
from payment_kit import ConfigurationError, PaymentKitError, SignatureVerificationError, webhooks
from payment_kit_client import models
from payment_kit_sandbox.engine.webhooks import body_of, new_secret, sign

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "payment-kit.yaml"
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def event_body(event_type: str = "checkout.session.completed", obj: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "evt_1234567890abcdefghijklmn",
        "object": "event",
        "type": event_type,
        "livemode": False,
        "created": int(time.time()),
        "created_at": "2026-01-01T00:00:00.000Z",
        "data": {"object": obj if obj is not None else {"id": "cs_1", "amount_total": "1500", "status": "complete"}},
    }


def signed(body: dict[str, Any], secret: str = SECRET, at: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A delivery signed by the reference library."""
    payload = json.dumps(body)
    timestamp = datetime.datetime.fromtimestamp(at if at is not None else time.time(), tz=datetime.UTC)
    signature = Webhook(secret).sign(body["id"], timestamp, payload)
    headers = {
        "webhook-id": body["id"],
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
    return payload.encode(), headers


def test_what_the_reference_library_signs_construct_event_verifies() -> None:
    payload, headers = signed(event_body())
    event = webhooks.construct_event(payload, headers, SECRET)
    assert isinstance(event, models.Event)
    assert event.id == "evt_1234567890abcdefghijklmn" and event.type == "checkout.session.completed"
    session = event.data.object
    assert isinstance(session, models.CheckoutSession)
    assert session.id == "cs_1" and session.amount_total == "1500" and session["status"] == "complete"
    assert event["object"] == "event" and event.livemode is False
    # str payloads and differently-cased header names are the same delivery
    shouted = {name.upper(): value for name, value in headers.items()}
    assert webhooks.construct_event(payload.decode(), shouted, SECRET).id == event.id


def test_what_the_sandbox_signs_the_reference_library_verifies() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    body = body_of(event_body("invoice.paid", {"id": "in_1", "total": "900"}))
    timestamp = int(time.time())
    headers = {
        "webhook-id": "evt_1234567890abcdefghijklmn",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, "evt_1234567890abcdefghijklmn", timestamp, body),
    }
    assert Webhook(secret).verify(body, headers)["type"] == "invoice.paid"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    event = webhooks.construct_event(body, headers, secret)
    assert isinstance(event.data.object, models.Invoice) and event.data.object.total == "900"


def test_several_signatures_any_one_of_which_verifies_rotation() -> None:
    payload, headers = signed(event_body())
    old = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    _, with_old = signed(event_body(), old, at=int(headers["webhook-timestamp"]))
    headers["webhook-signature"] = f"{with_old['webhook-signature']} v2,ignored {headers['webhook-signature']}"
    assert webhooks.construct_event(payload, headers, SECRET).id.startswith("evt_")
    assert webhooks.construct_event(payload, headers, old).id.startswith("evt_")
    # the reference library accepts the same header
    assert Webhook(old).verify(payload, headers)["id"] == "evt_1234567890abcdefghijklmn"


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        (lambda p, h: (p.replace(b"1500", b"1"), h), "bad_signature", "no v1 signature"),
        (
            lambda p, h: (p, {**h, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}),
            "bad_signature",
            "no v1",
        ),
        (
            lambda p, h: (p, {**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")}),
            "bad_signature",
            "no v1",
        ),
        (
            lambda p, h: (p, {k: v for k, v in h.items() if k != "webhook-signature"}),
            "missing_header",
            "webhook-signature",
        ),
        (lambda p, h: (p, {k: v for k, v in h.items() if k != "webhook-id"}), "missing_header", "webhook-id"),
        (
            lambda p, h: (p, {k: v for k, v in h.items() if k != "webhook-timestamp"}),
            "missing_header",
            "webhook-timestamp",
        ),
        (lambda p, h: (p, {**h, "webhook-timestamp": "soon"}), "malformed_header", "Unix seconds"),
        (lambda p, h: (p, {**h, "webhook-id": "evt_other"}), "bad_signature", "no v1"),
    ],
)
def test_a_delivery_that_cannot_be_trusted_is_refused_naming_why(change: Any, reason: str, words: str) -> None:
    payload, headers = change(*signed(event_body()))
    with pytest.raises(SignatureVerificationError) as caught:
        webhooks.construct_event(payload, headers, SECRET)
    assert caught.value.reason == reason and words in str(caught.value)
    assert SECRET not in str(caught.value)
    assert (
        isinstance(caught.value, PaymentKitError)
        and payment_kit.SignatureVerificationError is SignatureVerificationError
    )


def test_a_wrong_secret_is_a_bad_signature() -> None:
    payload, headers = signed(event_body())
    with pytest.raises(SignatureVerificationError) as caught:
        webhooks.construct_event(payload, headers, new_secret())
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("age", [-400, 301, 86400])
def test_a_timestamp_outside_the_tolerance_is_stale_either_way(age: int) -> None:
    payload, headers = signed(event_body(), at=int(time.time()) - age)
    with pytest.raises(SignatureVerificationError) as caught:
        webhooks.construct_event(payload, headers, SECRET)
    assert caught.value.reason == "stale_timestamp" and "tolerance is 300 seconds" in str(caught.value)
    # the reference library refuses the same delivery, and a wider tolerance accepts it
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(payload, headers)
    assert webhooks.construct_event(payload, headers, SECRET, tolerance=abs(age) + 5).id.startswith("evt_")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"id": "evt_x", "type": 3, "data": {}}', "'type'"),
        (b'{"id": "evt_x", "type": "invoice.paid"}', "'data'"),
        (b"\xff\xfe", "not JSON"),
        (b'{"id": "evt_x", "type": "t", "data": {"object": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "64 deep"),
        (b'{"id": "evt_x", "type": "t", "data": {"object": ' + b'{"a":' * 65 + b"1" + b"}" * 65 + b"}}", "64 deep"),
        (b"null", "JSON object"),
    ],
)
def test_a_signed_payload_that_is_not_an_event_is_malformed(payload: bytes, words: str) -> None:
    timestamp = int(time.time())
    headers = {
        "webhook-id": "evt_x",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(SECRET, "evt_x", timestamp, payload),
    }
    with pytest.raises(SignatureVerificationError) as caught:
        webhooks.construct_event(payload, headers, SECRET)
    assert caught.value.reason == "malformed_payload" and words in str(caught.value)


def test_an_event_nested_to_the_limit_parses_and_reads_back() -> None:
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(60):  # with the event's own three levels: 64 in all
        deep = {"a": deep}
    event = webhooks.parse_event(json.dumps(event_body() | {"data": {"object": deep}}))
    assert event.to_dict()["data"]["object"] == deep


def test_a_secret_that_is_not_base64_is_a_configuration_error() -> None:
    payload, headers = signed(event_body())
    with pytest.raises(ConfigurationError, match="whsec_"):
        webhooks.construct_event(payload, headers, "whsec_not base64!")
    raw = base64.b64decode(SECRET[6:])
    assert webhooks.construct_event(payload, headers, raw).id.startswith("evt_")


def test_parse_event_reads_without_verifying_and_types_the_object_by_event_type() -> None:
    sub = webhooks.parse_event(
        json.dumps(event_body("customer.subscription.renewed", {"id": "sub_1", "status": "active"}))
    )
    assert isinstance(sub.data.object, models.Subscription) and sub.data.object.status == "active"
    grant = webhooks.parse_event(
        json.dumps(event_body("customer.credit_grant.granted", {"id": "cg_1", "amount": "10"}))
    )
    assert isinstance(grant.data.object, models.CreditGrant) and grant.data.object.amount == "10"
    unknown = webhooks.parse_event(json.dumps(event_body("exchange_rate.spread_exceeded", {"rate": "1.5"})))
    assert unknown.data.object == {"rate": "1.5"} and type(unknown.data.object) is dict
    assert unknown.to_dict()["data"]["object"] == {"rate": "1.5"}


def test_every_event_type_the_document_lists_parses_as_the_object_it_names() -> None:
    document = yaml.safe_load(SPEC_PATH.read_text())
    listed = document["x-webhooks"]
    assert {"checkout.session.completed", "customer.subscription.created", "customer.credit_grant.granted"} <= set(
        listed
    )
    for event_type, item in listed.items():
        named = item["post"]["x-data-object"]
        assert named in document["components"]["schemas"], event_type
        assert webhooks.object_model(event_type) is getattr(models, named), event_type


@pytest.mark.parametrize("secret", ["", "whsec_", b"", "  "])
def test_an_empty_secret_is_a_configuration_error_not_a_bad_signature(secret: str | bytes) -> None:
    payload, headers = signed(event_body())
    with pytest.raises(ConfigurationError, match="secret is empty"):
        webhooks.construct_event(payload, headers, secret)


@pytest.mark.parametrize("header", ["v1,@@@", "v1,", "garbage", "v1," + base64.b64encode(b"short").decode()])
def test_a_signature_header_that_cannot_be_read_is_malformed(header: str) -> None:
    payload, headers = signed(event_body())
    with pytest.raises(SignatureVerificationError) as caught:
        webhooks.construct_event(payload, {**headers, "webhook-signature": header}, SECRET)
    assert caught.value.reason == "malformed_header" and "v1,<base64" in str(caught.value)


def test_a_readable_signature_among_unreadable_ones_still_verifies() -> None:
    payload, headers = signed(event_body())
    rotated = {**headers, "webhook-signature": f"v1,@@@ {headers['webhook-signature']}"}
    assert webhooks.construct_event(payload, rotated, SECRET).id.startswith("evt_")
