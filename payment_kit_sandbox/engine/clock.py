"""What happens when a clock moves: the time-driven steps that `app.wire` lists
(subscription renewals, expiring checkout sessions, credit grants), run in that
order after every advance.

Two kinds of clock move objects, and each object moves with exactly one:

- the sandbox clock (`POST /sandbox/clock/advance`): real time plus an offset, for
  every object on no test clock: a single developer's sandbox;
- a test clock (`/sandbox/test-clocks`, as Stripe's): its own `frozen_time`, standing
  still until advanced, for the objects made on it (a customer made by a request
  carrying `X-Sandbox-Test-Clock`, and everything made for that customer after), so one
  team member's advance moves nobody else's objects (see `Context.test_clock`).
"""

from __future__ import annotations

import time
from typing import Any

from ..context import TEST_CLOCK, TEST_CLOCKS_MADE, Context, new_id
from ..refusals import bad_request, not_found

__all__ = ["advance", "advance_test_clock", "create_test_clock", "delete_test_clock", "shown", "test_clock"]

DAY = 86400
EARLIEST = 946684800  # 2000-01-01: a sandbox choice, so a typo (milliseconds, a year) is caught
AHEAD = 100 * 366 * DAY  # the furthest a clock may stand ahead of real time (the sandbox clock's bound too)
NAME_LENGTH = 200


def advance(ctx: Context) -> dict[str, Any]:
    """Run every clock step of the sandbox's wiring, in order, for the objects of the request's clock
    (`ctx.use_test_clock`); answers their summaries merged."""
    summary: dict[str, Any] = {}
    for step in ctx.wiring.clock_steps:
        summary.update(step(ctx))
    return summary


def create_test_clock(ctx: Context) -> dict[str, Any]:
    unknown = sorted(set(ctx.body) - {"frozen_time", "name", "livemode"})
    if unknown:
        raise bad_request(f"{unknown[0]}: a test clock takes frozen_time and name only")
    real = int(time.time())
    frozen = ctx.body.get("frozen_time", real)
    _check_time("frozen_time", frozen, real)
    name = ctx.body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > NAME_LENGTH):
        raise bad_request(f"name: text of at most {NAME_LENGTH} characters is required")
    clock = {
        "id": new_id("clock"),
        "object": "test_clock",
        "frozen_time": frozen,
        "name": name,
        "status": "ready",
        "created": real,
        "livemode": False,  # one clock serves both modes, as the sandbox clock does
    }
    ctx.store.insert(TEST_CLOCK, clock)
    # Counted, never decremented: once a clock was made, requests look up the clocks of what they name.
    ctx.store.set_meta(TEST_CLOCKS_MADE, str(ctx.clocks_made() + 1))
    return shown(clock)


def test_clock(ctx: Context, clock_id: str) -> dict[str, Any]:
    return shown(_stored(ctx, clock_id))


def delete_test_clock(ctx: Context, clock_id: str) -> dict[str, Any]:
    _stored(ctx, clock_id)
    ctx.store.delete(TEST_CLOCK, clock_id)
    return {"id": clock_id, "object": "test_clock", "deleted": True}


def advance_test_clock(ctx: Context, clock_id: str) -> dict[str, Any]:
    """Move the clock to its new time, then run the clock steps for its objects alone, all in the
    request's one transaction (a concurrent advance of the same clock conflicts and is retried)."""
    clock = _stored(ctx, clock_id)
    given = sorted(set(ctx.body) & {"days", "seconds", "to"})
    unknown = sorted(set(ctx.body) - {"days", "seconds", "to", "livemode"})
    if len(given) != 1 or unknown:
        raise bad_request("a test clock advances by exactly one of days, seconds or to (unix seconds)")
    [how] = given
    value = ctx.body[how]
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"{how}: a whole number is required, not {value!r}")
    start = int(clock["frozen_time"])
    target = value if how == "to" else start + value * (DAY if how == "days" else 1)
    if target <= start:
        raise bad_request(f"{how}: a test clock only moves forward (it stands at {start}; {target} is not later)")
    _check_time(how, target, int(time.time()))
    clock["frozen_time"] = target
    ctx.store.save(TEST_CLOCK, clock)
    ctx.use_test_clock(clock)
    return {**shown(clock), "previous_frozen_time": start, "summary": advance(ctx)}


def _check_time(what: str, value: Any, real: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"{what}: unix seconds (a whole number) are required, not {value!r}")
    if not EARLIEST <= value <= real + AHEAD:
        raise bad_request(
            f"{what}: {value} is outside what a sandbox clock can show ({EARLIEST}, 2000-01-01, to 100 years ahead)"
        )


def _stored(ctx: Context, clock_id: str) -> dict[str, Any]:
    clock = ctx.store.get(TEST_CLOCK, clock_id, False)
    if clock is None:
        raise not_found("Test clock", clock_id)
    return clock


def shown(clock: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in clock.items() if key != "livemode"}
