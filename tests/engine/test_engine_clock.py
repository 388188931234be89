"""The sandbox clock: moving it moves `now`, and an advance runs the wired steps over what fell due."""

from __future__ import annotations

import dataclasses
from typing import Any

from payment_kit_sandbox.context import Context, stored_clock_offset
from payment_kit_sandbox.engine import checkout, clock, subscriptions

from .conftest import make_price, recurring_price, subscribe

DAY = 86400


def test_setting_the_offset_moves_now_and_is_stored_for_other_requests(ctx: Context) -> None:
    before = ctx.now()
    ctx.set_clock_offset(10 * DAY)
    assert ctx.now() - before == 10 * DAY
    assert stored_clock_offset(ctx.store) == 10 * DAY
    fresh = Context(op=None, store=ctx.store, livemode=False, wiring=ctx.wiring)
    assert fresh.clock_offset() == 10 * DAY


def test_an_advance_with_no_steps_changes_nothing(ctx: Context) -> None:
    idle = dataclasses.replace(ctx, wiring=dataclasses.replace(ctx.wiring, clock_steps=()))
    assert clock.advance(idle) == {}


def test_an_advance_merges_the_summaries_of_what_fell_due(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="day"))
    session = checkout.open_session(
        ctx,
        {"mode": "payment", "line_items": [{"price_id": make_price(ctx, unit_amount="1")["id"], "quantity": 1}]},
    )
    ctx.set_clock_offset(DAY + 60)
    summary = clock.advance(ctx)
    assert (summary["subscriptions_renewed"], summary["checkout_sessions_expired"]) == (1, 1)
    assert ctx.store.get("checkout_session", session["id"], False)["status"] == "expired"
    renewed = ctx.store.get("subscription", sub["id"], False)
    assert renewed["current_period_start"] == sub["current_period_end"]
    assert renewed["status"] in subscriptions.GOOD_STANDING
    # Nothing more is due at the same instant: a second advance is a no-op.
    assert set(clock.advance(ctx).values()) == {0}
