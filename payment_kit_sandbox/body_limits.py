"""The sandbox's own limits on the bytes it accepts: body size, nesting, string and key lengths.

These are the sandbox's choices, not PaymentKit's published contract (the
OpenAPI document states only what PaymentKit documents): they keep every row
small enough to serve and every body cheap enough to check, and they are
generous enough that no realistic request meets them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "MAX_KEY_LENGTH", "MAX_SAFE_INTEGER", "MAX_STRING_LENGTH", "BodyLimit"]

MAX_BODY_BYTES = 1024 * 1024  # a request body; `--max-body` changes it
MAX_DEPTH = 32  # nesting of objects and arrays in a body
MAX_STRING_LENGTH = 20_000  # characters in any string of a body that the document gives no maxLength
MAX_KEY_LENGTH = 200  # characters in an object key (metadata keys included)
MAX_SAFE_INTEGER = 2**53 - 1  # an integer in a body: beyond it PaymentKit's JavaScript would round it

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: a body over `max_body` bytes is answered 413 before it is read whole.

    A declared Content-Length over the limit is refused before any of the body is read;
    a body without one (chunked) is read only up to the limit. What was read is then
    handed to the app, so the handlers see the body as usual."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._refuse(send, f"{declared} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._refuse(send, f"more than {self.max_body} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the client to go away

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: str) -> None:
        message = (
            f'{{"error":"the request body ({size}) is over the sandbox\'s limit of {self.max_body} bytes '
            f'(payment-kit sandbox --max-body changes it)"}}'
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(message)).encode()),
                    (b"connection", b"close"),  # the unread rest of the body makes the connection unusable
                ],
            }
        )
        await send({"type": "http.response.body", "body": message})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
