"""Webhook delivery: POST each event to the endpoints subscribed to it.

Deliveries run on a few background threads, never on the request that
caused the event. Each try is kept as a WebhookAttempt; a failed try (no
answer, or an answer outside 2xx) is retried after the delays of `POLICY`,
then given up. An endpoint that is deleted or disabled meanwhile gets no
further tries. Requests go exactly where the endpoint's URL says: no proxy
from the environment, no redirects followed.

`POLICY` comes from the environment (`PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS`,
comma-separated seconds, and `PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT`); tests
replace it to retry in milliseconds.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import json
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..context import iso, new_id
from ..store import Store

__all__ = ["POLICY", "Policy", "deliver", "matches", "subscribed"]

logger = logging.getLogger("payment_kit_sandbox.webhooks")

ENDPOINT = "webhook_endpoint"
ATTEMPT = "webhook_attempt"
EVENT = "event"
WORKERS = 4
BODY_LIMIT = 4096  # characters of a receiver's answer worth keeping


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


def deliver(store: Store, event: dict[str, Any], endpoints: list[dict[str, Any]]) -> None:
    """Queue the first try of `event` to each endpoint; returns at once."""
    if not endpoints:
        return
    dispatcher = _dispatcher(store)
    for endpoint in endpoints:
        dispatcher.put(_Try(event["id"], endpoint["id"], bool(event["livemode"]), 0), 0.0)


@dataclass(frozen=True)
class _Try:
    event_id: str
    endpoint_id: str
    livemode: bool
    retry_count: int


class _Dispatcher:
    """Due tries in time order, worked off by a few daemon threads."""

    def __init__(self, store: Store) -> None:
        self._store = weakref.ref(store)
        self._due: list[tuple[float, int, _Try]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._http = httpx.Client(trust_env=False, follow_redirects=False)
        for n in range(WORKERS):
            threading.Thread(target=self._work, name=f"payment-kit-webhooks-{n}", daemon=True).start()

    def put(self, attempt: _Try, delay: float) -> None:
        with self._ready:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), attempt))
            self._ready.notify()

    def _next(self) -> _Try:
        with self._ready:
            while True:
                now = time.monotonic()
                if self._due and self._due[0][0] <= now:
                    attempt = heapq.heappop(self._due)[2]
                    if self._due:  # someone else must now watch the next due time
                        self._ready.notify()
                    return attempt
                self._ready.wait(self._due[0][0] - now if self._due else None)

    def _work(self) -> None:
        while True:
            attempt = self._next()
            store = self._store()
            if store is None:
                return
            try:
                self._try(store, attempt)
            except Exception:  # a closed store or a bug: drop this delivery, keep the worker
                logger.exception("webhook delivery of %s to %s failed", attempt.event_id, attempt.endpoint_id)
            del store

    def _try(self, store: Store, attempt: _Try) -> None:
        with store.transaction():
            endpoint = store.get(ENDPOINT, attempt.endpoint_id, attempt.livemode)
            event = store.get(EVENT, attempt.event_id, attempt.livemode)
        if endpoint is None or event is None or endpoint.get("status") != "enabled":
            return
        allowed = POLICY.allows(endpoint["url"])
        if allowed:
            status, body = self._post(endpoint["url"], event)
        else:
            status, body = (
                0,
                (
                    "not delivered: the sandbox delivers webhooks to loopback addresses only; "
                    "name other hosts in PAYMENT_KIT_SANDBOX_WEBHOOK_HOSTS (or * for any)"
                ),
            )
        succeeded = 200 <= status < 300
        with store.transaction():
            now = iso(time.time() + int(store.get_meta("clock_offset") or 0))
            store.insert(
                ATTEMPT,
                {
                    "id": new_id("wha"),
                    "livemode": attempt.livemode,
                    "event_id": attempt.event_id,
                    "webhook_endpoint_id": attempt.endpoint_id,
                    "status": "succeeded" if succeeded else "failed",
                    "response_status": status,
                    "response_body": body,
                    "retry_count": attempt.retry_count,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if succeeded:
                current = store.get(EVENT, attempt.event_id, attempt.livemode)
                if current is not None:
                    current["pending_webhooks"] = max(0, int(current.get("pending_webhooks") or 0) - 1)
                    current["updated_at"] = now
                    store.save(EVENT, current)
        delays = POLICY.retry_delays
        if allowed and not succeeded and attempt.retry_count < len(delays):
            self.put(replace(attempt, retry_count=attempt.retry_count + 1), delays[attempt.retry_count])

    def _post(self, url: str, event: dict[str, Any]) -> tuple[int, Any]:
        """The receiver's status and answer; status 0 and the reason when there was no answer."""
        try:
            response = self._http.post(
                url,
                content=json.dumps(event),
                headers={"Content-Type": "application/json", "User-Agent": "PaymentKit-Sandbox-Webhooks"},
                timeout=POLICY.timeout,
            )
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
