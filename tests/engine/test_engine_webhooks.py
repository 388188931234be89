"""Webhook delivery without sockets: the Standard Webhooks signature, the retry policy and where it
may deliver, who subscribes, and one try of a queued delivery (a mock transport answers) from claim
to settlement: delivered, retried on schedule, given up, dropped, or refused for its host."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.database import Store
from payment_kit_sandbox.engine import webhooks

Answer = Callable[[httpx.Request], httpx.Response]
DELAYS = (1.0, 30.0)


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


# -- one queued delivery, tried by a dispatcher with no threads and a mock transport ----------------


class Receiver:
    """What the mock transport heard, and how it answers."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


class Inline:
    """An executor that runs work at once, on the caller's thread."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)


def dispatcher(store: Store, receiver: Receiver) -> Any:
    made = webhooks._Dispatcher.__new__(webhooks._Dispatcher)  # no poll thread, no pool
    made._store = lambda: store
    made._wake = threading.Event()
    made._pool = Inline()
    made._busy = 0
    made._busy_lock = threading.Lock()
    made._http = httpx.Client(transport=httpx.MockTransport(receiver))
    return made


@pytest.fixture(autouse=True)
def policy(monkeypatch: pytest.MonkeyPatch) -> webhooks.Policy:
    chosen = webhooks.Policy(DELAYS, 5.0)
    monkeypatch.setattr(webhooks, "POLICY", chosen)
    return chosen


@pytest.fixture
def store(outside_a_transaction: Context) -> Store:
    return outside_a_transaction.store


def queued(
    store: Store, *, url: str = "http://127.0.0.1:9/hook", secret: str | None = "whsec_" + "A" * 44
) -> dict[str, Any]:
    """An event with one endpoint and its delivery, claimed as a worker would: answers the claimed row."""
    endpoint = {"id": "we_1", "livemode": False, "status": "enabled", "enabled_events": ["*"], "url": url}
    if secret:
        endpoint["secret"] = secret
    event = {"id": "evt_1", "livemode": False, "type": "price.created", "pending_webhooks": 1, "data": {"object": {}}}
    with store.transaction():
        store.insert("webhook_endpoint", endpoint)
        store.insert("event", event)
        webhooks.deliver(store, event, [endpoint])
        [delivery] = store.claim_deliveries(time.time(), 60.0, 10)
    return delivery


def settled(store: Store) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(the delivery row, the attempts, the event) after a try."""
    with store.transaction():
        [row] = store.deliveries_of("evt_1")
        return row, store.all("webhook_attempt", False), store.get("event", "evt_1", False)


def test_a_delivery_is_claimed_once_until_its_lease_lapses(store: Store) -> None:
    delivery = queued(store)
    assert (delivery["state"], delivery["attempts"], delivery["endpoint_id"]) == ("pending", 0, "we_1")
    now = time.time()
    with store.transaction():
        assert store.claim_deliveries(now, 60.0, 10) == []
        assert store.next_delivery_at() == pytest.approx(now + 60.0, abs=5)
        assert [d["id"] for d in store.claim_deliveries(now + 61, 60.0, 10)] == [delivery["id"]]
        store.release_deliveries()  # a restarted sole user takes its old leases back at once
        assert [d["id"] for d in store.claim_deliveries(now, 60.0, 10)] == [delivery["id"]]


def test_a_2xx_answer_delivers_signed_and_settles_the_event(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(204))
    delivery = queued(store)
    dispatcher(store, receiver)._try(store, delivery)
    [request] = receiver.requests
    body, timestamp = request.content, request.headers["webhook-timestamp"]
    assert json.loads(body)["id"] == "evt_1" and request.headers["webhook-id"] == "evt_1"
    key = base64.b64decode("A" * 44)
    expected = base64.b64encode(hmac.new(key, b"evt_1." + timestamp.encode() + b"." + body, hashlib.sha256).digest())
    assert request.headers["webhook-signature"] == "v1," + expected.decode()
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


def test_a_failed_try_is_retried_after_the_policys_delay_then_given_up(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(500, json={"error": "down"}))
    worker = dispatcher(store, receiver)
    delivery = queued(store, secret=None)
    before = time.time()
    worker._try(store, delivery)
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
        worker._try(store, {**delivery, "attempts": retry})
    row, attempts, _ = settled(store)
    assert [a["retry_count"] for a in sorted(attempts, key=lambda a: a["retry_count"])] == [0, 1, 2]
    assert (row["state"], row["attempts"], row["next_at"]) == ("failed", 3, 0.0)  # len(DELAYS) retries, then no more


def test_a_receiver_that_does_not_answer_is_recorded_as_status_0(store: Store) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    dispatcher(store, Receiver(refuse))._try(store, queued(store))
    row, [attempt], _ = settled(store)
    assert attempt["response_status"] == 0
    assert attempt["response_body"] == "no answer from the receiver: ConnectError: connection refused"
    assert row["state"] == "pending"


def test_a_host_not_allowed_is_never_contacted_nor_retried(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    dispatcher(store, receiver)._try(store, queued(store, url="https://example.com/hook"))
    assert receiver.requests == []
    row, [attempt], _ = settled(store)
    assert (row["state"], attempt["status"], attempt["response_status"]) == ("failed", "failed", 0)
    assert "PAYMENT_KIT_SANDBOX_WEBHOOK_HOSTS" in attempt["response_body"]


@pytest.mark.parametrize("change", ["disable", "delete endpoint", "delete event"])
def test_an_endpoint_disabled_or_deleted_meanwhile_gets_no_try(store: Store, change: str) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    delivery = queued(store)
    with store.transaction():
        if change == "disable":
            endpoint = store.get("webhook_endpoint", "we_1", False)
            store.save("webhook_endpoint", {**endpoint, "status": "disabled"})
        elif change == "delete endpoint":
            store.delete("webhook_endpoint", "we_1")
        else:
            store.delete("event", "evt_1")
    dispatcher(store, receiver)._try(store, delivery)
    assert receiver.requests == []
    with store.transaction():
        [row] = store.deliveries_of("evt_1")
        assert store.all("webhook_attempt", False) == []
    assert (row["state"], row["attempts"]) == ("dropped", 0)


@pytest.mark.parametrize(
    ("response", "kept"),
    [
        (httpx.Response(200, text=""), None),
        (httpx.Response(200, json={"ok": True}), {"ok": True}),
        (httpx.Response(200, json=[1, 2]), "[1,2]"),
        (httpx.Response(200, text="{not json", headers={"content-type": "application/json"}), "{not json"),
        (httpx.Response(200, text="x" * 5000), "x" * webhooks.BODY_LIMIT),
    ],
)
def test_a_receivers_answer_is_kept_as_json_object_or_bounded_text(response: httpx.Response, kept: Any) -> None:
    assert webhooks._answer(response) == kept


def poll_until_idle(store: Store, worker: Any) -> list[float]:
    """Run the poller until it first waits (the wait closes the store, which ends it); answers its waits."""
    waits: list[float] = []

    class Wake(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout or 0.0)
            store.close()
            return True

    worker._wake = Wake()
    worker._poll()
    return waits


def test_the_poller_claims_due_deliveries_works_them_and_stops_with_its_store(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    worker = dispatcher(store, receiver)
    queued(store)
    with store.transaction():
        store.release_deliveries()  # as `start` does, so the poller may claim it
    # The first look works the delivery and looks again at once; the second finds nothing and waits.
    assert poll_until_idle(store, worker) == [webhooks.IDLE_POLL]
    assert len(receiver.requests) == 1 and worker._busy == 0


def test_the_poller_waits_only_until_the_next_delivery_falls_due(store: Store) -> None:
    delivery = queued(store)
    with store.transaction():
        store.settle_delivery(delivery["id"], state="pending", attempts=1, next_at=time.time() + 0.1)
    [wait] = poll_until_idle(store, dispatcher(store, Receiver(lambda _: httpx.Response(200))))
    assert 0 < wait <= 0.1


def test_the_poller_claims_nothing_while_every_worker_is_busy(store: Store) -> None:
    receiver = Receiver(lambda _: httpx.Response(200))
    worker = dispatcher(store, receiver)
    worker._busy = webhooks.WORKERS
    queued(store)
    with store.transaction():
        store.release_deliveries()
    assert poll_until_idle(store, worker) == [webhooks.IDLE_POLL]
    assert receiver.requests == []


def test_a_failed_look_at_the_queue_is_logged_and_tried_again(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreadable(*_: Any) -> list[dict[str, Any]]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "claim_deliveries", unreadable)
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox.webhooks"):
        waits = poll_until_idle(store, dispatcher(store, Receiver(lambda _: httpx.Response(200))))
    assert waits == [webhooks.IDLE_POLL]
    assert "reading the webhook queue failed; trying again" in caplog.text


def test_a_dispatcher_for_a_closed_store_stops_at_its_first_look(store: Store) -> None:
    store.close()
    made = webhooks._Dispatcher(store)
    made.wake()
    assert made._wake.is_set() and made._busy == 0
    made._http.close()
    made._pool.shutdown()


def test_a_try_that_fails_is_logged_and_frees_its_worker(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    worker = dispatcher(store, Receiver(lambda _: httpx.Response(200)))
    worker._busy = 1
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox.webhooks"):
        worker._work({"id": "whd_broken"})  # no endpoint_id: the try raises
    assert "webhook delivery whd_broken failed" in caplog.text
    assert worker._busy == 0 and worker._wake.is_set()
    gone = dispatcher(store, Receiver(lambda _: httpx.Response(200)))
    gone._store, gone._busy = (lambda: None), 1
    gone._work({"id": "whd_orphan"})
    assert gone._busy == 0


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
