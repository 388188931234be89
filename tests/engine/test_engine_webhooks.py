"""Webhook delivery without sockets: the Standard Webhooks signature, the retry policy and where it
may deliver, who subscribes; the queue, which hands out one delivery per endpoint at a time; one
attempt of a queued delivery (a mock transport answers) from claim to settlement: delivered, retried
on schedule, given up, dropped, refused for its host, cut at its deadline or at ANSWER_BYTES, or
failed before it could be made; and the worker, whose slow endpoints never delay another's."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from waiting import wait_until

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.database import Store
from payment_kit_sandbox.engine import webhooks

Answer = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]
DELAYS = (1.0, 30.0)
SECRET = "whsec_" + "A" * 44


def test_the_signature_is_the_standard_webhooks_v1_hmac() -> None:
    # The published Standard Webhooks test vector.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signature = webhooks.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert webhooks.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, b'{"test": 2432232314}') != signature


def test_a_new_secret_is_32_random_bytes_in_base64() -> None:
    first, second = webhooks.new_secret(), webhooks.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_the_body_is_compact_json_of_the_event() -> None:
    assert webhooks.body_of({"id": "evt_1", "data": {"a": [1, "é"]}}) == b'{"id":"evt_1","data":{"a":[1,"\\u00e9"]}}'


@pytest.mark.parametrize(
    ("url", "hosts", "allowed"),
    [
        ("http://127.0.0.1:8000/hook", (), True),
        ("http://127.8.9.10/hook", (), True),
        ("http://[::1]:8000/hook", (), True),
        ("http://LOCALHOST/hook", (), True),
        ("https://example.com/hook", (), False),
        ("https://10.0.0.1/hook", (), False),
        ("not a url", (), False),
        ("https://example.com/hook", ("example.com",), True),
        ("https://other.example/hook", ("example.com",), False),
        ("https://other.example/hook", ("*",), True),
    ],
)
def test_deliveries_go_to_loopback_or_named_hosts_only(url: str, hosts: tuple[str, ...], allowed: bool) -> None:
    assert webhooks.Policy((), 1.0, frozenset(hosts)).allows(url) is allowed


def test_the_policy_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RETRY_DELAYS", "TIMEOUT", "HOSTS"):
        monkeypatch.delenv(f"PAYMENT_KIT_SANDBOX_WEBHOOK_{name}", raising=False)
    assert webhooks._policy_from_env() == webhooks.Policy((0.5, 2.0, 8.0), 10.0, frozenset())
    monkeypatch.setenv("PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS", "0.01, 0.02,")
    monkeypatch.setenv("PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT", "3")
    monkeypatch.setenv("PAYMENT_KIT_SANDBOX_WEBHOOK_HOSTS", " Hooks.Example , ,*")
    assert webhooks._policy_from_env() == webhooks.Policy((0.01, 0.02), 3.0, frozenset({"hooks.example", "*"}))
    monkeypatch.setenv("PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS", "")
    assert webhooks._policy_from_env().retry_delays == ()  # no retries at all


@pytest.mark.parametrize(
    ("delays", "timeout", "problem"),
    [
        ("1,soon", "10", "must be comma-separated seconds"),
        ("1", "ten", "not '1' and 'ten'"),
        ("1,-2", "10", "cannot be negative"),
        ("1", "0", "the timeout must be positive"),
    ],
)
def test_a_bad_policy_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, delays: str, timeout: str, problem: str
) -> None:
    monkeypatch.setenv("PAYMENT_KIT_SANDBOX_WEBHOOK_RETRY_DELAYS", delays)
    monkeypatch.setenv("PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT", timeout)
    with pytest.raises(ValueError, match=problem):
        webhooks._policy_from_env()


def test_an_endpoint_takes_the_types_it_names_or_all_while_enabled(ctx: Context) -> None:
    assert webhooks.matches({"status": "enabled", "enabled_events": ["*"]}, "price.created")
    assert webhooks.matches({"status": "enabled", "enabled_events": ["price.created"]}, "price.created")
    assert not webhooks.matches({"status": "enabled", "enabled_events": ["price.updated"]}, "price.created")
    assert not webhooks.matches({"status": "disabled", "enabled_events": ["*"]}, "price.created")
    assert not webhooks.matches({"status": "enabled", "enabled_events": None}, "price.created")
    ctx.store.insert(
        "webhook_endpoint", {"id": "we_test", "livemode": False, "status": "enabled", "enabled_events": ["*"]}
    )
    assert [e["id"] for e in webhooks.subscribed(ctx.store, False, "x")] == ["we_test"]
    assert webhooks.subscribed(ctx.store, True, "x") == []


# -- the queue (the store's side: tests/test_sandbox_store.py) ------------------------------------


@pytest.fixture(autouse=True)
def policy(monkeypatch: pytest.MonkeyPatch) -> webhooks.Policy:
    chosen = webhooks.Policy(DELAYS, 5.0)
    monkeypatch.setattr(webhooks, "POLICY", chosen)
    return chosen


@pytest.fixture
def store(outside_a_transaction: Context) -> Store:
    return outside_a_transaction.store


def endpoint_row(endpoint_id: str, url: str, *, livemode: bool = False, secret: str | None = None) -> dict[str, Any]:
    endpoint = {"id": endpoint_id, "livemode": livemode, "status": "enabled", "enabled_events": ["*"], "url": url}
    if secret:
        endpoint["secret"] = secret
    return endpoint


def queued(
    store: Store,
    *,
    endpoint_id: str = "we_1",
    url: str = "http://127.0.0.1:9/hook",
    secret: str | None = SECRET,
    claim: bool = True,
) -> dict[str, Any]:
    """An endpoint, an event for it and their delivery; answers the delivery, claimed as a worker
    would unless `claim` is false."""
    endpoint = endpoint_row(endpoint_id, url, secret=secret)
    event = {
        "id": f"evt_{endpoint_id}",
        "livemode": False,
        "type": "price.created",
        "pending_webhooks": 1,
        "data": {"object": {}},
    }
    with store.transaction():
        store.insert("webhook_endpoint", endpoint)
        store.insert("event", event)
        webhooks.deliver(store, event, [endpoint])
        if claim:
            [delivery] = store.claim_deliveries(time.time(), 60.0, 10)
            return delivery
        [delivery] = store.deliveries_of(event["id"])
        return delivery


def test_a_delivery_is_claimed_once_until_its_lease_lapses(store: Store) -> None:
    delivery = queued(store)
    assert (delivery["state"], delivery["attempts"], delivery["endpoint_id"]) == ("pending", 0, "we_1")
    now = time.time()
    with store.transaction():
        assert store.claim_deliveries(now, 60.0, 10) == []
        assert store.next_delivery_at(now) is None  # its endpoint has an attempt under way
        assert store.next_delivery_at(now + 61) == pytest.approx(now, abs=5)  # until the lease lapses
        assert [d["id"] for d in store.claim_deliveries(now + 61, 60.0, 10)] == [delivery["id"]]
        store.release_deliveries()  # a restarted sole user takes its old leases back at once
        assert [d["id"] for d in store.claim_deliveries(now, 60.0, 10)] == [delivery["id"]]


# -- one attempt, through a mock transport ----------------------------------------------------------


class Receiver:
    """What the mock transport heard, and how it answers (`answer` may be a coroutine function)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answered = self.answer(request)
        response = await answered if isinstance(answered, Awaitable) else answered
        if not response.is_stream_consumed:
            return response
        # A body given as bytes is read into the response at once; a receiver's answer streams.
        body = response.content

        async def streamed() -> AsyncIterator[bytes]:
            yield body

        return httpx.Response(response.status_code, headers=response.headers, content=streamed())


def worker(store: Store) -> Any:
    """A dispatcher with no thread and no loop of its own: its looks and attempts run on the test's loop."""
    made = webhooks._Dispatcher.__new__(webhooks._Dispatcher)
    made._store = weakref.ref(store)
    made._transport = None
    made._loop = None
    made._wake = asyncio.Event()
    made._in_flight = set()
    return made


def client(receiver: Receiver) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(receiver))


async def tried(store: Store, receiver: Receiver, delivery: dict[str, Any]) -> None:
    """One claimed delivery worked off as the worker does it: prepared, attempted, settled."""
    async with client(receiver) as http:
        await worker(store)._work(http, delivery)


def settled(store: Store, event_id: str = "evt_we_1") -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(the delivery row, the attempts oldest first, the event) after a try."""
    with store.transaction():
        [row] = store.deliveries_of(event_id)
        attempts = sorted(store.all("webhook_attempt", False), key=lambda a: a["retry_count"])
        return row, attempts, store.get("event", event_id, False)


async def test_a_2xx_answer_delivers_signed_and_settles_the_event(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(204))
    await tried(store, receiver, queued(store))
    [request] = receiver.requests
    body, timestamp = request.content, request.headers["webhook-timestamp"]
    assert json.loads(body)["id"] == "evt_we_1" and request.headers["webhook-id"] == "evt_we_1"
    key = base64.b64decode("A" * 44)
    signed = b"evt_we_1." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    assert request.headers["webhook-signature"] == "v1," + expected.decode()
    assert request.headers["accept-encoding"] == "identity"  # an answer is read as sent, never inflated
    assert abs(int(timestamp) - time.time()) <= 2  # wall-clock time of the try, not the sandbox clock
    row, [attempt], event = settled(store)
    assert (row["state"], row["attempts"], row["next_at"], row["lease_until"]) == ("delivered", 1, 0.0, 0.0)
    assert (attempt["status"], attempt["response_status"], attempt["response_body"], attempt["retry_count"]) == (
        "succeeded",
        204,
        None,
        0,
    )
    assert event["pending_webhooks"] == 0


async def test_a_failed_try_is_retried_after_the_policys_delay_then_given_up(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(500, json={"error": "down"}))
    delivery = queued(store, secret=None)
    before = time.time()
    await tried(store, receiver, delivery)
    assert "webhook-signature" not in receiver.requests[0].headers  # an endpoint without a secret
    row, [attempt], event = settled(store)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert before + DELAYS[0] <= row["next_at"] <= time.time() + DELAYS[0]
    assert (attempt["status"], attempt["response_status"], attempt["response_body"]) == (
        "failed",
        500,
        {"error": "down"},
    )
    assert event["pending_webhooks"] == 1
    for retry in (1, 2):
        await tried(store, receiver, {**delivery, "attempts": retry})
    row, attempts, _ = settled(store)
    assert [a["retry_count"] for a in attempts] == [0, 1, 2]
    assert (row["state"], row["attempts"], row["next_at"]) == ("failed", 3, 0.0)  # len(DELAYS) retries, then no more


async def test_a_receiver_that_does_not_answer_is_recorded_as_status_0(store: Store) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    await tried(store, Receiver(refuse), queued(store))
    row, [attempt], _ = settled(store)
    assert attempt["response_status"] == 0
    assert attempt["response_body"] == "no answer from the receiver: ConnectError: connection refused"
    assert row["state"] == "pending"


async def test_a_host_not_allowed_is_never_contacted_nor_retried(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    await tried(store, receiver, queued(store, url="https://example.com/hook"))
    assert receiver.requests == []
    row, [attempt], _ = settled(store)
    assert (row["state"], attempt["status"], attempt["response_status"]) == ("failed", "failed", 0)
    assert "PAYMENT_KIT_SANDBOX_WEBHOOK_HOSTS" in attempt["response_body"]


@pytest.mark.parametrize("change", ["disable", "delete endpoint", "delete event"])
async def test_an_endpoint_disabled_or_deleted_meanwhile_gets_no_try(store: Store, change: str) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    delivery = queued(store)
    with store.transaction():
        if change == "disable":
            endpoint = store.get("webhook_endpoint", "we_1", False)
            store.save("webhook_endpoint", {**endpoint, "status": "disabled"})
        elif change == "delete endpoint":
            store.delete("webhook_endpoint", "we_1")
        else:
            store.delete("event", "evt_we_1")
    await tried(store, receiver, delivery)
    assert receiver.requests == []
    with store.transaction():
        [row] = store.deliveries_of("evt_we_1")
        assert store.all("webhook_attempt", False) == []
    assert (row["state"], row["attempts"]) == ("dropped", 0)


CUT = f" [cut: only the first {webhooks.ANSWER_BYTES} bytes of the answer were read]"


@pytest.mark.parametrize(
    ("headers", "read", "cut", "kept"),
    [
        ({}, b"", False, None),
        ({"content-type": "application/json"}, b'{"ok": true}', False, {"ok": True}),
        ({"content-type": "application/json"}, b"[1,2]", False, "[1,2]"),
        ({"content-type": "application/json"}, b"{not json", False, "{not json"),
        ({"content-type": "application/json"}, b'{"a": 1, "a": 2}', False, '{"a": 1, "a": 2}'),  # not strict
        ({"content-type": "application/json"}, b'{"a":' * 40 + b"1" + b"}" * 40, False, '{"a":' * 40 + "1" + "}" * 40),
        ({"content-type": "application/json"}, b'{"ok": true}', True, '{"ok": true}' + CUT),  # cut: not whole
        ({}, b"x" * 5000, False, "x" * webhooks.BODY_LIMIT),
        ({}, b"x" * 5000, True, "x" * webhooks.BODY_LIMIT + CUT),
        ({"content-type": "text/plain; charset=latin-1"}, "é".encode("latin-1"), False, "é"),
        ({"content-type": "text/plain; charset=no-such-charset"}, "é".encode(), False, "é"),
        ({}, b"\xff ok", False, "\ufffd ok"),
    ],
)
def test_what_is_kept_of_an_answer_is_a_whole_strict_json_object_or_bounded_text(
    headers: dict[str, str], read: bytes, cut: bool, kept: Any
) -> None:
    assert webhooks._kept(httpx.Response(200, headers=headers), read, cut) == kept


async def never_answers(_: httpx.Request) -> httpx.Response:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


async def trickles(_: httpx.Request) -> httpx.Response:
    async def a_byte_at_a_time() -> AsyncIterator[bytes]:
        while True:  # each byte well within any per-read timeout
            yield b"x"
            await asyncio.sleep(0.02)

    return httpx.Response(200, content=a_byte_at_a_time())


@pytest.mark.parametrize("answer", [never_answers, trickles], ids=["never answers", "trickles its answer"])
async def test_an_attempt_ends_at_its_one_deadline_however_the_receiver_stalls(
    store: Store, monkeypatch: pytest.MonkeyPatch, answer: Answer
) -> None:
    monkeypatch.setattr(webhooks, "POLICY", webhooks.Policy(DELAYS, 0.3))
    started = time.monotonic()
    await tried(store, Receiver(answer), queued(store))
    took = time.monotonic() - started
    assert 0.3 <= took < 5, took  # the deadline, plus the attempt's database work on a busy machine (else: an hour)
    row, [attempt], _ = settled(store)
    assert (attempt["status"], attempt["response_status"]) == ("failed", 0)
    assert attempt["response_body"] == (
        "no complete answer within the attempt's deadline of 0.3 s (connecting, sending and reading the answer)"
    )
    assert (row["state"], row["attempts"]) == ("pending", 1)  # retried like any failure


async def test_at_most_answer_bytes_of_an_answer_are_read(store: Store) -> None:
    pulled = []

    async def floods(_: httpx.Request) -> httpx.Response:
        async def endless() -> AsyncIterator[bytes]:
            while True:
                pulled.append(64 * 1024)
                yield b"x" * (64 * 1024)

        return httpx.Response(200, content=endless())

    await tried(store, Receiver(floods), queued(store))
    assert sum(pulled) <= webhooks.ANSWER_BYTES + 64 * 1024  # read up to the cap, then the answer was closed
    row, [attempt], _ = settled(store)
    assert (row["state"], attempt["status"], attempt["response_status"]) == ("delivered", "succeeded", 200)
    assert attempt["response_body"] == "x" * webhooks.BODY_LIMIT + CUT

    exact = Receiver(lambda _: httpx.Response(200, content=b"y" * webhooks.ANSWER_BYTES))
    outcome = await webhooks.attempt(client(exact), {"id": "we_1", "url": "http://127.0.0.1:9/"}, {"id": "evt_1"})
    assert outcome == webhooks.Outcome(200, "y" * webhooks.BODY_LIMIT)  # all of it read: not cut


@pytest.mark.parametrize(
    ("url", "secret", "why"),
    [
        ("http://127.0.0.1:9/a\r\nb", SECRET, "InvalidURL: Invalid non-printable ASCII character in URL"),
        ("http://[::1", SECRET, "ValueError: Invalid IPv6 URL"),
        ("http://127.0.0.1:9/hook", "whsec_not base64!", "Error: "),  # binascii.Error
    ],
    ids=["a URL httpx refuses", "a URL that does not parse", "a secret that does not decode"],
)
async def test_anything_that_keeps_an_attempt_from_being_made_is_a_failed_attempt_that_counts(
    store: Store, caplog: pytest.LogCaptureFixture, url: str, secret: str, why: str
) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    delivery = queued(store, url=url, secret=secret)
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox.webhooks"):
        for retry in range(len(DELAYS) + 1):
            await tried(store, receiver, {**delivery, "attempts": retry})
    assert caplog.text == ""  # recorded, not logged as a failure of the worker
    assert receiver.requests == []
    row, attempts, _ = settled(store)
    assert (row["state"], row["attempts"]) == ("failed", len(DELAYS) + 1)  # the retry bound holds
    assert [(a["status"], a["response_status"]) for a in attempts] == [("failed", 0)] * (len(DELAYS) + 1)
    assert all(a["response_body"].startswith(f"the delivery could not be attempted: {why}") for a in attempts)


# -- the worker ---------------------------------------------------------------------------------------


async def test_a_look_starts_an_attempt_per_due_endpoint_and_then_looks_again_at_once(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    made = worker(store)
    attempts: set[asyncio.Task[None]] = set()
    queued(store, endpoint_id="we_1", claim=False)
    queued(store, endpoint_id="we_2", claim=False)
    with store.transaction():
        store.release_deliveries()
    async with client(receiver) as http:
        assert await made._look(http, attempts) == 0.0
        assert made._in_flight == {"we_1", "we_2"} and len(attempts) == 2
        await asyncio.gather(*attempts)
        assert made._in_flight == set() and made._wake.is_set()  # each lane freed, and the worker woken
        assert await made._look(http, attempts) == webhooks.IDLE_POLL  # nothing left to claim
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == ["evt_we_1", "evt_we_2"]


async def test_a_look_waits_only_until_the_next_delivery_falls_due(store: Store) -> None:
    delivery = queued(store)
    with store.transaction():
        store.settle_delivery(delivery["id"], state="pending", attempts=1, next_at=time.time() + 0.1)
    async with client(Receiver(lambda _: httpx.Response(200))) as http:
        wait = await worker(store)._look(http, set())
    assert 0 < wait <= 0.1


async def test_a_look_claims_nothing_while_every_lane_is_busy(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    made = worker(store)
    made._in_flight = {f"we_busy_{n}" for n in range(webhooks.MAX_IN_FLIGHT)}
    queued(store, claim=False)
    attempts: set[asyncio.Task[None]] = set()
    async with client(receiver) as http:
        assert await made._look(http, attempts) == webhooks.IDLE_POLL
    assert attempts == set() and receiver.requests == []


async def test_a_failed_look_at_the_queue_is_logged_and_tried_again(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreadable(*_: Any, **__: Any) -> list[dict[str, Any]]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "claim_deliveries", unreadable)
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox.webhooks"):
        async with client(Receiver(lambda _: httpx.Response(200))) as http:
            assert await worker(store)._look(http, set()) == webhooks.IDLE_POLL
    assert "reading the webhook queue failed; trying again" in caplog.text


async def test_a_look_at_a_closed_store_stops_the_worker(store: Store) -> None:
    store.close()
    async with client(Receiver(lambda _: httpx.Response(200))) as http:
        assert await worker(store)._look(http, set()) is None


def test_a_dispatcher_for_a_closed_store_ends_its_loop_at_its_first_look(store: Store) -> None:
    store.close()
    made = webhooks._Dispatcher(store)
    wait_until(lambda: made._loop is not None and made._loop.is_closed(), message="the worker's loop to end")
    made.wake()  # harmless once the loop has ended


async def test_a_try_that_fails_is_logged_and_frees_its_lane(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    made = worker(store)
    made._in_flight = {"we_1"}
    broken = {"id": "whd_broken", "endpoint_id": "we_1", "event_id": "evt_1", "livemode": False, "attempts": 0}
    store.close()  # the store fails under the try
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox.webhooks"):
        async with client(Receiver(lambda _: httpx.Response(200))) as http:
            await made._work(http, broken)
    assert "webhook delivery whd_broken failed" in caplog.text
    assert made._in_flight == set() and made._wake.is_set()
    gone = worker(store)
    gone._store, gone._in_flight = (lambda: None), {"we_1"}
    async with client(Receiver(lambda _: httpx.Response(200))) as http:
        await gone._work(http, broken)
    assert gone._in_flight == set()


def test_slow_endpoints_never_delay_another_endpoints_delivery(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Six endpoints that never answer, three deliveries each and queued first, hold no lane another
    endpoint needs: the healthy endpoints of both modes get theirs at once, not after a deadline."""
    monkeypatch.setattr(webhooks, "POLICY", webhooks.Policy((), 2.0))
    received: dict[str, float] = {}

    async def answer(request: httpx.Request) -> httpx.Response:
        if "/slow/" in request.url.path:
            await asyncio.sleep(3600)  # until the deadline cancels it
        received[request.url.path] = time.monotonic()
        return httpx.Response(200)

    slow = [endpoint_row(f"we_slow{n}", f"http://127.0.0.1:9/slow/{n}") for n in range(6)]
    healthy = endpoint_row("we_ok", "http://127.0.0.1:9/ok")
    live = endpoint_row("we_live", "http://127.0.0.1:9/live", livemode=True)
    with store.transaction():
        for endpoint in [*slow, healthy, live]:
            store.insert("webhook_endpoint", endpoint)
        for n in range(3):
            event = {"id": f"evt_{n}", "livemode": False, "type": "price.created", "data": {"object": {}}}
            store.insert("event", event)
            webhooks.deliver(store, event, slow)
        for endpoint in (healthy, live):
            event = {"id": f"evt_{endpoint['id']}", "livemode": endpoint["livemode"], "type": "price.created"}
            store.insert("event", {**event, "data": {"object": {}}})
            webhooks.deliver(store, event, [endpoint])
    started = time.monotonic()
    webhooks._Dispatcher(store, transport=httpx.MockTransport(answer))  # its loop ends with the store
    wait_until(lambda: {"/ok", "/live"} <= set(received), message="the healthy endpoints' deliveries")
    assert max(received.values()) - started < 1.0  # not after the slow ones' 2 s deadline


def test_waking_makes_one_dispatcher_per_store_and_start_frees_old_leases(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Any] = []

    class Recorder:
        def __init__(self, for_store: Store) -> None:
            self.wakes = 0
            made.append(for_store)

        def wake(self) -> None:
            self.wakes += 1

    monkeypatch.setattr(webhooks, "_Dispatcher", Recorder)
    delivery = queued(store)
    webhooks.start(store)
    webhooks.wake(store)
    assert made == [store] and webhooks._DISPATCHERS[store].wakes == 2
    with store.transaction():
        assert [d["id"] for d in store.claim_deliveries(time.time(), 60.0, 10)] == [delivery["id"]]
