"""Webhook delivery: POST each event to the endpoints subscribed to it, signed.

Deliveries are rows of the store's webhook queue, written in the transaction of the request that
made their event (`engine.events.record`: a transactional outbox), so they exist exactly when the
request's writes do, and survive a crash or a restart (at least once: a receiver may see an event
twice, never zero times). A background worker per store claims due rows and POSTs them, never on
the request that caused the event. Each try is kept as a WebhookAttempt; a failed try (no complete
answer, an answer outside 2xx, or anything that kept the try from being made) is retried after the
delays of `POLICY`, then given up. An endpoint that is deleted or disabled meanwhile gets no further
tries. Requests go exactly where the endpoint's URL says: no proxy from the environment, no
redirects followed.

No receiver can hold up another's deliveries, nor the sandbox:

- An attempt has one deadline, `POLICY.timeout`, for everything: connecting, sending, and reading
  the answer. It is an asyncio timeout, which cancels the attempt wherever it is, so a receiver
  that trickles its answer a byte at a time cannot stretch it (a per-read timeout restarts with
  every byte).
- At most `ANSWER_BYTES` of an answer are read, as they arrive; the rest is never read (the
  connection is closed), and the attempt records that it was cut.
- Attempts run as asyncio tasks on one thread per store, at most one per endpoint at a time (across
  worker processes too: an endpoint with a leased delivery is busy) and up to `MAX_IN_FLIGHT` at
  once, due endpoints taken oldest delivery first. So an endpoint's deliveries wait only for its
  own earlier attempts, never for another endpoint's: with at most 16 endpoints a mode (see
  `engine.webhook_endpoints`), every endpoint of a database has a lane of its own. (A fixed pool
  shared first come, first served let four slow receivers hold every worker.)

Every delivery is signed with the Standard Webhooks scheme (PaymentKit's own signing scheme is not
published): `webhook-id` (the event id, the same on every retry), `webhook-timestamp` (wall-clock
Unix seconds of this try) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
`{id}.{timestamp}.{body}` keyed with the endpoint's `whsec_` secret).

A sandbox with no background worker (`SandboxConfig(webhook_worker=False)`: payment_kit.testing's,
inside a test process) has its deliveries made by its owner, in the caller's task: `deliver_due`
makes every delivery due now, and holds a failed one's retry (`HELD`) until `Store.retry_deliveries`
makes it due, so that nothing happens later, on its own.

`POLICY` comes from the environment (`PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS`, comma-separated
seconds, and `PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT`, an attempt's deadline); tests replace it to
retry in milliseconds.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import strict_json
from ..context import iso, new_id, stored_clock_offset
from ..database import Store
from ..refusals import ApiError

__all__ = [
    "ANSWER_BYTES",
    "HELD",
    "MAX_IN_FLIGHT",
    "POLICY",
    "Outcome",
    "Policy",
    "attempt",
    "body_of",
    "deliver",
    "deliver_due",
    "matches",
    "new_secret",
    "prepare",
    "settle",
    "sign",
    "start",
    "subscribed",
    "wake",
]

logger = logging.getLogger("payment_kit_sandbox.webhooks")

ENDPOINT = "webhook_endpoint"
ATTEMPT = "webhook_attempt"
EVENT = "event"
MAX_IN_FLIGHT = 64  # attempts one process makes at once (one per endpoint): twice the endpoints a database may hold
ANSWER_BYTES = 64 * 1024  # the most of a receiver's answer that is read
BODY_LIMIT = 4096  # characters of an answer's text worth keeping
LEASE_MARGIN = 5.0  # seconds beyond an attempt's deadline before a claimed delivery is claimable again
IDLE_POLL = 0.25  # seconds between looks at the queue when nothing is due sooner
MIN_WAIT = 0.01  # seconds: a due delivery another process is claiming right now is not looked at in a spin
NOT_ALLOWED = (
    "not delivered: the sandbox delivers webhooks to loopback addresses only; "
    "name other hosts in PAYMENT_KIT_SANDBOX_WEBHOOK_HOSTS (or * for any)"
)


@dataclass(frozen=True)
class Policy:
    retry_delays: tuple[float, ...]  # seconds before each retry; its length bounds the retries
    timeout: float  # seconds one attempt may take in all: connecting, sending and reading the answer
    hosts: frozenset[str] = frozenset()  # hosts beyond loopback that may receive deliveries ("*": any)

    def allows(self, url: str) -> bool:
        """Loopback receivers always (`localhost` and its subdomains are loopback by RFC 6761);
        others only when named (a development server should not post events to the internet
        because an example URL was registered)."""
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if "*" in self.hosts or host in self.hosts or host == "localhost" or host.endswith(".localhost"):
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


_queued_last = 0.0
_queued_lock = threading.Lock()


def _queue_time() -> float:
    """Now, and never the same moment twice in this process: an endpoint's deliveries are made
    oldest first, so the events of one request reach it in the order they happened."""
    global _queued_last
    with _queued_lock:
        _queued_last = max(time.time(), _queued_last + 1e-6)
        return _queued_last


def deliver(store: Store, event: dict[str, Any], endpoints: list[dict[str, Any]]) -> None:
    """Queue `event` for each endpoint (call inside the transaction that stores the event)."""
    for endpoint in endpoints:
        store.queue_delivery(new_id("whd"), event["id"], endpoint["id"], bool(event["livemode"]), _queue_time())


def wake(store: Store) -> None:
    """Start the store's worker if needed and have it look at the queue now."""
    _dispatcher(store).wake()


def start(store: Store) -> None:
    """Take over the queue of a database opened afresh: deliveries a previous process left
    pending (killed mid-try included) are made."""
    with store.transaction():
        store.release_deliveries()
    wake(store)


# -- one attempt: prepared, made, settled -------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one attempt went."""

    status: int  # the receiver's HTTP status; 0 when there was no complete answer, or no attempt
    body: Any  # what is kept of the answer (`_kept`), or why there was none
    retry: bool = True  # False: trying again cannot help (a host deliveries may not go to)

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300


def prepare(store: Store, delivery: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The endpoint and event of a claimed delivery; None, with the delivery dropped, when the
    endpoint is gone or disabled or the event is gone."""
    livemode = bool(delivery["livemode"])
    with store.transaction():
        endpoint = store.get(ENDPOINT, delivery["endpoint_id"], livemode)
        event = store.get(EVENT, delivery["event_id"], livemode)
        if endpoint is None or event is None or endpoint.get("status") != "enabled":
            store.settle_delivery(delivery["id"], state="dropped", attempts=delivery["attempts"], next_at=0.0)
            return None
    return endpoint, event


async def attempt(http: httpx.AsyncClient, endpoint: dict[str, Any], event: dict[str, Any]) -> Outcome:
    """One POST of `event` to `endpoint`, over within `POLICY.timeout` in all. It raises nothing but
    cancellation: whatever kept the attempt from being made or answered (a URL that httpx refuses,
    stored before URLs were checked, included) is a failed outcome that says what."""
    try:
        if not POLICY.allows(endpoint["url"]):
            return Outcome(0, NOT_ALLOWED, retry=False)
        async with asyncio.timeout(POLICY.timeout):
            return await _post(http, endpoint, event)
    except TimeoutError:
        return Outcome(
            0,
            f"no complete answer within the attempt's deadline of {POLICY.timeout:g} s "
            "(connecting, sending and reading the answer)",
        )
    except httpx.HTTPError as exc:
        return Outcome(0, f"no answer from the receiver: {type(exc).__name__}: {exc}"[:BODY_LIMIT])
    except Exception as exc:
        return Outcome(0, f"the delivery could not be attempted: {type(exc).__name__}: {exc}"[:BODY_LIMIT])


async def _post(http: httpx.AsyncClient, endpoint: dict[str, Any], event: dict[str, Any]) -> Outcome:
    body = body_of(event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PaymentKit-Sandbox-Webhooks",
        # The answer is read raw, so that ANSWER_BYTES bounds what is held (a compressed answer
        # would be inflated chunk by chunk, each chunk up to a thousand times its size).
        "Accept-Encoding": "identity",
        "webhook-id": event["id"],
        "webhook-timestamp": str(timestamp),
    }
    if endpoint.get("secret"):
        headers["webhook-signature"] = sign(endpoint["secret"], event["id"], timestamp, body)
    async with http.stream("POST", endpoint["url"], content=body, headers=headers, timeout=POLICY.timeout) as response:
        read = bytearray()
        cut = False
        async for chunk in response.aiter_raw():
            room = ANSWER_BYTES - len(read)
            read += chunk[:room]
            if len(chunk) > room:
                cut = True
                break
        return Outcome(response.status_code, _kept(response, bytes(read), cut))


def _kept(response: httpx.Response, read: bytes, cut: bool) -> Any:
    """What an attempt keeps of an answer: a whole, strict JSON object as it is; any other text, or an
    answer cut at ANSWER_BYTES, as its first BODY_LIMIT characters (saying it was cut); None for none."""
    if not read:
        return None
    if not cut and "json" in response.headers.get("content-type", ""):
        try:
            parsed = strict_json.loads(read)  # bounded depth and lengths, as every stored value
        except ApiError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    try:
        text = read.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = read.decode("utf-8", errors="replace")
    if cut:
        return f"{text[:BODY_LIMIT]} [cut: only the first {ANSWER_BYTES} bytes of the answer were read]"
    return text[:BODY_LIMIT]


HELD = math.inf
"""`settle`'s `retry_at` for a retry that waits for `Store.retry_deliveries`, never for the clock."""


def settle(
    store: Store,
    delivery: dict[str, Any],
    endpoint: dict[str, Any],
    event: dict[str, Any],
    outcome: Outcome,
    *,
    retry_at: float | None = None,
) -> None:
    """Record the attempt, count a success on its event, and queue the retry (due at `retry_at`;
    by default after `POLICY`'s delay) or settle the delivery."""
    livemode = bool(delivery["livemode"])
    retry_count = int(delivery["attempts"])
    delays = POLICY.retry_delays
    retry = outcome.retry and not outcome.succeeded and retry_count < len(delays)
    with store.transaction():
        now = iso(time.time() + stored_clock_offset(store))
        store.insert(
            ATTEMPT,
            {
                "id": new_id("wha"),
                "livemode": livemode,
                "event_id": event["id"],
                "webhook_endpoint_id": endpoint["id"],
                "status": "succeeded" if outcome.succeeded else "failed",
                "response_status": outcome.status,
                "response_body": outcome.body,
                "retry_count": retry_count,
                "created_at": now,
                "updated_at": now,
            },
        )
        if outcome.succeeded:
            current = store.get(EVENT, event["id"], livemode)
            if current is not None:
                current["pending_webhooks"] = max(0, int(current.get("pending_webhooks") or 0) - 1)
                current["updated_at"] = now
                store.save(EVENT, current)
        store.settle_delivery(
            delivery["id"],
            state="pending" if retry else "delivered" if outcome.succeeded else "failed",
            attempts=retry_count + 1,
            next_at=(time.time() + delays[retry_count] if retry_at is None else retry_at) if retry else 0.0,
        )


HAND_LEASE = 3600.0
"""Seconds a delivery `deliver_due` makes is leased for: longer than any receiver in a test takes."""

Made = tuple[dict[str, Any], dict[str, Any], dict[str, Any], Outcome]
"""One delivery `deliver_due` made: the queue's row, its endpoint, its event, and how it went."""


async def deliver_due(store: Store, http: httpx.AsyncClient) -> list[Made]:
    """For a sandbox with no background worker: make every delivery due now, one at a time, in the
    calling task, until none is due (so deliveries queued by the receivers' own calls meanwhile are
    made too), settling each; a failed one's retry is `HELD`. Answers what was made, in order."""
    made: list[Made] = []
    while True:
        with store.transaction():
            due = store.claim_deliveries(time.time(), HAND_LEASE, MAX_IN_FLIGHT)
        if not due:
            return made
        for delivery in due:
            found = prepare(store, delivery)
            if found is None:
                continue
            outcome = await attempt(http, *found)
            settle(store, delivery, *found, outcome, retry_at=HELD)
            made.append((delivery, *found, outcome))


# -- the worker ---------------------------------------------------------------------------------


class _Dispatcher:
    """Claims due deliveries from the queue and makes each attempt as a task of one event loop,
    on a thread of its own; the store's transactions run on the loop's executor threads."""

    def __init__(self, store: Store, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """`transport`: where the attempts go instead of the network (tests)."""
        self._store = weakref.ref(store)
        self._transport = transport
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._in_flight: set[str] = set()  # endpoints this process is attempting (touched on the loop only)
        threading.Thread(target=asyncio.run, args=(self._run(),), name="payment-kit-webhooks", daemon=True).start()

    def wake(self) -> None:
        """Have the worker look at the queue now (from any thread)."""
        loop, wakeful = self._loop, self._wake
        if loop is None or wakeful is None:  # not started yet: its first look is still to come
            return
        with contextlib.suppress(RuntimeError):  # the loop has ended with its store
            loop.call_soon_threadsafe(wakeful.set)

    async def _run(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        attempts: set[asyncio.Task[None]] = set()
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
        client = httpx.AsyncClient(trust_env=False, follow_redirects=False, limits=limits, transport=self._transport)
        async with client as http:
            try:
                while (wait := await self._look(http, attempts)) is not None:
                    if wait:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), wait)
            finally:  # the store is gone: attempts under way end here (their leases lapse)
                for task in attempts:
                    task.cancel()
                await asyncio.gather(*attempts, return_exceptions=True)

    async def _look(self, http: httpx.AsyncClient, attempts: set[asyncio.Task[None]]) -> float | None:
        """Start an attempt for each delivery that may be claimed now; answer how long to wait before
        the next look unless woken (None: the store is gone, stop)."""
        store = self._store()
        if store is None or store.closed:
            return None
        assert self._wake is not None
        self._wake.clear()  # a wake from here on means: look again at once
        free = MAX_IN_FLIGHT - len(self._in_flight)
        if not free:  # a finishing attempt wakes this
            return IDLE_POLL
        try:
            due, next_at = await asyncio.to_thread(_claim, store, free, frozenset(self._in_flight))
        except Exception:
            if store.closed:
                return None
            logger.exception("reading the webhook queue failed; trying again")
            due, next_at = [], None
        del store  # the worker must not keep a store alive that its owner let go
        for delivery in due:
            self._in_flight.add(delivery["endpoint_id"])
            task = asyncio.create_task(self._work(http, delivery))
            attempts.add(task)
            task.add_done_callback(attempts.discard)
        if due:
            return 0.0
        if next_at is None:  # a new delivery wakes this
            return IDLE_POLL
        return min(IDLE_POLL, max(MIN_WAIT, next_at - time.time()))

    async def _work(self, http: httpx.AsyncClient, delivery: dict[str, Any]) -> None:
        try:
            store = self._store()
            if store is None:
                return
            found = await asyncio.to_thread(prepare, store, delivery)
            del store
            if found is None:
                return
            outcome = await attempt(http, *found)
            store = self._store()
            if store is None:
                return
            await asyncio.to_thread(settle, store, delivery, *found, outcome)
        except Exception:  # the store failed or closed: the lease runs out and the row is tried again
            logger.exception("webhook delivery %s failed", delivery["id"])
        finally:
            self._in_flight.discard(delivery["endpoint_id"])
            if self._wake is not None:
                self._wake.set()


def _claim(store: Store, free: int, busy: frozenset[str]) -> tuple[list[dict[str, Any]], float | None]:
    """(the deliveries claimed now, when the next one falls due if none was)."""
    with store.transaction():
        now = time.time()
        due = store.claim_deliveries(now, POLICY.timeout + LEASE_MARGIN, free, busy=busy)
        return due, None if due else store.next_delivery_at(now, busy=busy)


_DISPATCHERS: weakref.WeakKeyDictionary[Store, _Dispatcher] = weakref.WeakKeyDictionary()
_DISPATCHERS_LOCK = threading.Lock()


def _dispatcher(store: Store) -> _Dispatcher:
    with _DISPATCHERS_LOCK:
        found = _DISPATCHERS.get(store)
        if found is None:
            found = _DISPATCHERS[store] = _Dispatcher(store)
        return found
