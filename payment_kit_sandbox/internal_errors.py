"""A handler's unexpected exception (a sandbox bug, never bad input): answered as a 500 that
carries an error id, and logged with that id and the traceback, so a user can report it and
the log shows where. The request's transaction has already been rolled back by then, and the
server goes on serving, on the same connection."""

from __future__ import annotations

import logging
import secrets

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .database import StoreBusy

__all__ = ["AnswerUnexpected", "busy", "unexpected"]

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


class AnswerUnexpected:
    """ASGI middleware, the app-wide fallback for what a route's own handling did not catch: the
    500 (or a `StoreBusy` 503) is answered and the exception ends there.

    Starlette's own last resort (an `Exception` handler, run by `ServerErrorMiddleware`) answers and
    then re-raises, and uvicorn closes the connection on an exception from the app: a keep-alive
    client's next request on it would be reset. Only an exception after the answer has started
    still goes on to the server, since closing the connection is then the only way to say the
    answer is broken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_the_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_the_start)
        except Exception as exc:
            if started:
                raise
            answer = busy(exc) if isinstance(exc, StoreBusy) else unexpected(f"{scope['method']} {scope['path']}", exc)
            await answer(scope, receive, send)


def busy(exc: StoreBusy) -> JSONResponse:
    """A request that lost to concurrent ones too often (store.run): no bug, and nothing was
    written; the client may send it again."""
    return JSONResponse(
        {"error": f"the sandbox is busy: {exc}; nothing was changed, send the request again"},
        status_code=503,
        headers={"Retry-After": "1"},
    )
