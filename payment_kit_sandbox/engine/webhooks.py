"""Webhook delivery: POST each event to the endpoints subscribed to it, signed.

Deliveries are rows of the store's webhook queue, written in the same
transaction as their event, so a delivery survives a crash or a restart
(at least once: a receiver may see an event twice, never zero times). A
background worker per store claims due rows and POSTs them, never on the
request that caused the event. Each try is kept as a WebhookAttempt; a
failed try (no answer, or an answer outside 2xx) is retried after the
delays of `POLICY`, then given up. An endpoint that is deleted or disabled
meanwhile gets no further tries. Requests go exactly where the endpoint's
URL says: no proxy from the environment, no redirects followed.

Every delivery is signed with the Standard Webhooks scheme (PaymentKit's own
signing scheme is not published): `webhook-id` (the event id, the same on
every retry), `webhook-timestamp` (wall-clock Unix seconds of this try) and
`webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
`{id}.{timestamp}.{body}` keyed with the endpoint's `whsec_` secret).

`POLICY` comes from the environment (`PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS`,
comma-separated seconds, and `PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT`); tests
replace it to retry in milliseconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..context import iso, new_id, stored_clock_offset
from ..database import Store

__all__ = ["POLICY", "Policy", "body_of", "deliver", "matches", "new_secret", "sign", "start", "subscribed", "wake"]

logger = logging.getLogger("payment_kit_sandbox.webhooks")

ENDPOINT = "webhook_endpoint"
ATTEMPT = "webhook_attempt"
EVENT = "event"
WORKERS = 4
BODY_LIMIT = 4096  # characters of a receiver's answer worth keeping
LEASE_MARGIN = 5.0  # seconds beyond the timeout before a claimed delivery is claimable again
IDLE_POLL = 0.25  # seconds between looks at the queue when nothing is due sooner


@dataclass(frozen=True)
class Policy:
    retry_delays: tuple[float, ...]  # seconds before each retry; its length bounds the retries
    timeout: float  # seconds a receiver has to answer one try
    hosts: frozenset[str] = frozenset()  # hosts beyond loopback that may receive deliveries ("*": any)

    def allows(self, url: str) -> bool:
        """Loopback receivers always; others only when named (a development server should not
        post events to the internet because an example URL was registered)."""
        host = (urlsplit(url).hostname or "").lower()
        if "*" in self.hosts or host in self.hosts or host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def _policy_from_env() -> Policy:
    delays = os.environ.get("PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS", "0.5,2,8")
    timeout = os.environ.get("PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT", "10")
    hosts = frozenset(
        h.strip().lower() for h in os.environ.get("PAYMENT_KIT_SANDBOX_WEBHOOK_HOSTS", "").split(",") if h.strip()
    )
    try:
        policy = Policy(tuple(float(part) for part in delays.split(",") if part.strip()), float(timeout), hosts)
    except ValueError:
        raise ValueError(
            "PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS must be comma-separated seconds and "
            f"PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT seconds, not {delays!r} and {timeout!r}"
        ) from None
    if any(d < 0 for d in policy.retry_delays) or policy.timeout <= 0:
        raise ValueError("webhook retry delays cannot be negative, and the timeout must be positive")
    return policy


POLICY = _policy_from_env()


def matches(endpoint: dict[str, Any], event_type: str) -> bool:
    events = endpoint.get("enabled_events") or []
    return endpoint.get("status") == "enabled" and ("*" in events or event_type in events)


def subscribed(store: Store, livemode: bool, event_type: str) -> list[dict[str, Any]]:
    """The endpoints of a mode that take an event type (call inside a transaction)."""
    return [e for e in store.all(ENDPOINT, livemode) if matches(e, event_type)]


def new_secret() -> str:
    """An endpoint's signing secret: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value of one delivery (Standard Webhooks, `v1`)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def body_of(event: dict[str, Any]) -> bytes:
    """The exact bytes a receiver gets, and signs over, for an event."""
    return json.dumps(event, separators=(",", ":")).encode()


def deliver(store: Store, event: dict[str, Any], endpoints: list[dict[str, Any]]) -> None:
    """Queue `event` for each endpoint (call inside the transaction that stores the event)."""
    now = time.time()
    for endpoint in endpoints:
        store.queue_delivery(new_id("whd"), event["id"], endpoint["id"], bool(event["livemode"]), now)


def wake(store: Store) -> None:
    """Start the store's worker if needed and have it look at the queue now."""
    _dispatcher(store).wake()


def start(store: Store) -> None:
    """Take over the queue of a database opened afresh: deliveries a previous process left
    pending (killed mid-try included) are made."""
    with store.transaction():
        store.release_deliveries()
    wake(store)


class _Dispatcher:
    """Claims due deliveries from the queue and works them off on a few threads."""

    def __init__(self, store: Store) -> None:
        self._store = weakref.ref(store)
        self._wake = threading.Event()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="payment-kit-webhooks")
        self._busy = 0  # deliveries claimed and not yet settled: no more are claimed than can be tried
        self._busy_lock = threading.Lock()
        self._http = httpx.Client(trust_env=False, follow_redirects=False)
        threading.Thread(target=self._poll, name="payment-kit-webhook-queue", daemon=True).start()

    def wake(self) -> None:
        self._wake.set()

    def _poll(self) -> None:
        while True:
            store = self._store()
            if store is None or store.closed:
                return
            self._wake.clear()  # a wake from here on means: look again at once
            with self._busy_lock:
                free = WORKERS - self._busy
            due: list[dict[str, Any]] = []
            next_at = None
            try:
                with store.transaction():
                    if free:
                        due = store.claim_deliveries(time.time(), POLICY.timeout + LEASE_MARGIN, free)
                    next_at = None if due else store.next_delivery_at()
            except Exception:
                if store.closed:
                    return
                logger.exception("reading the webhook queue failed; trying again")
            with self._busy_lock:
                self._busy += len(due)
            for delivery in due:
                self._pool.submit(self._work, delivery)
            if due:
                wait = 0.0
            elif not free or next_at is None:  # a worker finishing, or a new delivery, wakes this
                wait = IDLE_POLL
            else:
                wait = min(IDLE_POLL, max(0.0, next_at - time.time()))
            del store
            if wait:
                self._wake.wait(wait)

    def _work(self, delivery: dict[str, Any]) -> None:
        store = self._store()
        if store is None:
            with self._busy_lock:
                self._busy -= 1
            return
        try:
            self._try(store, delivery)
        except Exception:  # a closed store or a bug: the lease runs out and the row is tried again
            logger.exception("webhook delivery %s failed", delivery["id"])
        finally:
            with self._busy_lock:
                self._busy -= 1
            self._wake.set()

    def _try(self, store: Store, delivery: dict[str, Any]) -> None:
        livemode = bool(delivery["livemode"])
        with store.transaction():
            endpoint = store.get(ENDPOINT, delivery["endpoint_id"], livemode)
            event = store.get(EVENT, delivery["event_id"], livemode)
            if endpoint is None or event is None or endpoint.get("status") != "enabled":
                store.settle_delivery(delivery["id"], state="dropped", attempts=delivery["attempts"], next_at=0.0)
                return
        retry_count = int(delivery["attempts"])
        allowed = POLICY.allows(endpoint["url"])
        if allowed:
            status, body = self._post(endpoint, event)
        else:
            status, body = (
                0,
                (
                    "not delivered: the sandbox delivers webhooks to loopback addresses only; "
                    "name other hosts in PAYMENT_KIT_SANDBOX_WEBHOOK_HOSTS (or * for any)"
                ),
            )
        succeeded = 200 <= status < 300
        delays = POLICY.retry_delays
        retry = allowed and not succeeded and retry_count < len(delays)
        with store.transaction():
            now = iso(time.time() + stored_clock_offset(store))
            store.insert(
                ATTEMPT,
                {
                    "id": new_id("wha"),
                    "livemode": livemode,
                    "event_id": event["id"],
                    "webhook_endpoint_id": endpoint["id"],
                    "status": "succeeded" if succeeded else "failed",
                    "response_status": status,
                    "response_body": body,
                    "retry_count": retry_count,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if succeeded:
                current = store.get(EVENT, event["id"], livemode)
                if current is not None:
                    current["pending_webhooks"] = max(0, int(current.get("pending_webhooks") or 0) - 1)
                    current["updated_at"] = now
                    store.save(EVENT, current)
            store.settle_delivery(
                delivery["id"],
                state="pending" if retry else "delivered" if succeeded else "failed",
                attempts=retry_count + 1,
                next_at=time.time() + delays[retry_count] if retry else 0.0,
            )

    def _post(self, endpoint: dict[str, Any], event: dict[str, Any]) -> tuple[int, Any]:
        """The receiver's status and answer; status 0 and the reason when there was no answer."""
        body = body_of(event)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "PaymentKit-Sandbox-Webhooks",
            "webhook-id": event["id"],
            "webhook-timestamp": str(timestamp),
        }
        if endpoint.get("secret"):
            headers["webhook-signature"] = sign(endpoint["secret"], event["id"], timestamp, body)
        try:
            response = self._http.post(endpoint["url"], content=body, headers=headers, timeout=POLICY.timeout)
        except httpx.HTTPError as exc:
            return 0, f"no answer from the receiver: {type(exc).__name__}: {exc}"[:BODY_LIMIT]
        return response.status_code, _answer(response)


def _answer(response: httpx.Response) -> Any:
    text = response.text
    if not text:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    return text[:BODY_LIMIT]


_DISPATCHERS: weakref.WeakKeyDictionary[Store, _Dispatcher] = weakref.WeakKeyDictionary()
_DISPATCHERS_LOCK = threading.Lock()


def _dispatcher(store: Store) -> _Dispatcher:
    with _DISPATCHERS_LOCK:
        found = _DISPATCHERS.get(store)
        if found is None:
            found = _DISPATCHERS[store] = _Dispatcher(store)
        return found
