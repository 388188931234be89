"""Webhook endpoints and event delivery, through the facade, against the sandbox.

Each delivery test starts its own receiver (`http.server` on a free loopback
port) and stops it at the end; endpoints are deleted first, so no retry of
this test reaches a later one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from waiting import wait_for, wait_until

import payment_kit_client.models as m
from payment_kit import AsyncPaymentKit, BadRequestError, NotFoundError, PaymentKit, SignatureVerificationError
from payment_kit import webhooks as verify
from payment_kit_sandbox.control import SandboxControl
from payment_kit_sandbox.engine import webhooks
from payment_kit_sandbox.server import RunningSandbox, free_port

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes or loopback receivers

RETRIES = (0.05, 0.05, 0.05)  # three retries, 50 ms apart: four tries in all


class Receiver:
    """A webhook receiver: answers each POST with the next of `statuses` (then the last one)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses or (200,))
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                with receiver._lock:
                    receiver.received.append(
                        {
                            "body": body,
                            "raw": raw,
                            "headers": dict(self.headers.items()),
                            "content_type": self.headers["Content-Type"],
                        }
                    )
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                ok = 200 <= status < 300
                answer = json.dumps({"received": body["id"]}).encode() if ok else b"receiver is down"
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if ok else "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r["body"] for r in self.received]

    def deliveries(self) -> list[tuple[bytes, dict[str, str]]]:
        """Each delivery as received: the raw body and the headers."""
        with self._lock:
            return [(r["raw"], r["headers"]) for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class RawReceiver:
    """A receiver that misbehaves below HTTP: for each connection it reads the request, then lets
    `answer(connection, receiver)` write whatever it likes, until the sandbox hangs up. `held` has
    how long each connection the sandbox hung up on stayed open."""

    def __init__(self, answer: Callable[[socket.socket, RawReceiver], None]) -> None:
        self.answer = answer
        self.held: list[float] = []
        self.connections = 0
        self.sent = 0  # bytes of answers written, all connections together
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # so that the accepting thread sees stop() (a closed socket does not wake it)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by stop()
                return
            connection.settimeout(None)
            with self._lock:
                self.connections += 1
                self._open.add(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        opened = time.monotonic()
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536) or b"\r\n\r\n"
            self.answer(connection, self)
        except OSError:  # the sandbox hung up: what this receiver is here to see
            if not self.stopping.is_set():
                with self._lock:
                    self.held.append(time.monotonic() - opened)
        finally:
            with self._lock:
                self._open.discard(connection)
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)


def trickles(connection: socket.socket, receiver: RawReceiver) -> None:
    """A valid answer's head, a byte every quarter second, never finished (a per-read timeout never fires)."""
    head = itertools.chain(b"HTTP/1.1 200 OK\r\nX-Slow: ", itertools.repeat(ord("a")))
    for byte in head:
        if receiver.stopping.wait(0.25):
            return
        connection.sendall(bytes([byte]))


FLOOD_BYTES = 300 * 1024 * 1024


def floods(connection: socket.socket, receiver: RawReceiver) -> None:
    """200, then 300 MiB of text, as fast as the sandbox reads it."""
    connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {FLOOD_BYTES}\r\n\r\n".encode())
    chunk = b"x" * 65536
    while receiver.sent < FLOOD_BYTES and not receiver.stopping.is_set():
        connection.sendall(chunk)
        receiver.sent += len(chunk)


class Wiring:
    """Receivers and endpoints made by one test, undone at its end."""

    def __init__(self) -> None:
        self.receivers: list[Receiver | RawReceiver] = []
        self.endpoints: list[tuple[PaymentKit, str]] = []

    def receiver(self, *statuses: int) -> Receiver:
        made = Receiver(*statuses)
        self.receivers.append(made)
        return made

    def raw_receiver(self, answer: Callable[[socket.socket, RawReceiver], None]) -> RawReceiver:
        made = RawReceiver(answer)
        self.receivers.append(made)
        return made

    def endpoint(self, client: PaymentKit, url: str, events: list[str], **fields: Any) -> Any:
        made = client.webhook_endpoints.create(url=url, enabled_events=events, **fields)
        self.endpoints.append((client, made.id))
        return made

    def close(self) -> None:
        for client, endpoint_id in self.endpoints:
            with contextlib.suppress(NotFoundError):
                client.webhook_endpoints.delete(endpoint_id)
        for receiver in self.receivers:
            receiver.stop()


@pytest.fixture
def wiring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wiring]:
    monkeypatch.setattr(webhooks, "POLICY", webhooks.Policy(retry_delays=RETRIES, timeout=2.0))
    made = Wiring()
    try:
        yield made
    finally:
        made.close()


class Queue:
    """The shared sandbox's webhook queue, read straight from its store: one row per (event, endpoint)
    delivery, `pending` until it is `delivered`, has `failed` for good, or is `dropped` (its endpoint
    deleted or disabled). A delivery that is not pending gets no further try: this is what tests wait
    on before asserting that nothing more arrived."""

    def __init__(self, sandbox: RunningSandbox | None) -> None:
        assert sandbox is not None, "the webhook tests run on the session's own sandbox"
        self.store = sandbox.app.state.store

    def of(self, event_id: str) -> list[dict[str, Any]]:
        with self.store.transaction():
            return self.store.deliveries_of(event_id)

    def settled(self, event_id: str, deliveries: int) -> dict[str, tuple[str, int]]:
        """Wait until the event's `deliveries` deliveries are all settled; `{endpoint id: (state, tries)}`."""
        rows = wait_for(
            lambda: self.of(event_id),
            lambda rows: len(rows) >= deliveries and all(r["state"] != "pending" for r in rows),
            message=f"the {deliveries} deliveries of {event_id} to settle",
        )
        return {r["endpoint_id"]: (r["state"], r["attempts"]) for r in rows}


@pytest.fixture
def queue(shared_sandbox: RunningSandbox | None) -> Queue:
    return Queue(shared_sandbox)


# -- endpoints --------------------------------------------------------------------------------


def test_endpoint_lifecycle(client: PaymentKit, wiring: Wiring, tag: str) -> None:
    made = [
        wiring.endpoint(client, f"https://example.com/{tag}/{i}", ["invoice.paid", "invoice.paid", "invoice.voided"])
        for i in range(3)
    ]
    first = made[0]
    assert first.id.startswith("we_") and first.livemode is False
    assert first.status == "enabled" and first.created_via == "api" and first.description == ""
    assert first.api_version == "2023-09-05"
    assert first.enabled_events == ["invoice.paid", "invoice.voided"]  # repeats dropped

    got = client.webhook_endpoints.retrieve(first.id)
    assert got.object_ == "webhook_endpoint" and got.attempts == [] and got.url == first.url

    updated = client.webhook_endpoints.update(
        first.id,
        url=f"http://example.org/{tag}",
        enabled_events=["*"],
        description="all events",
        status="disabled",
        metadata={"tag": tag},
    )
    assert updated.url == f"http://example.org/{tag}" and updated.enabled_events == ["*"]
    assert updated.status == "disabled" and updated.description == "all events"
    assert updated.metadata.to_dict() == {"tag": tag}
    assert client.webhook_endpoints.update(first.id, description="kept").enabled_events == ["*"]

    newest = client.webhook_endpoints.list(page_size=3)
    assert [e.id for e in newest] == [e.id for e in reversed(made)] and newest.count >= 3
    assert all(e.object_ == "webhook_endpoint" for e in newest)
    ascending = client.webhook_endpoints.list(order="created_at:ASC", page_size=100)
    assert [e.id for e in ascending if e.id in {m.id for m in made}] == [m.id for m in made]
    paged = client.webhook_endpoints.list(page_size=1, page=2)
    assert len(paged.list) == 1 and paged.list[0].id == made[1].id and paged.count == newest.count

    deleted = client.webhook_endpoints.delete(first.id)
    assert deleted.id == first.id
    with pytest.raises(NotFoundError, match=f"Webhook endpoint not found: {first.id}"):
        client.webhook_endpoints.retrieve(first.id)
    with pytest.raises(NotFoundError):
        client.webhook_endpoints.delete(first.id)
    with pytest.raises(NotFoundError):
        client.webhook_endpoints.update(first.id, description="gone")


BAD_URLS = [  # each refused on create and on update, with a message naming its problem
    ("ftp://example.com/hook", "its scheme is 'ftp'"),
    ("javascript:alert(1)", "its scheme is 'javascript'"),
    ("example.com/hook", "it has no scheme"),
    ("http:///no-host", "it has no host"),
    ("https://example.com/hook\r\nX-Injected: 1", "it contains a line break (CR)"),
    ("https://example.com/hook\nX-Injected: 1", "it contains a line break (LF)"),
    ("https://example.com/\thook", "it contains a tab"),
    ("https://exa mple.com/hook", "it contains a space"),
    ("https://example.com/hook\x00", "it contains a control character (U+0000)"),
    ("http://[::1/hook", "it cannot be parsed"),
    ("http://127.0.0.1:99999/hook", "it cannot be parsed (Port out of range 0-65535)"),
    ("http://127.0.0.1:0/hook", "its port is 0"),
]


def test_endpoint_refusals_name_the_field_and_change_nothing(client: PaymentKit, wiring: Wiring, tag: str) -> None:
    for url, problem in BAD_URLS:
        with pytest.raises(
            BadRequestError, match=re.escape(f"url: {url!r} is not an http or https URL with a host: {problem}")
        ):
            client.webhook_endpoints.create(url=url, enabled_events=["invoice.paid"])
    with pytest.raises(BadRequestError, match="enabled_events"):
        client.webhook_endpoints.create(url="https://example.com/hook", enabled_events=[])
    with pytest.raises(BadRequestError, match="enabled_events"):
        client.webhook_endpoints.create(url="https://example.com/hook", enabled_events=[""])
    with pytest.raises(BadRequestError, match="status"):
        client.webhook_endpoints.create(url="https://example.com/hook", enabled_events=["x"], status="paused")

    endpoint = wiring.endpoint(client, f"https://example.com/{tag}", ["invoice.paid"])
    with pytest.raises(BadRequestError, match=r"url: 'mailto:someone@example.com' is not an http or https URL"):
        client.webhook_endpoints.update(endpoint.id, url="mailto:someone@example.com")
    for url, problem in BAD_URLS:
        with pytest.raises(BadRequestError, match=re.escape(problem)):
            client.webhook_endpoints.update(endpoint.id, url=url)
    with pytest.raises(BadRequestError, match="enabled_events"):
        client.webhook_endpoints.update(endpoint.id, enabled_events=[])
    again = client.webhook_endpoints.retrieve(endpoint.id)
    assert again.url == endpoint.url and again.enabled_events == ["invoice.paid"]
    with pytest.raises(BadRequestError, match="order: cannot sort by 'secret'"):
        client.webhook_endpoints.list(order="secret:ASC")
    with pytest.raises(BadRequestError, match="pageSize"):
        client.webhook_endpoints.list(page_size=101)


def test_endpoints_are_partitioned_by_mode(client: PaymentKit, wiring: Wiring, tag: str) -> None:
    endpoint = wiring.endpoint(client, f"https://example.com/{tag}", ["invoice.paid"])
    live = client.with_options(livemode=True)
    with pytest.raises(NotFoundError):
        live.webhook_endpoints.retrieve(endpoint.id)
    with pytest.raises(NotFoundError):
        live.webhook_endpoints.delete(endpoint.id)
    assert endpoint.id not in [e.id for e in live.webhook_endpoints.list(page_size=100)]
    assert client.webhook_endpoints.retrieve(endpoint.id).id == endpoint.id


async def test_async_endpoint_round_trip(aclient: AsyncPaymentKit, tag: str) -> None:
    made = await aclient.webhook_endpoints.create(url=f"https://example.com/{tag}", enabled_events=["refund.created"])
    try:
        assert (await aclient.webhook_endpoints.retrieve(made.id)).enabled_events == ["refund.created"]
        updated = await aclient.webhook_endpoints.update(made.id, status="disabled")
        assert updated.status == "disabled"
        page = await aclient.webhook_endpoints.list(page_size=100)
        assert made.id in [e.id async for e in page.auto_paging_iter()]
    finally:
        assert (await aclient.webhook_endpoints.delete(made.id)).id == made.id
    with pytest.raises(NotFoundError):
        await aclient.webhook_endpoints.retrieve(made.id)


# -- delivery ---------------------------------------------------------------------------------


def test_a_subscribed_endpoint_receives_the_event_of_a_product_created_through_the_sdk(
    client: PaymentKit, wiring: Wiring, queue: Queue, tag: str
) -> None:
    receiver = wiring.receiver(200)
    everything = wiring.receiver(200)
    endpoint = wiring.endpoint(client, receiver.url, ["product.created"])
    catch_all = wiring.endpoint(client, everything.url, ["*"])
    elsewhere = wiring.receiver(200)
    wiring.endpoint(client, elsewhere.url, ["customer.created"])

    started = time.monotonic()
    product = client.products.create(name=f"hooked {tag}", type="service")
    assert time.monotonic() - started < 1.5  # the request did not wait for the receivers

    events = wait_for(receiver.events, lambda got: len(got) >= 1)
    assert len(events) == 1
    event = events[0]
    assert event["id"].startswith("evt_") and event["type"] == "product.created"
    assert event["livemode"] is False and event["api_version"] == "2023-09-05"
    assert event["object_type"] == "product" and event["object_id"] == product.id
    assert event["data"]["object"]["id"] == product.id and event["data"]["object"]["name"] == f"hooked {tag}"
    assert event["pending_webhooks"] == 2  # this endpoint and the `*` one
    assert set(event["request"]) >= {"id", "idempotency_key"}
    assert receiver.received[0]["content_type"] == "application/json"
    assert product.id in [e["object_id"] for e in wait_for(everything.events, lambda got: len(got) >= 1)]

    got = wait_for(lambda: client.webhook_endpoints.retrieve(endpoint.id), lambda e: len(e.attempts) >= 1).attempts
    assert len(got) == 1
    attempt = got[0]
    assert attempt.status == "succeeded" and attempt.response_status == 200 and attempt.retry_count == 0
    assert attempt.response_body.to_dict() == {"received": event["id"]}
    assert attempt.object_ == "webhook_attempt" and attempt.webhook_endpoint_id == endpoint.id
    assert attempt.event.id == event["id"] and attempt.event.type_ == "product.created"
    assert attempt.endpoint.id == endpoint.id

    # Both deliveries made and acknowledged, and none queued for the third endpoint: nothing more comes.
    assert queue.settled(event["id"], 2) == {endpoint.id: ("delivered", 1), catch_all.id: ("delivered", 1)}
    assert elsewhere.events() == []  # subscribed to another type
    assert len(receiver.events()) == 1


def test_a_failing_receiver_is_retried_a_bounded_number_of_times(
    client: PaymentKit, wiring: Wiring, queue: Queue, tag: str
) -> None:
    receiver = wiring.receiver(500)
    endpoint = wiring.endpoint(client, receiver.url, ["product.created"])
    product = client.products.create(name=f"unlucky {tag}", type="service")

    tries = 1 + len(RETRIES)
    attempts = wait_for(lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= tries)
    assert [a.retry_count for a in attempts] == list(reversed(range(tries)))  # newest first
    assert all(a.status == "failed" and a.response_status == 500 for a in attempts)
    assert all(a.response_body == "receiver is down" for a in attempts)
    assert {a.event.object_id for a in attempts} == {product.id}
    assert attempts[0].event.pending_webhooks == 1  # never acknowledged

    assert queue.settled(attempts[0].event.id, 1) == {endpoint.id: ("failed", tries)}  # given up
    assert len(receiver.events()) == tries  # and then no more
    assert len({e["id"] for e in receiver.events()}) == 1


def test_a_receiver_that_recovers_gets_the_event_on_a_retry(
    client: PaymentKit, wiring: Wiring, queue: Queue, tag: str
) -> None:
    receiver = wiring.receiver(503, 200)
    endpoint = wiring.endpoint(client, receiver.url, ["product.created"])
    client.products.create(name=f"second time lucky {tag}", type="service")
    attempts = wait_for(lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= 2)
    assert [(a.status, a.retry_count, a.response_status) for a in attempts] == [
        ("succeeded", 1, 200),
        ("failed", 0, 503),
    ]
    assert attempts[0].event.pending_webhooks == 0
    assert queue.settled(attempts[0].event.id, 1) == {endpoint.id: ("delivered", 2)}
    assert len(receiver.events()) == 2


def test_an_unreachable_receiver_is_recorded_as_no_answer(client: PaymentKit, wiring: Wiring, tag: str) -> None:
    receiver = wiring.receiver(200)
    url = receiver.url
    receiver.stop()  # nothing listens on that port any more
    wiring.receivers.remove(receiver)
    endpoint = wiring.endpoint(client, url, ["product.created"])
    client.products.create(name=f"nobody home {tag}", type="service")
    attempts = wait_for(
        lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= 1 + len(RETRIES)
    )
    assert all(a.status == "failed" and a.response_status == 0 for a in attempts)
    assert "no answer from the receiver" in attempts[0].response_body


def test_a_disabled_endpoint_receives_nothing_until_enabled(
    client: PaymentKit, wiring: Wiring, queue: Queue, tag: str
) -> None:
    quiet, loud = wiring.receiver(200), wiring.receiver(200)
    disabled = wiring.endpoint(client, quiet.url, ["product.created"], status="disabled")
    enabled = wiring.endpoint(client, loud.url, ["product.created"])

    client.products.create(name=f"first {tag}", type="service")
    first = wait_for(loud.events, lambda got: len(got) >= 1)[0]
    assert queue.settled(first["id"], 1) == {enabled.id: ("delivered", 1)}  # none queued for the disabled one
    assert quiet.events() == []
    assert client.webhook_endpoints.retrieve(disabled.id).attempts == []

    client.webhook_endpoints.update(disabled.id, status="enabled")
    second = client.products.create(name=f"second {tag}", type="service")
    got = wait_for(quiet.events, lambda got: len(got) >= 1)
    assert [e["object_id"] for e in got] == [second.id]


def test_a_deleted_endpoint_gets_no_more_retries(
    client: PaymentKit, wiring: Wiring, queue: Queue, tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "POLICY", webhooks.Policy(retry_delays=(0.4, 0.4), timeout=2.0))
    receiver = wiring.receiver(500)
    endpoint = wiring.endpoint(client, receiver.url, ["product.created"])
    client.products.create(name=f"short-lived {tag}", type="service")
    event = wait_for(receiver.events, lambda got: len(got) >= 1)[0]
    client.webhook_endpoints.delete(endpoint.id)
    # The retry fell due, found the endpoint gone, and was dropped without a try.
    assert queue.settled(event["id"], 1) == {endpoint.id: ("dropped", 1)}
    assert len(receiver.events()) == 1


def test_events_of_the_other_mode_are_not_delivered(client: PaymentKit, wiring: Wiring, queue: Queue, tag: str) -> None:
    live = client.with_options(livemode=True)
    test_receiver, live_receiver = wiring.receiver(200), wiring.receiver(200)
    test_endpoint = wiring.endpoint(client, test_receiver.url, ["product.created"])
    live_endpoint = wiring.endpoint(live, live_receiver.url, ["product.created"])
    assert live_endpoint.livemode is True

    live_product = live.products.create(name=f"live {tag}", type="service")
    test_product = client.products.create(name=f"test {tag}", type="service")

    got_test = wait_for(test_receiver.events, lambda got: len(got) >= 1)
    got_live = wait_for(live_receiver.events, lambda got: len(got) >= 1)
    # Each event queued for its own mode's endpoint only, and delivered: nothing more comes.
    assert queue.settled(got_test[0]["id"], 1) == {test_endpoint.id: ("delivered", 1)}
    assert queue.settled(got_live[0]["id"], 1) == {live_endpoint.id: ("delivered", 1)}
    assert [(e["object_id"], e["livemode"]) for e in test_receiver.events()] == [(test_product.id, False)]
    assert [(e["object_id"], e["livemode"]) for e in live_receiver.events()] == [(live_product.id, True)]
    assert got_test[0]["data"]["object"]["livemode"] is False and got_live[0]["data"]["object"]["livemode"] is True
    attempts = wait_for(lambda: live.webhook_endpoints.retrieve(live_endpoint.id).attempts, lambda a: len(a) >= 1)
    assert attempts[0].livemode is True and attempts[0].event.livemode is True


def test_only_loopback_receivers_get_deliveries_unless_hosts_are_named(
    client: PaymentKit, wiring: Wiring, queue: Queue, tag: str
) -> None:
    outside = wiring.endpoint(client, f"https://example.com/hooks/{tag}", ["product.created"])
    client.products.create(name=f"kept home {tag}", type="service")
    attempts = wait_for(lambda: client.webhook_endpoints.retrieve(outside.id).attempts, lambda got: len(got) >= 1)
    # Settled as failed after one try: no retry is queued (a pending row would be one).
    assert queue.settled(attempts[0].event.id, 1) == {outside.id: ("failed", 1)}
    attempts = client.webhook_endpoints.retrieve(outside.id).attempts
    assert len(attempts) == 1  # refused once, never retried, never sent
    assert attempts[0].response_status == 0 and "loopback addresses only" in attempts[0].response_body
    assert webhooks.Policy((), 1.0, frozenset({"hooks.internal"})).allows("https://hooks.internal/x")
    assert webhooks.Policy((), 1.0, frozenset({"*"})).allows("https://example.com/x")
    assert not webhooks.Policy((), 1.0).allows("https://10.0.0.1/x")
    assert webhooks.Policy((), 1.0).allows("http://127.0.0.2:9/x") and webhooks.Policy((), 1.0).allows("http://[::1]/")


# -- receivers that stall, flood or cannot be reached, and the cap on endpoints ---------------

DEADLINE = 2.0  # seconds an attempt has in all, in these tests


def test_receivers_that_trickle_their_answers_never_delay_another_endpoints_delivery(
    client: PaymentKit, wiring: Wiring, tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five test-mode receivers answer a byte every quarter second, forever (a per-read timeout never
    fires), with deliveries queued behind the ones under way; a healthy endpoint of each mode still gets
    its delivery at once, and each trickling attempt is cut at its deadline."""
    monkeypatch.setattr(webhooks, "POLICY", webhooks.Policy(retry_delays=(), timeout=DEADLINE))
    tricklers = [wiring.raw_receiver(trickles) for _ in range(5)]
    slow = [wiring.endpoint(client, trickler.url, ["product.created"]) for trickler in tricklers]
    for n in range(2):
        client.products.create(name=f"backlog {n} {tag}", type="service")
    wait_until(lambda: all(t.connections for t in tricklers), message="an attempt under way at every slow endpoint")

    live = client.with_options(livemode=True)
    healthy, healthy_live = wiring.receiver(200), wiring.receiver(200)
    wiring.endpoint(client, healthy.url, ["product.created"])
    wiring.endpoint(live, healthy_live.url, ["product.created"])
    started = time.monotonic()
    product = client.products.create(name=f"on time {tag}", type="service")
    live_product = live.products.create(name=f"on time live {tag}", type="service")
    got = wait_for(healthy.events, lambda got: len(got) >= 1, timeout=4 * DEADLINE)
    got_live = wait_for(healthy_live.events, lambda got: len(got) >= 1, timeout=4 * DEADLINE)
    took = time.monotonic() - started
    print(f"\nhealthy endpoints (test and live mode) got their deliveries {took:.3f} s after the writes")
    assert [e["object_id"] for e in got] == [product.id] and [e["object_id"] for e in got_live] == [live_product.id]
    assert took < DEADLINE, f"a healthy endpoint waited {took:.2f} s behind slow ones"

    attempts = wait_for(
        lambda: client.webhook_endpoints.retrieve(slow[0].id).attempts,
        lambda got: len(got) >= 1,
        timeout=4 * DEADLINE,
    )
    assert attempts[-1].status == "failed" and attempts[-1].response_status == 0
    assert f"within the attempt's deadline of {DEADLINE:g} s" in attempts[-1].response_body
    wait_until(lambda: all(t.held for t in tricklers), message="every trickling receiver to see the sandbox hang up")
    held = [t for trickler in tricklers for t in trickler.held]
    print(f"trickling connections held by the sandbox: {', '.join(f'{t:.2f} s' for t in sorted(held))}")
    assert held and max(held) < DEADLINE + 1.0  # hung up at the deadline (the receiver notices at its next byte)


def test_a_receiver_answering_hundreds_of_megabytes_is_read_to_the_cap_in_bounded_memory(
    client: PaymentKit, wiring: Wiring, queue: Queue, tag: str
) -> None:
    flood = wiring.raw_receiver(floods)
    endpoint = wiring.endpoint(client, flood.url, ["product.created"])
    tracemalloc.start()
    try:
        client.products.create(name=f"flooded {tag}", type="service")
        attempts = wait_for(lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    wait_until(lambda: flood.held, message="the sandbox to hang up on the flood")
    print(
        f"\na 200 answer of {FLOOD_BYTES >> 20} MiB: the receiver got {flood.sent >> 10} KiB out before the sandbox "
        f"hung up; Python allocations peaked at {peak >> 10} KiB meanwhile"
    )
    assert flood.sent < FLOOD_BYTES // 10  # what the sockets' buffers took, not the answer
    assert peak < 16 * 1024 * 1024
    [attempt] = attempts
    assert (attempt.status, attempt.response_status) == ("succeeded", 200)  # the status was read: it counts
    cut = f" [cut: only the first {webhooks.ANSWER_BYTES} bytes of the answer were read]"
    assert attempt.response_body == "x" * webhooks.BODY_LIMIT + cut
    assert queue.settled(attempt.event.id, 1) == {endpoint.id: ("delivered", 1)}


def test_a_url_stored_before_urls_were_checked_fails_each_attempt_within_the_retry_bound(
    client: PaymentKit, wiring: Wiring, queue: Queue, tag: str, shared_sandbox: RunningSandbox | None,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    receiver = wiring.receiver(200)
    endpoint = wiring.endpoint(client, receiver.url, ["product.created"])
    assert shared_sandbox is not None
    store = shared_sandbox.app.state.store
    with store.transaction():  # as an older sandbox would have stored it
        row = store.get("webhook_endpoint", endpoint.id, False)
        store.save("webhook_endpoint", {**row, "url": receiver.url + "\r\nX-Injected: 1"})
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox.webhooks"):
        client.products.create(name=f"misdirected {tag}", type="service")
        tries = 1 + len(RETRIES)
        attempts = wait_for(
            lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= tries
        )
        assert queue.settled(attempts[0].event.id, 1) == {endpoint.id: ("failed", tries)}  # given up, not re-claimed
    assert [(a.status, a.response_status, a.retry_count) for a in attempts] == [
        ("failed", 0, n) for n in reversed(range(tries))
    ]
    assert attempts[0].response_body.startswith(
        "the delivery could not be attempted: InvalidURL: Invalid non-printable ASCII character in URL"
    )
    assert caplog.text == "" and receiver.events() == []


def test_a_mode_holds_at_most_16_endpoints_and_the_other_mode_is_unaffected(sandbox: RunningSandbox) -> None:
    with PaymentKit(base_url=sandbox.base_url, api_key=sandbox.api_key, livemode=False, max_retries=0) as client:
        live = client.with_options(livemode=True)
        made = [
            client.webhook_endpoints.create(url=f"https://example.com/{n}", enabled_events=["*"]) for n in range(16)
        ]
        made[0] = client.webhook_endpoints.update(made[0].id, status="disabled")  # disabled ones count too
        refusal = (
            "the sandbox holds at most 16 webhook endpoints a mode, and test mode has 16: "
            "delete one (or update one to the new URL) first"
        )
        with pytest.raises(BadRequestError, match=re.escape(refusal)):
            client.webhook_endpoints.create(url="https://example.com/17", enabled_events=["*"])
        assert client.webhook_endpoints.list(page_size=100).count == 16  # the refused one stored nothing
        other = live.webhook_endpoints.create(url="https://example.com/live", enabled_events=["*"])
        client.webhook_endpoints.delete(made[0].id)
        made[0] = client.webhook_endpoints.create(url="https://example.com/again", enabled_events=["*"])
        for endpoint in made:
            client.webhook_endpoints.delete(endpoint.id)
        live.webhook_endpoints.delete(other.id)


# -- signed deliveries ------------------------------------------------------------------------


def a_subscription_checkout(client: PaymentKit, tag: str) -> m.CheckoutSession:
    product = client.products.create(name=f"Signed {tag}", type="service")
    monthly = {"interval": "month", "interval_count": 1, "usage_type": "licensed"}
    price = client.prices.create(product_id=product.id, unit_amount="0.001", recurring=monthly)
    return client.checkout.sessions.create(
        line_items=[{"price_id": price.id, "quantity": 1}],
        mode="subscription",
        success_url="https://example.com/ok",
        cancel_url="https://example.com/no",
    )


def test_a_paid_checkout_delivers_signed_events_that_verify(
    client: PaymentKit, server: tuple[str, str], wiring: Wiring, queue: Queue, tag: str
) -> None:
    receiver, other, off = wiring.receiver(200), wiring.receiver(200), wiring.receiver(200)
    types = ["checkout.session.completed", "customer.subscription.created"]
    endpoint = wiring.endpoint(client, receiver.url, types)
    wiring.endpoint(client, other.url, ["invoice.voided"])  # subscribed to other types
    wiring.endpoint(client, off.url, types, status="disabled")
    assert endpoint.secret.startswith("whsec_") and "secret" not in client.webhook_endpoints.retrieve(endpoint.id)
    assert all("secret" not in e for e in client.webhook_endpoints.list(page_size=100))

    session = a_subscription_checkout(client, tag)
    with SandboxControl(*server, livemode=False) as control:
        paid = control.complete_checkout(session.id, customer_did=f"z{tag}")

    deliveries = wait_for(receiver.deliveries, lambda got: len(got) >= 2)
    events = {event.type: event for event in (verify.construct_event(raw, h, endpoint.secret) for raw, h in deliveries)}
    assert set(events) == set(types)
    completed = events["checkout.session.completed"]
    assert isinstance(completed.data.object, m.CheckoutSession) and completed.data.object.id == session.id
    assert completed.data.object.status == "complete" and completed["object"] == "event"
    created = events["customer.subscription.created"]
    assert isinstance(created.data.object, m.Subscription) and created.data.object.id == paid["subscription_id"]
    for raw, headers in deliveries:
        assert headers["webhook-id"] == json.loads(raw)["id"]
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
        assert headers["webhook-signature"].startswith("v1,")

    # Both events queued for the subscribed endpoint only, and delivered: nothing more comes.
    for event in events.values():
        assert queue.settled(event.id, 1) == {endpoint.id: ("delivered", 1)}
    assert other.events() == [] and off.events() == []

    # What arrived can be fetched again by id, and as a list filtered by type.
    with SandboxControl(*server, livemode=False) as control:
        again = control.event(completed.id)
        assert again["id"] == completed.id and again["data"]["object"]["id"] == session.id
        listed = control.events(type="customer.subscription.created", limit=5)["list"]
        assert listed[0]["id"] == created.id and len(listed) <= 5
        assert {e["type"] for e in listed} == {"customer.subscription.created"}


def test_a_tampered_body_a_wrong_secret_and_a_stale_timestamp_fail_verification(
    client: PaymentKit, wiring: Wiring, tag: str
) -> None:
    receiver = wiring.receiver(200)
    endpoint = wiring.endpoint(client, receiver.url, ["product.created"])
    client.products.create(name=f"genuine {tag}", type="service")
    raw, headers = wait_for(receiver.deliveries, lambda got: len(got) >= 1)[0]
    assert verify.construct_event(raw, headers, endpoint.secret).type == "product.created"

    stranger = wiring.endpoint(client, receiver.url, ["customer.deleted"])
    cases = [
        (raw.replace(f"genuine {tag}".encode(), f"forged {tag}".encode()), headers, endpoint.secret, "bad_signature"),
        (raw, headers, stranger.secret, "bad_signature"),
        (
            raw,
            {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 600)},
            endpoint.secret,
            "stale_timestamp",
        ),
        (
            raw,
            {k: v for k, v in headers.items() if k.lower() != "webhook-signature"},
            endpoint.secret,
            "missing_header",
        ),
    ]
    for body, sent_headers, secret, reason in cases:
        with pytest.raises(SignatureVerificationError) as caught:
            verify.construct_event(body, sent_headers, secret)
        assert caught.value.reason == reason
    # the stale delivery verifies once the receiver's clock is as old as the delivery
    assert verify.construct_event(raw, headers, endpoint.secret, tolerance=5).id == json.loads(raw)["id"]


def test_a_receiver_that_fails_twice_gets_the_signed_event_on_the_third_attempt(
    client: PaymentKit, server: tuple[str, str], wiring: Wiring, queue: Queue, tag: str
) -> None:
    receiver = wiring.receiver(500, 502, 200)
    endpoint = wiring.endpoint(client, receiver.url, ["product.created"])
    client.products.create(name=f"third time {tag}", type="service")
    deliveries = wait_for(receiver.deliveries, lambda got: len(got) >= 3)
    ids = {headers["webhook-id"] for _, headers in deliveries}
    assert len(deliveries) == 3 and len(ids) == 1  # the same event, retried
    assert all(verify.construct_event(raw, h, endpoint.secret).id in ids for raw, h in deliveries)
    attempts = wait_for(lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= 3)
    assert [(a.retry_count, a.status, a.response_status) for a in attempts] == [
        (2, "succeeded", 200),
        (1, "failed", 502),
        (0, "failed", 500),
    ]
    assert queue.settled(next(iter(ids)), 1) == {endpoint.id: ("delivered", 3)}
    assert len(receiver.deliveries()) == 3

    # Resending queues the event again, to the endpoints subscribed now.
    with SandboxControl(*server, livemode=False) as control:
        resent = control.resend_event(ids.pop(), webhook_endpoint_id=endpoint.id)
        assert resent["webhook_endpoints"] == [endpoint.id]
    got = wait_for(receiver.deliveries, lambda got: len(got) >= 4)
    assert got[3][1]["webhook-id"] == resent["event"]


# -- durability -------------------------------------------------------------------------------


def sandbox_process(db: Path | str, retry_delays: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """A sandbox in its own process on a database that outlives it (a file, or PostgreSQL), answering on
    a free loopback port; `env` adds to its environment."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "payment_kit_sandbox", "--port", str(port), "--db", str(db), "--api-key", "sk_kill"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS": retry_delays, **env},
    )
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, f"the sandbox process exited ({process.returncode}) before it answered"
        try:
            httpx.get(f"{base_url}/sandbox/health", headers={"Authorization": "Bearer sk_kill"}).raise_for_status()
        except httpx.TransportError:
            return False
        return True

    try:
        wait_until(answers, timeout=20, message=f"the sandbox process to answer on port {port}")
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    return process, base_url


def queued(db: Path) -> list[tuple[str, int, float]]:
    """The webhook queue in a sandbox's SQLite file, read beside (or after) its process:
    `(state, tries, next_at)` of each delivery."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [tuple(row) for row in conn.execute("SELECT state, attempts, next_at FROM webhook_deliveries")]


def test_a_delivery_pending_when_the_sandbox_is_killed_arrives_after_it_restarts(
    tmp_path: Path, wiring: Wiring, tag: str
) -> None:
    db = tmp_path / "sandbox.sqlite"
    receiver = wiring.receiver(500, 200)
    process, base_url = sandbox_process(db, retry_delays="2")
    try:
        with PaymentKit(base_url=base_url, api_key="sk_kill", livemode=False, max_retries=0) as client:
            endpoint = client.webhook_endpoints.create(url=receiver.url, enabled_events=["product.created"])
            product = client.products.create(name=f"survivor {tag}", type="service")
            # The first try failed and is recorded: the retry is queued in the database, due in 2 s.
            wait_for(lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= 1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert len(receiver.deliveries()) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    [(state, tries, due)] = queued(db)
    assert (state, tries) == ("pending", 1)  # the retry, queued in the file
    wait_until(lambda: time.time() > due, timeout=5, message="the retry to fall due while nothing runs")
    assert len(receiver.deliveries()) == 1
    process, base_url = sandbox_process(db, retry_delays="2")
    try:
        deliveries = wait_for(receiver.deliveries, lambda got: len(got) >= 2)
        (_, first), (raw, headers) = deliveries[:2]
        assert headers["webhook-id"] == first["webhook-id"]
        event = verify.construct_event(raw, headers, endpoint.secret)
        assert event.type == "product.created" and event.data.object.id == product.id
        with PaymentKit(base_url=base_url, api_key="sk_kill", livemode=False, max_retries=0) as client:
            attempts = wait_for(
                lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= 2
            )
            assert [(a.retry_count, a.status) for a in attempts] == [(1, "succeeded"), (0, "failed")]
        wait_until(lambda: [row[:2] for row in queued(db)] == [("delivered", 2)], message="the delivery to settle")
        assert len(receiver.deliveries()) == 2  # delivered once more, not again and again
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


# -- the example receiver ---------------------------------------------------------------------


def test_the_example_receiver_verifies_and_dispatches_real_deliveries(
    client: PaymentKit, server: tuple[str, str], wiring: Wiring, tag: str
) -> None:
    import importlib.util

    import uvicorn

    spec = importlib.util.spec_from_file_location(
        "webhook_receiver", Path(__file__).parents[2] / "examples" / "webhook_receiver.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks"
    endpoint = wiring.endpoint(client, url, ["checkout.session.completed", "customer.subscription.created"])
    liar = wiring.endpoint(client, url, ["checkout.session.completed"])  # signs with a secret the receiver lacks
    receiver = uvicorn.Server(
        uvicorn.Config(example.create_app(endpoint.secret), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=receiver.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: receiver.started, bool)
        session = a_subscription_checkout(client, tag)
        with SandboxControl(*server, livemode=False) as control:
            control.complete_checkout(session.id, customer_did=f"z{tag}")
        attempts = wait_for(lambda: client.webhook_endpoints.retrieve(endpoint.id).attempts, lambda got: len(got) >= 2)
        done = sorted(a.response_body["done"] for a in attempts)
        assert all(a.status == "succeeded" for a in attempts)
        assert done[0].startswith(f"fulfil checkout {session.id}: ") and done[1].startswith(
            "grant access for subscription sub_"
        )
        refused = wait_for(lambda: client.webhook_endpoints.retrieve(liar.id).attempts, lambda got: len(got) >= 1)
        assert refused[0].response_status == 400 and refused[0].response_body.to_dict() == {"error": "bad_signature"}
    finally:
        receiver.should_exit = True
        thread.join(timeout=10)
