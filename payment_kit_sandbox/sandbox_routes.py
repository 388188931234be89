"""Sandbox-only routes, under `/sandbox/` (outside PaymentKit's `/api/`):
what a real deployment does through a wallet, a chain or time passing
(completing a checkout, advancing the clock, processing meter events).
They take the same bearer key, `livemode` in the query or body like the
PaymentKit routes, and are described in openapi/sandbox.yaml.

Resource modules mark theirs with `@sandbox_route("POST", "/sandbox/...")`;
`app.wire` collects them and `routes` serves them. The clock's own route is
here, since the clock belongs to no resource.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import strict_json
from .auth import authorize
from .context import TEST_CLOCK, TEST_CLOCK_HEADER, Context, Handler, Wiring, sandbox_route
from .database import Store
from .engine import clock, events, webhooks
from .refusals import ApiError, bad_request, not_found

__all__ = ["MAX_CLOCK_OFFSET", "OWN_ROUTES", "routes"]

MAX_CLOCK_OFFSET = clock.AHEAD
RouteTable = dict[tuple[str, str], Handler]


def routes(
    table: RouteTable, store: Store, api_key: str, wiring: Wiring, after_commit: Callable[[Context], None]
) -> list[Route]:
    """Starlette routes for the sandbox-only handlers in `table` (`(method, path) -> handler`)."""

    def endpoint_for(fn: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                authorize(request, api_key)
                raw = await request.body()
                body = strict_json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise bad_request("the request body must be a JSON object")
                livemode = request.query_params.get("livemode", str(body.get("livemode", "true")).lower())
                if livemode not in ("true", "false"):
                    raise bad_request(f"livemode must be true or false, not {livemode!r}")
                base = Context(
                    op=None,
                    store=store,
                    livemode=livemode == "true",
                    wiring=wiring,
                    path=dict(request.path_params),
                    query=dict(request.query_params),
                    body=body,
                    base_url=str(request.base_url).rstrip("/"),
                    headers={k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"},
                )
                ctx = base

                def answer_once() -> Any:
                    nonlocal ctx
                    ctx = base.afresh()
                    answer = fn(ctx)
                    events.record(ctx)
                    return answer

                answer = await run_in_threadpool(store.run, answer_once)  # the event loop serves others meanwhile
                after_commit(ctx)
                return JSONResponse(answer)
            except ApiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)

        return endpoint

    return [Route(path, endpoint_for(fn), methods=[method]) for (method, path), fn in sorted(table.items())]


@sandbox_route("GET", "/sandbox/health")
def health(ctx: Context) -> dict[str, Any]:
    """Liveness, and how many objects the sandbox holds."""
    return {"ok": True, "objects": ctx.store.count(), "now": ctx.now()}


@sandbox_route("POST", "/sandbox/clock/advance")
def advance_clock(ctx: Context) -> dict[str, Any]:
    """Move the sandbox clock forward by `seconds` (renewals, expiries and trials then fall due) for
    every object on no test clock."""
    if TEST_CLOCK_HEADER in ctx.headers:
        raise bad_request(
            f"{TEST_CLOCK_HEADER}: the sandbox clock moves the objects of no test clock; advance a test clock "
            "with POST /sandbox/test-clocks/{id}/advance"
        )
    seconds = ctx.body.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        raise bad_request("seconds: a positive whole number of seconds is required")
    offset = ctx.clock_offset() + seconds
    if offset > MAX_CLOCK_OFFSET:
        raise bad_request(f"seconds: the sandbox clock can move at most {MAX_CLOCK_OFFSET} seconds (100 years) ahead")
    ctx.set_clock_offset(offset)
    ctx.use_test_clock(None)
    return {"now": ctx.now(), "offset": offset, **clock.advance(ctx)}


@sandbox_route("POST", "/sandbox/test-clocks")
def create_test_clock(ctx: Context) -> dict[str, Any]:
    """A test clock at `frozen_time` (default: now), optionally `name`d."""
    return clock.create_test_clock(ctx)


@sandbox_route("GET", "/sandbox/test-clocks")
def list_test_clocks(ctx: Context) -> dict[str, Any]:
    """The test clocks, newest first, a page at a time (`limit`, `starting_after`)."""
    return _page(ctx, [clock.shown(c) for c in reversed(ctx.store.all(TEST_CLOCK, False))], "a test clock")


@sandbox_route("GET", "/sandbox/test-clocks/{id}")
def retrieve_test_clock(ctx: Context) -> dict[str, Any]:
    return clock.test_clock(ctx, ctx.path["id"])


@sandbox_route("DELETE", "/sandbox/test-clocks/{id}")
def delete_test_clock(ctx: Context) -> dict[str, Any]:
    """Delete a test clock: its objects stay, frozen at its time for good (no clock moves them again)."""
    return clock.delete_test_clock(ctx, ctx.path["id"])


@sandbox_route("POST", "/sandbox/test-clocks/{id}/advance")
def advance_test_clock(ctx: Context) -> dict[str, Any]:
    """Move one test clock forward (`days`, `seconds` or `to`): what falls due for its objects happens."""
    return clock.advance_test_clock(ctx, ctx.path["id"])


SHOWN = 100  # the most events or clocks one listing answers


@sandbox_route("GET", "/sandbox/events")
def list_events(ctx: Context) -> dict[str, Any]:
    """The events of a mode, newest first, optionally of one `type` (as delivered to receivers), a page
    at a time (`limit`, and `starting_after` the last event of the page before)."""
    wanted = ctx.param("type")
    events = list(reversed(ctx.store.find(webhooks.EVENT, ctx.livemode, **({"type": wanted} if wanted else {}))))
    return _page(ctx, events, f"an event of this mode{' and type' if wanted else ''}")


def _page(ctx: Context, rows: list[dict[str, Any]], what: str) -> dict[str, Any]:
    """`{count, list, has_more}`: the page of `rows` the query's `limit` and `starting_after` ask for."""
    limit = ctx.param("limit", str(SHOWN))
    # ASCII digits only: str.isdigit() is also true of "²" and "١", which int() then refuses or reads.
    if not re.fullmatch("[0-9]{1,3}", str(limit)) or not 1 <= int(limit) <= SHOWN:
        raise bad_request(f"limit: a whole number from 1 to {SHOWN} is required, not {limit!r}")
    start = 0
    after = ctx.param("starting_after")
    if after is not None:
        # A cursor, as PaymentKit's own lists take it: the page after this row, in this order.
        ids = [row["id"] for row in rows]
        if after not in ids:
            raise bad_request(f"starting_after: {after!r} is not {what}")
        start = ids.index(after) + 1
    shown = rows[start : start + int(limit)]
    return {"count": len(rows), "list": shown, "has_more": start + len(shown) < len(rows)}


@sandbox_route("GET", "/sandbox/events/{id}")
def retrieve_event(ctx: Context) -> dict[str, Any]:
    """One event by id, as delivered."""
    event = ctx.store.get(webhooks.EVENT, ctx.path["id"], ctx.livemode)
    if event is None:
        raise not_found("Event", ctx.path["id"])
    return event


@sandbox_route("POST", "/sandbox/events/{id}/resend")
def resend_event(ctx: Context) -> dict[str, Any]:
    """Queue an event again for the endpoints subscribed to its type now (or the one named)."""
    event = retrieve_event(ctx)
    named = ctx.body.get("webhook_endpoint_id")
    if named is not None and not isinstance(named, str):
        raise bad_request("webhook_endpoint_id: a webhook endpoint id (we_...) is required")
    endpoints = webhooks.subscribed(ctx.store, ctx.livemode, event["type"])
    if named is not None:
        endpoints = [e for e in endpoints if e["id"] == named]
        if not endpoints:
            raise bad_request(f"webhook_endpoint_id: {named} is not an enabled endpoint subscribed to {event['type']}")
    webhooks.deliver(ctx.store, event, endpoints)
    event["pending_webhooks"] = int(event.get("pending_webhooks") or 0) + len(endpoints)
    ctx.store.save(webhooks.EVENT, event)
    ctx.deliveries_queued = True
    return {"event": event["id"], "webhook_endpoints": [e["id"] for e in endpoints]}


OWN_ROUTES = (
    health,
    advance_clock,
    create_test_clock,
    list_test_clocks,
    retrieve_test_clock,
    delete_test_clock,
    advance_test_clock,
    list_events,
    retrieve_event,
    resend_event,
)
"""The sandbox-only routes that belong to no resource."""
