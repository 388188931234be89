"""Events after commit: each emitted event is stored once with its request's ids and the sandbox
clock's time, in its object's mode, and queued for exactly the endpoints that subscribe to it; a
failure there is logged and never undoes the committed request."""

from __future__ import annotations

import logging
from typing import Any

import pytest

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


def test_nothing_emitted_opens_no_transaction_and_wakes_no_one(
    outside_a_transaction: Context, woken: list[Any]
) -> None:
    ctx = outside_a_transaction
    ctx.store.close()  # would fail any transaction: there must be none
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
    ctx.emit("thing.happened", "thing", {"name": "no id"})
    events.after_commit(ctx)
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
    assert second["object_id"] == "" and second["type"] == "thing.happened"


def test_an_event_without_a_request_id_gets_a_generated_one(outside_a_transaction: Context, woken: list[Any]) -> None:
    ctx = outside_a_transaction
    ctx.emit("price.created", "price", {"id": "price_1"})
    events.after_commit(ctx)
    [event] = stored_events(ctx)
    assert event["request"]["id"].startswith("req_") and event["request"]["idempotency_key"] is None


def test_an_event_belongs_to_its_objects_mode(outside_a_transaction: Context, woken: list[Any]) -> None:
    ctx = outside_a_transaction
    ctx.emit("subscription.updated", "subscription", {"id": "sub_live", "livemode": True})
    events.after_commit(ctx)
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
    events.after_commit(ctx)
    [event] = stored_events(ctx)
    assert event["pending_webhooks"] == 2
    with ctx.store.transaction():
        queued = ctx.store.deliveries_of(event["id"])
    assert sorted(d["endpoint_id"] for d in queued) == sorted([every["id"], named["id"]])
    assert {(d["state"], d["attempts"], d["livemode"]) for d in queued} == {("pending", 0, False)}
    assert woken == [ctx.store]  # once per request, however many deliveries


def test_a_failure_after_commit_is_logged_not_raised(
    outside_a_transaction: Context, woken: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    ctx = outside_a_transaction
    ctx.emit("price.created", "price", {"id": "price_1"})
    ctx.store.close()
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox.events"):
        events.after_commit(ctx)
    assert "storing or delivering the events of a committed request failed" in caplog.text
    assert ctx.events == [] and woken == []
