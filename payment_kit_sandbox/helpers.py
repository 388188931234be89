"""Sandbox-only routes, under `/sandbox/` (outside PaymentKit's `/api/`):
what a real deployment does through a wallet, a chain or time passing
(completing a checkout, advancing the clock, processing meter events).
They take the same bearer key, `livemode` in the query or body like the
PaymentKit routes, and are described in openapi/sandbox.yaml.

Resource modules register them with `@helper("POST", "/sandbox/...")`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import strict_json
from .context import Context
from .errors import ApiError, bad_request
from .store import Store

__all__ = ["HELPERS", "helper", "helper_routes"]

HelperFn = Callable[[Context], Any]
MAX_CLOCK_OFFSET = 100 * 366 * 86400
HELPERS: dict[tuple[str, str], HelperFn] = {}


def helper(method: str, path: str) -> Callable[[HelperFn], HelperFn]:
    def register(fn: HelperFn) -> HelperFn:
        if (method, path) in HELPERS:
            raise RuntimeError(f"two sandbox helpers for {method} {path}")
        HELPERS[(method, path)] = fn
        return fn

    return register


def helper_routes(store: Store, api_key: str, after_commit: Callable[[Context], None]) -> list[Route]:
    from .app import authorize  # the same bearer key as the PaymentKit routes

    def endpoint_for(fn: HelperFn) -> Callable[[Request], Any]:
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
                ctx = Context(
                    op=None,
                    store=store,
                    livemode=livemode == "true",
                    path=dict(request.path_params),
                    query=dict(request.query_params),
                    body=body,
                    base_url=str(request.base_url).rstrip("/"),
                )
                with store.transaction():
                    answer = fn(ctx)
                after_commit(ctx)
                return JSONResponse(answer)
            except ApiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)

        return endpoint

    return [Route(path, endpoint_for(fn), methods=[method]) for (method, path), fn in sorted(HELPERS.items())]


@helper("GET", "/sandbox/health")
def health(ctx: Context) -> dict[str, Any]:
    """Liveness, and how many objects the sandbox holds."""
    return {"ok": True, "objects": ctx.store.count(), "now": ctx.now()}


@helper("POST", "/sandbox/clock/advance")
def advance_clock(ctx: Context) -> dict[str, Any]:
    """Move the sandbox clock forward by `seconds` (renewals, expiries and trials then fall due)."""
    seconds = ctx.body.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        raise bad_request("seconds: a positive whole number of seconds is required")
    offset = int(ctx.store.get_meta("clock_offset") or 0) + seconds
    if offset > MAX_CLOCK_OFFSET:
        raise bad_request(f"seconds: the sandbox clock can move at most {MAX_CLOCK_OFFSET} seconds (100 years) ahead")
    ctx.store.set_meta("clock_offset", str(offset))
    from .engine.clock import on_advance

    return {"now": ctx.now(), "offset": offset, **on_advance(ctx)}
