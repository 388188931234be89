"""Events in the request's own transaction (a transactional outbox): each emitted event is stored
once with its request's ids and the sandbox clock's time, in its object's mode, and queued for
exactly the endpoints that subscribe to it, committed or rolled back with the request's writes;
after the commit the worker is only woken, and a failure to wake never undoes the request. The
test-only fault that kills the process between a commit and its answer counts commits that queued
deliveries."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from payment_kit_sandbox import fault_injection
from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import events, webhooks


@pytest.fixture
def woken(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The stores whose webhook worker would have been woken (no worker thread is started)."""
    calls: list[Any] = []
    monkeypatch.setattr(webhooks, "wake", calls.append)
    return calls


def endpoint(ctx: Context, *enabled_events: str, livemode: bool = False, status: str = "enabled") -> dict[str, Any]:
    record = {
        "id": f"we_{len(enabled_events)}_{status}_{livemode}",
        "livemode": livemode,
        "url": "http://127.0.0.1:9/hook",
        "status": status,
        "enabled_events": list(enabled_events),
    }
    with ctx.store.transaction():
        return ctx.store.insert("webhook_endpoint", record)


def stored_events(ctx: Context, livemode: bool = False) -> list[dict[str, Any]]:
    with ctx.store.transaction():
        return ctx.store.all("event", livemode)


def committed(ctx: Context) -> None:
    """Record the emitted events as a request's last step, in its transaction, then run what follows
    the commit."""
    with ctx.store.transaction():
        events.record(ctx)
    events.after_commit(ctx)


def test_nothing_emitted_stores_nothing_and_wakes_no_one(outside_a_transaction: Context, woken: list[Any]) -> None:
    ctx = outside_a_transaction
    committed(ctx)
    assert stored_events(ctx) == [] and not ctx.deliveries_queued
    ctx.store.close()  # would fail any transaction: after the commit there must be none
    events.after_commit(ctx)
    assert woken == []


def test_each_event_is_stored_with_its_request_and_the_sandbox_clocks_time(
    outside_a_transaction: Context, woken: list[Any]
) -> None:
    ctx = outside_a_transaction
    ctx.headers = {"x-request-id": "req_given", "idempotency-key": "k1", "x-user-did": "zAdmin"}
    with ctx.store.transaction():
        ctx.set_clock_offset(1000)
    ctx.emit("price.created", "price", {"id": "price_1", "livemode": False})
    ctx.emit("product.updated", "product", {"name": "no id"})
    committed(ctx)
    assert ctx.events == [] and woken == []  # no endpoint listens
    first, second = sorted(stored_events(ctx), key=lambda e: e["type"])
    assert (first["type"], first["object_type"], first["object_id"], first["api_version"]) == (
        "price.created",
        "price",
        "price_1",
        events.API_VERSION,
    )
    assert first["request"] == {"id": "req_given", "idempotency_key": "k1", "requested_by": "zAdmin"}
    assert first["data"] == {"object": {"id": "price_1", "livemode": False}} and first["pending_webhooks"] == 0
    assert first["created"] == ctx.now() and first["id"].startswith("evt_")
    assert second["object_id"] == "" and second["type"] == "product.updated"


def test_an_event_without_a_request_id_gets_a_generated_one(outside_a_transaction: Context, woken: list[Any]) -> None:
    ctx = outside_a_transaction
    ctx.emit("price.created", "price", {"id": "price_1"})
    committed(ctx)
    [event] = stored_events(ctx)
    assert event["request"]["id"].startswith("req_") and event["request"]["idempotency_key"] is None


def test_an_event_belongs_to_its_objects_mode(outside_a_transaction: Context, woken: list[Any]) -> None:
    ctx = outside_a_transaction
    ctx.emit("customer.subscription.updated", "subscription", {"id": "sub_live", "livemode": True})
    committed(ctx)
    assert stored_events(ctx, livemode=False) == []
    assert [e["object_id"] for e in stored_events(ctx, livemode=True)] == ["sub_live"]


def test_deliveries_are_queued_for_enabled_endpoints_of_the_mode_that_subscribe(
    outside_a_transaction: Context, woken: list[Any]
) -> None:
    ctx = outside_a_transaction
    every = endpoint(ctx, "*")
    named = endpoint(ctx, "price.created", "price.updated")
    endpoint(ctx, "coupon.created", "coupon.updated", "coupon.deleted")  # another type
    endpoint(ctx, "*", status="disabled")
    endpoint(ctx, "price.created", livemode=True)  # the other mode
    ctx.emit("price.created", "price", {"id": "price_1", "livemode": False})
    ctx.emit("price.updated", "price", {"id": "price_1", "livemode": False})
    committed(ctx)
    first, second = sorted(stored_events(ctx), key=lambda e: e["type"])
    assert first["pending_webhooks"] == 2
    with ctx.store.transaction():
        queued = ctx.store.deliveries_of(first["id"])
        assert len(ctx.store.deliveries_of(second["id"])) == 2
    assert sorted(d["endpoint_id"] for d in queued) == sorted([every["id"], named["id"]])
    assert {(d["state"], d["attempts"], d["livemode"]) for d in queued} == {("pending", 0, False)}
    assert woken == [ctx.store]  # once per request, however many deliveries


def test_events_and_their_deliveries_commit_and_roll_back_with_the_request(
    outside_a_transaction: Context, woken: list[Any]
) -> None:
    ctx = outside_a_transaction
    listening = endpoint(ctx, "*")

    def refused_after_emitting() -> None:
        ctx.store.insert("product", {"id": "prod_lost", "livemode": False})
        ctx.emit("product.created", "product", {"id": "prod_lost", "livemode": False})
        events.record(ctx)
        raise RuntimeError("the request fails after its events were recorded")

    with pytest.raises(RuntimeError, match="after its events were recorded"):
        ctx.store.run(refused_after_emitting)
    assert stored_events(ctx) == []  # gone with the request's own write
    with ctx.store.transaction():
        assert ctx.store.get("product", "prod_lost", False) is None
        assert ctx.store.next_delivery_at(float("inf")) is None  # nothing queued

    def succeeds() -> None:
        ctx.emit("product.created", "product", {"id": "prod_kept", "livemode": False})
        events.record(ctx)

    ctx.store.run(succeeds)
    # Stored and queued by the commit itself, before anything runs after it (nothing has woken the worker).
    [event] = stored_events(ctx)
    with ctx.store.transaction():
        assert [d["endpoint_id"] for d in ctx.store.deliveries_of(event["id"])] == [listening["id"]]
    assert woken == [] and ctx.deliveries_queued
    events.after_commit(ctx)
    assert woken == [ctx.store]


def test_events_never_recorded_are_a_bug_that_raises(outside_a_transaction: Context, woken: list[Any]) -> None:
    ctx = outside_a_transaction
    ctx.emit("price.created", "price", {"id": "price_1"})
    with pytest.raises(RuntimeError, match=r"never recorded in its transaction \(engine.events.record\)"):
        events.after_commit(ctx)
    assert woken == []


def test_a_failure_to_wake_the_worker_is_logged_not_raised(
    outside_a_transaction: Context, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_: Any) -> None:
        raise RuntimeError("no thread to start")

    monkeypatch.setattr(webhooks, "wake", broken)
    ctx = outside_a_transaction
    endpoint(ctx, "*")
    ctx.emit("price.created", "price", {"id": "price_1"})
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox.events"):
        committed(ctx)
    assert "waking the webhook worker failed" in caplog.text
    assert len(stored_events(ctx)) == 1


class Exited(BaseException):
    """What `os._exit` raises here instead of ending the test run."""


def test_the_exit_fault_is_off_unless_armed_and_exits_after_the_nth_commit_that_queued_deliveries(
    outside_a_transaction: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Context] = []

    def follow(ctx: Context) -> None:
        calls.append(ctx)

    assert fault_injection.exit_after_commits(follow, {}) is follow  # unarmed: nothing wraps it

    def exit_(status: int) -> None:
        raise Exited(status)

    monkeypatch.setattr(fault_injection.os, "_exit", exit_)
    armed = fault_injection.exit_after_commits(follow, {fault_injection.ENV_EXIT_AFTER_COMMITS: "2"})
    quiet, queued = outside_a_transaction, outside_a_transaction.afresh()
    queued.deliveries_queued = True
    armed(quiet)  # a commit that queued nothing does not count
    armed(queued)
    armed(quiet)
    with pytest.raises(Exited) as caught:
        armed(queued)
    assert caught.value.args == (fault_injection.EXIT_STATUS,)
    assert calls == [quiet, queued, quiet]  # the second commit that queued deliveries was never followed up


@pytest.mark.parametrize("raw", ["0", "-1", "soon"])
def test_an_exit_fault_that_is_not_a_count_is_refused_at_start(raw: str) -> None:
    with pytest.raises(ValueError, match="must be a whole number of commits, 1 or more"):
        fault_injection.exit_after_commits(lambda _: None, {fault_injection.ENV_EXIT_AFTER_COMMITS: raw})


def test_an_event_type_the_sandbox_does_not_declare_is_a_bug_that_stores_nothing(
    outside_a_transaction: Context,
) -> None:
    ctx = outside_a_transaction
    ctx.emit("thing.happened", "thing", {"id": "x"})
    undeclared = r"'thing\.happened', which engine\.events\.EVENT_TYPES does not list"
    with pytest.raises(RuntimeError, match=undeclared), ctx.store.transaction():
        events.record(ctx)
    assert stored_events(ctx) == []
