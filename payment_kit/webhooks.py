"""Webhook deliveries: verify where one came from, then read it as a typed `Event`.

    from payment_kit import SignatureVerificationError, webhooks

    try:
        event = webhooks.construct_event(raw_body, request.headers, secret)
    except SignatureVerificationError as exc:
        return 400, exc.reason
    if event.type == "checkout.session.completed":
        session = event.data.object          # a CheckoutSession model
        fulfil(session.id, session.amount_total)

Signatures follow the Standard Webhooks scheme: headers `webhook-id`,
`webhook-timestamp` (Unix seconds) and `webhook-signature` (one or more
space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{raw body}">`),
keyed with a `whsec_<base64>` secret. This is what the local sandbox signs
with. PaymentKit's own signing scheme is not published, and its webhook
endpoints carry no secret: against a real deployment, use `parse_event` and
authenticate deliveries by other means (a secret in the endpoint's URL, a
private network), and fetch anything that matters back through the API.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from payment_kit_client import models
from payment_kit_client.model_runtime import cache_decoded, construct
from payment_kit_client.models import Event

from ._errors import ConfigurationError, SignatureVerificationError
from .event_types import EVENT_OBJECTS

__all__ = ["DEFAULT_TOLERANCE", "Event", "construct_event", "object_model", "parse_event"]

DEFAULT_TOLERANCE = 300  # seconds a delivery's timestamp may be away from this machine's clock
# PaymentKit's events nest a few levels (data.object.items[].price.metadata...); far deeper is an attack.
MAX_PAYLOAD_DEPTH = 64
TOO_DEEP = f"the payload nests objects and arrays more than {MAX_PAYLOAD_DEPTH} deep"

# The model `data.object` is, by event type: the document's `x-webhooks` names it for every type it
# lists (`event_types.EVENT_OBJECTS`); for another type, the longest dotted prefix listed here does
# (`customer.subscription.upgraded` -> Subscription).
_OBJECT_BY_PREFIX = {
    "checkout.session": "CheckoutSession",
    "customer.subscription": "Subscription",
    "customer.credit_grant": "CreditGrant",
    "customer": "Customer",
    "invoice": "Invoice",
    "invoiceitem": "InvoiceItem",
    "payment_intent": "PaymentIntent",
    "payment_link": "PaymentLink",
    "payment_method": "PaymentMethod",
    "price": "Price",
    "product": "Product",
    "coupon": "Coupon",
    "promotion_code": "PromotionCode",
    "refund": "Refund",
}


def construct_event(
    payload: bytes | str,
    headers: Mapping[str, Any],
    secret: str | bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
) -> Event:
    """Verify a delivery and answer its `Event`; raise `SignatureVerificationError` if it fails.

    `payload` is the raw request body, exactly as received (not parsed and re-serialised).
    `headers` is any mapping of the request's headers (names matched case-insensitively).
    `secret` is the endpoint's `whsec_…` secret (or its raw key bytes). Any one of several
    `v1` signatures in the header suffices, so that a secret can be rotated. A timestamp more
    than `tolerance` seconds from now, either way, is refused (replayed deliveries).

    Raises:
        ConfigurationError: the secret is empty, or not a `whsec_…` value (the receiver's mistake).
        SignatureVerificationError: the delivery cannot be trusted; `reason` says why
            (`missing_header`, `malformed_header`, `stale_timestamp`, `bad_signature`,
            `malformed_payload`).
    """
    key = _key(secret)  # a missing secret is the receiver's mistake, whatever the delivery holds
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    named = {str(name).lower(): value for name, value in headers.items()}
    message_id = _header(named, "webhook-id")
    sent_at = _header(named, "webhook-timestamp")
    signatures = _header(named, "webhook-signature")
    try:
        timestamp = int(sent_at)
    except ValueError:
        raise SignatureVerificationError(
            "malformed_header", f"webhook-timestamp must be Unix seconds, not {sent_at[:40]!r}"
        ) from None
    now = int(time.time())
    if abs(now - timestamp) > tolerance:
        raise SignatureVerificationError(
            "stale_timestamp",
            f"webhook-timestamp {timestamp} is {abs(now - timestamp)} seconds from now; "
            f"the tolerance is {tolerance} seconds",
        )
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    offered = [part.partition(",") for part in signatures.split()]
    if not any(v == "v1" and hmac.compare_digest(sig.encode(), expected) for v, _, sig in offered):
        unreadable = [f"{v}{c}{sig}"[:20] for v, c, sig in offered if not c or (v == "v1" and not _digest(sig))]
        if unreadable:
            raise SignatureVerificationError(
                "malformed_header",
                f"webhook-signature must be space-separated `v1,<base64 HMAC-SHA256>` entries; "
                f"{unreadable[0]!r} is not one",
            )
        raise SignatureVerificationError(
            "bad_signature",
            f"no v1 signature in webhook-signature matches the payload and secret "
            f"({len(offered)} signature(s) offered); check the secret and that the body is the raw bytes received",
        )
    event = parse_event(body)
    if event.id != message_id:
        raise SignatureVerificationError(
            "malformed_payload", f"the payload is event {event.id!r} but webhook-id says {message_id!r}"
        )
    return event


def parse_event(payload: bytes | str) -> Event:
    """The `Event` of a delivery, without verifying it (for deployments that do not sign)."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureVerificationError("malformed_payload", f"the payload is not JSON: {exc}") from None
    except RecursionError:  # deeper than the interpreter's stack
        raise SignatureVerificationError("malformed_payload", TOO_DEEP) from None
    if _deeper_than(data, MAX_PAYLOAD_DEPTH):
        raise SignatureVerificationError("malformed_payload", TOO_DEEP)
    if not isinstance(data, dict):
        raise SignatureVerificationError(
            "malformed_payload", f"the payload must be a JSON object, not {type(data).__name__}"
        )
    for name, kind in (("id", str), ("type", str), ("data", dict)):
        if not isinstance(data.get(name), kind):
            raise SignatureVerificationError(
                "malformed_payload",
                f"the payload is not an event: {name!r} must be a JSON {'string' if kind is str else 'object'}",
            )
    event = construct(Event, data)
    event_data = event.data
    obj = data["data"].get("object")
    model = object_model(data["type"])
    if event_data is not None and isinstance(obj, dict):
        # `data.object` reads as the model its type names (a plain dict for unknown types).
        cache_decoded(event_data, "object", construct(model, obj) if model is not None else obj)
    return event


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON `value` nests objects and arrays more than `limit` deep (walked without
    recursion, so a hostile body cannot exhaust the stack here or in any later `to_dict()`)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def object_model(event_type: str) -> Any:
    """The model class `data.object` is for an event type, or None when the type is not known."""
    name = EVENT_OBJECTS.get(event_type)  # type: ignore[call-overload]
    prefix = event_type
    while name is None and "." in prefix:
        prefix = prefix.rpartition(".")[0]
        name = _OBJECT_BY_PREFIX.get(prefix)
    return None if name is None else getattr(models, name)


def _header(headers: Mapping[str, Any], name: str) -> str:
    value = headers.get(name)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not value:
        raise SignatureVerificationError("missing_header", f"the delivery has no {name} header")
    return str(value)


def _digest(signature: str) -> bool:
    """Whether a `v1` signature is the base64 of an HMAC-SHA256 (32 bytes)."""
    try:
        return len(base64.b64decode(signature, validate=True)) == hashlib.sha256().digest_size
    except binascii.Error:
        return False


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes | bytearray):
        key = bytes(secret)
    elif isinstance(secret, str):
        try:
            key = base64.b64decode(secret.strip().removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ConfigurationError(
                "the webhook secret must be the endpoint's whsec_… value (base64 after the prefix)"
            ) from None
    else:
        raise ConfigurationError(f"the webhook secret must be a str or bytes, not {type(secret).__name__}")
    if not key:
        # Every HMAC key "verifies" something; an empty one is a secret that was never configured.
        raise ConfigurationError(
            "the webhook secret is empty: pass the endpoint's whsec_… secret (webhook_endpoints.create answers it)"
        )
    return key
