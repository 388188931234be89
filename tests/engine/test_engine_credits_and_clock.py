"""Credit spending order and the clock's steps."""

from __future__ import annotations

import dataclasses
from typing import Any

from payment_kit_sandbox.app import CLOCK_STEPS
from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import checkout, clock, credit_packs, credits, subscriptions
from payment_kit_sandbox.engine.catalog import new_currency


def _credit(ctx: Context) -> dict[str, Any]:
    method = ctx.store.all("payment_method", False)[0]
    return new_currency(ctx, payment_method_id=method["id"], name="c", symbol="CR", decimal=2, type="credit")


def test_credit_is_spent_by_priority_then_soonest_expiry_then_age(ctx: Context, buyer: dict[str, Any]) -> None:
    currency = _credit(ctx)
    now = ctx.now()

    def grant(amount: int, **extra: Any) -> dict[str, Any]:
        return credits.grant(ctx, customer=buyer, currency=currency, amount=amount, category="paid", **extra)

    old = grant(100)
    late = grant(100, expires_at=now + 7200)
    soon = grant(100, expires_at=now + 3600)
    urgent = grant(50, priority=90)
    assert [g["id"] for g in credits.usable_grants(ctx, buyer["id"], currency["id"])] == [
        urgent["id"],
        soon["id"],
        late["id"],
        old["id"],
    ]
    meter = ctx.stamp({"event_name": "calls", "unit": "call", "name": "calls"}, "mtr")
    ctx.store.insert("meter", meter)
    event = ctx.stamp(
        {
            "event_name": "calls",
            "payload": {"customer_id": buyer["id"], "value": "2.2"},
            "status": "pending",
            "credit_consumed": "0",
            "attempt_count": 0,
        },
        "mevt",
    )
    credits.record_event(ctx, event, meter, currency)  # 2.2 credits at 2 decimals: 220 units
    left = {
        g["id"]: ctx.store.get("credit_grant", g["id"], False)["remaining_amount"] for g in (urgent, soon, late, old)
    }
    assert left == {urgent["id"]: "0", soon["id"]: "0", late["id"]: "30", old["id"]: "100"}
    assert credits.balance(ctx, buyer["id"], currency["id"]) == 130
    stored = ctx.store.get("meter_event", event["id"], False)
    assert (stored["status"], stored["credit_consumed"], stored["credit_pending"]) == ("completed", "220", "0")


def test_the_clock_runs_the_wired_steps_in_their_written_order(ctx: Context) -> None:
    assert (
        subscriptions.advance_subscriptions,
        checkout.expire_due,
        credit_packs.advance_schedules,
        credits.advance_grants,
    ) == CLOCK_STEPS
    assert ctx.wiring.clock_steps == CLOCK_STEPS
    ran: list[str] = []

    def step(name: str) -> Any:
        return lambda _: ran.append(name) or {f"{name}_ran": True}

    ordered = dataclasses.replace(ctx, wiring=dataclasses.replace(ctx.wiring, clock_steps=(step("b"), step("a"))))
    assert clock.advance(ordered) == {"b_ran": True, "a_ran": True}
    assert ran == ["b", "a"]
    assert clock.advance(ctx) == {
        "subscriptions_renewed": 0,
        "trials_ended": 0,
        "subscriptions_canceled": 0,
        "subscriptions_resumed": 0,
        "checkout_sessions_expired": 0,
        "scheduled_credit_grants": 0,
        "credit_grants_expired": 0,
        "credit_grants_activated": 0,
    }


def test_an_advance_past_a_grants_expiry_expires_it(ctx: Context, buyer: dict[str, Any]) -> None:
    currency = _credit(ctx)
    grant = credits.grant(
        ctx, customer=buyer, currency=currency, amount=500, category="promotional", expires_at=ctx.now() + 60
    )
    ctx.set_clock_offset(120)
    assert clock.advance(ctx)["credit_grants_expired"] == 1
    assert ctx.store.get("credit_grant", grant["id"], False)["status"] == "expired"
    assert credits.balance(ctx, buyer["id"], currency["id"]) == 0
