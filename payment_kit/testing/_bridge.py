"""Requests made inside the process: httpx transports that call an ASGI or WSGI app instead of
the network, from sync and from async code.

httpx has `ASGITransport` (async callers) and `WSGITransport` (sync callers); a test also needs
the two other pairings: a sync client calling the sandbox's ASGI app, and an asyncio task
delivering a webhook into a WSGI app. `run_coroutine` runs the ASGI side to completion from sync
code: on a fresh event loop in this thread, or, when a loop is already running in this thread (an
async test, or an async handler of the application calling the sync client), on a fresh loop in a
helper thread that this thread waits for. So a call never waits for the loop it is blocking, and
no loop or thread outlives the call.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

__all__ = [
    "AppErrors",
    "AsyncASGITransport",
    "AsyncAppTransport",
    "SyncASGITransport",
    "app_interface",
    "run_coroutine",
]

logger = logging.getLogger("payment_kit.testing")

T = TypeVar("T")
ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def run_coroutine(make: Callable[[], Awaitable[T]]) -> T:
    """`await make()`, from sync code, wherever that code runs (see the module's docstring)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:  # outside the `except`, which would chain itself to every error of the call
        return _run(make)
    context = contextvars.copy_context()  # the helper thread sees this call's context variables
    with ThreadPoolExecutor(1, thread_name_prefix="payment-kit-testing") as helper:
        return helper.submit(context.run, _run, make).result()


def _run(make: Callable[[], Awaitable[T]]) -> T:
    # A loop of its own that is never made the thread's current loop (asyncio.run would, and would
    # then leave the thread with none): code of the test's that reads the current loop is untouched.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        return runner.run(_awaited(make))


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def _raw_body(response: httpx.Response) -> bytes:
    assert isinstance(response.stream, httpx.SyncByteStream)
    return b"".join(response.stream)


async def _raw_body_async(response: httpx.Response) -> bytes:
    return b"".join([chunk async for chunk in response.aiter_raw()])


class SyncASGITransport(httpx.BaseTransport):
    """A sync httpx transport into an ASGI app; `after()` runs once each answer is in."""

    def __init__(self, app: ASGIApp, after: Callable[[], None] = lambda: None) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._after = after
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.closed:
            raise httpx.ConnectError(f"the in-process sandbox at {request.url.host} is closed", request=request)
        request.read()  # its stream then serves an async reader too

        async def answer() -> tuple[int, httpx.Headers, bytes]:
            response = await self._asgi.handle_async_request(request)
            return response.status_code, response.headers, await _raw_body_async(response)

        status, headers, body = run_coroutine(answer)
        self._after()
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body), request=request)

    def close(self) -> None:
        """Nothing: a client closing leaves the sandbox, which owns this transport, running."""


class AsyncASGITransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport, with `after()` awaited once each answer is in."""

    def __init__(self, app: ASGIApp, after: Callable[[], Awaitable[None]]) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._after = after
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.closed:
            raise httpx.ConnectError(f"the in-process sandbox at {request.url.host} is closed", request=request)
        response = await self._asgi.handle_async_request(request)
        body = await _raw_body_async(response)
        await self._after()
        return httpx.Response(
            response.status_code, headers=response.headers, stream=httpx.ByteStream(body), request=request
        )

    async def aclose(self) -> None:
        """Nothing: the sandbox owns this transport."""


# -- the application under test: deliveries go in through these ------------------------------------


class AppErrors:
    """The exceptions an application's handler raised while answering one delivery: the context of
    each delivery request holds a fresh list (`AsyncAppTransport`), which the guards fill."""

    current: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("payment_kit_app_errors", default=None)

    @classmethod
    def record(cls, exc: BaseException) -> None:
        logger.error("the application's webhook handler raised %s", type(exc).__name__, exc_info=exc)
        sink = cls.current.get()
        if sink is not None:
            sink.append("".join(traceback.format_exception_only(exc)).strip())


def _guard_asgi(app: ASGIApp) -> ASGIApp:
    """The app, answering 500 (as a server would) when a handler raises, and recording why."""

    async def guarded(
        scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message.get("type") == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, tracked)
        except Exception as exc:
            AppErrors.record(exc)
            if not started:  # Starlette's error middleware has usually sent its 500 already
                headers = [(b"content-type", b"text/plain")]
                await send({"type": "http.response.start", "status": 500, "headers": headers})
                await send({"type": "http.response.body", "body": b"Internal Server Error"})

    return guarded


def _guard_wsgi(app: WSGIApp) -> WSGIApp:
    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]  # read here, so that an error while reading is caught here too
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            AppErrors.record(exc)
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"Internal Server Error"]

    return guarded


class _WSGIInline(httpx.AsyncBaseTransport):
    """A WSGI app called from an asyncio task, in the task's own thread and context: the
    application's handler runs exactly as a sync call of its own would (a WSGI server's thread)."""

    def __init__(self, app: WSGIApp) -> None:
        self._wsgi = httpx.WSGITransport(app=app, wsgi_errors=sys.stderr)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = self._wsgi.handle_request(request)
        body = httpx.ByteStream(_raw_body(response))  # unread: the caller streams it
        return httpx.Response(response.status_code, headers=response.headers, stream=body)


def app_interface(app: Any) -> str:
    """ "asgi" or "wsgi", from how the app is called: `async (scope, receive, send)` or
    `(environ, start_response)`. A TypeError names what was given when it is neither."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    if call is None:
        raise TypeError(f"{app!r} is not an ASGI or WSGI application (it cannot be called)")
    if inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        parameters = [
            p
            for p in inspect.signature(call).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    if len(parameters) == 3:
        return "asgi"
    if len(parameters) == 2:
        return "wsgi"
    raise TypeError(
        f"cannot tell whether {app!r} is an ASGI app (async (scope, receive, send)) or a WSGI app "
        "((environ, start_response)): pass interface='asgi' or interface='wsgi'"
    )


class AsyncAppTransport(httpx.AsyncBaseTransport):
    """Where the sandbox's deliveries go: each forwarded app under a host of its own
    (`app-1.localhost`, …), and nowhere else (a URL of no forwarded app fails to connect)."""

    def __init__(self) -> None:
        self._apps: dict[str, httpx.AsyncBaseTransport] = {}
        self._lock = threading.Lock()
        self.errors: dict[tuple[str, str], list[str]] = {}
        """(webhook-id, URL) -> what the application raised answering that delivery."""

    def add(self, host: str, app: Any, interface: str) -> None:
        if interface == "asgi":
            transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=_guard_asgi(app))
        elif interface == "wsgi":
            transport = _WSGIInline(_guard_wsgi(app))
        else:
            raise ValueError(f"interface must be 'asgi' or 'wsgi', not {interface!r}")
        with self._lock:
            self._apps[host] = transport

    def clear(self) -> None:
        with self._lock:
            self._apps.clear()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        found = self._apps.get(request.url.host)
        if found is None:
            raise httpx.ConnectError(
                f"no application is forwarded at {request.url.scheme}://{request.url.netloc.decode()}: the in-process "
                "sandbox delivers only to apps given to sandbox.forward_webhooks(app)",
                request=request,
            )
        raised: list[str] = []
        token = AppErrors.current.set(raised)
        try:
            return await found.handle_async_request(request)
        finally:
            AppErrors.current.reset(token)
            if raised:
                self.errors[(request.headers.get("webhook-id", ""), str(request.url))] = raised
