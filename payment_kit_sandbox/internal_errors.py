"""A handler's unexpected exception (a sandbox bug, never bad input): answered as a 500 that
carries an error id, and logged with that id and the traceback, so a user can report it and
the log shows where. The request's transaction has already been rolled back by then, and the
server goes on serving."""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse

from .database import StoreBusy

__all__ = ["busy", "unexpected", "unexpected_in_route"]

logger = logging.getLogger("payment_kit_sandbox")


def unexpected(where: str, exc: BaseException, *, show_detail: bool = False) -> JSONResponse:
    error_id = f"err_{secrets.token_hex(8)}"
    logger.error("sandbox error %s in %s", error_id, where, exc_info=exc)
    detail = f": {exc}" if show_detail else ""
    body = {
        "error": f"sandbox error in {where} (error id {error_id}; the sandbox's log has the traceback){detail}",
        "error_id": error_id,
    }
    return JSONResponse(body, status_code=500)


async def unexpected_in_route(request: Request, exc: Exception) -> JSONResponse:
    """The app-wide fallback, for what a route's own handling did not catch."""
    if isinstance(exc, StoreBusy):
        return busy(exc)
    return unexpected(f"{request.method} {request.url.path}", exc)


def busy(exc: StoreBusy) -> JSONResponse:
    """A request that lost to concurrent ones too often (store.run): no bug, and nothing was
    written; the client may send it again."""
    return JSONResponse(
        {"error": f"the sandbox is busy: {exc}; nothing was changed, send the request again"},
        status_code=503,
        headers={"Retry-After": "1"},
    )
