"""Running the sandbox: in the foreground (the CLI), as one of several worker
processes (`app_from_env`), or in a background thread on a free loopback port
(tests, `make demo`); each way with the same uvicorn settings (`uvicorn_settings`).

Slow clients are dropped (`ServerTimeouts`, README "The sandbox refuses"): uvicorn closes an
idle keep-alive connection, but has no deadline for a request's headers or body, so a client
that opens connections and sends half a request line, or trickles a body a byte at a time,
would hold each connection open for ever. `DeadlineHTTP` sets both."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .app import SandboxConfig, create_app
from .body_limits import MAX_BODY_BYTES

__all__ = [
    "DeadlineHTTP",
    "NoDelayHTTP",
    "RunningSandbox",
    "ServerTimeouts",
    "app_from_env",
    "free_port",
    "start_in_thread",
    "uvicorn_settings",
]

ENV_DB = "PAYMENT_KIT_SANDBOX_DB"
ENV_WORKERS = "PAYMENT_KIT_SANDBOX_WORKERS"
ENV_API_KEY = "PAYMENT_KIT_SANDBOX_API_KEY"
ENV_MAX_BODY = "PAYMENT_KIT_SANDBOX_MAX_BODY"


def app_from_env() -> Starlette:
    """The app of one worker process (`uvicorn --factory payment_kit_sandbox.server:app_from_env`):
    its database, key and limits come from the environment the CLI sets for its workers."""
    api_key = os.environ.get(ENV_API_KEY)
    if not api_key:  # each worker would otherwise invent its own, and clients could never agree with all
        raise RuntimeError(f"{ENV_API_KEY} must be set for worker processes")
    config = SandboxConfig(
        db=os.environ.get(ENV_DB) or "sandbox.sqlite",
        api_key=api_key,
        max_body=int(os.environ.get(ENV_MAX_BODY) or MAX_BODY_BYTES),
        workers=int(os.environ.get(ENV_WORKERS) or "2"),
    )
    return create_app(config)


class NoDelayHTTP(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, with Nagle's algorithm off on every connection. With --workers,
    uvicorn binds the port itself on a socket whose protocol number is 0, so asyncio leaves
    TCP_NODELAY unset on the connections it accepts; an answer written in two parts then waits for
    the client's delayed ACK, 40 ms a request (2,000 requests/s fell to 180)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock: Any = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


@dataclass(frozen=True)
class ServerTimeouts:
    """Seconds a client has (the sandbox's own limits; README, "The sandbox refuses")."""

    headers: float = 10.0
    """For a request's line and headers, from the connection's opening or the request's first byte."""
    body: float = 30.0
    """For a request's body, from the end of its headers (a 1 MiB body at 35 KB/s)."""
    keep_alive: float = 5.0
    """Between requests on a keep-alive connection (uvicorn's `timeout_keep_alive`)."""


_TIMED_OUT = (
    "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n"
)


class DeadlineHTTP(NoDelayHTTP):
    """uvicorn's HTTP protocol with deadlines for a request's headers and body (`ServerTimeouts`).

    The clock for the headers starts when the connection opens, or at the first byte of a later
    request on it; the body's when the headers are in. Neither is extended by further bytes, so
    trickling does not keep a connection. When one runs out before the answer has begun, the
    client gets a 408 if it had sent part of a request, and the connection is closed; the app,
    waiting for the body, sees the client gone and stores nothing.

    Written against what uvicorn's h11 and httptools protocols share: `cycle` (the request being
    answered: `more_body`, `response_started`, `response_complete`), `loop`, `transport`,
    `on_response_complete`."""

    timeouts: ClassVar[ServerTimeouts] = ServerTimeouts()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._deadline: asyncio.TimerHandle | None = None
        self._awaiting = ""  # "headers" | "body" while a deadline runs
        self._partial = False  # bytes of the awaited headers have arrived
        self._timed_cycle: Any = None  # the request whose deadlines are set (uvicorn's cycle object)
        super().connection_made(transport)
        self._arm("headers")

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm("headers")  # the first byte of the connection's next request
        self._partial = self._partial or self._awaiting == "headers"
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()  # a pipelined request's head may have been read from the buffer

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _follow(self) -> None:
        cycle: Any = self.cycle
        if cycle is None:
            return
        if cycle is not self._timed_cycle:  # a new request's headers are in
            self._timed_cycle = cycle
            self._disarm()
            if cycle.more_body:
                self._arm("body")
        elif self._awaiting == "body" and not cycle.more_body:
            self._disarm()

    def _arm(self, awaiting: str) -> None:
        self._disarm()
        seconds = self.timeouts.headers if awaiting == "headers" else self.timeouts.body
        self._awaiting, self._partial = awaiting, False
        self._deadline = self.loop.call_later(seconds, self._expired, awaiting, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._awaiting = None, ""

    def _expired(self, awaiting: str, seconds: float) -> None:
        partial, self._deadline, self._awaiting = self._partial, None, ""
        if self.transport.is_closing():
            return
        # A 408 is owed to a request begun and not yet answered. While headers are awaited, `cycle` is
        # the previous request's (answered long ago); while a body is, the app may have answered early.
        owed = partial if awaiting == "headers" else not (self.cycle and self.cycle.response_started)
        if owed:
            body = (
                f'{{"error":"the request\'s {awaiting} took longer than the sandbox\'s limit of {seconds:g} s;'
                ' the connection is closed"}'
            ).encode()
            self.transport.write(_TIMED_OUT.format(len(body)).encode() + body)
        self.transport.close()


def uvicorn_settings(timeouts: ServerTimeouts | None = None) -> dict[str, Any]:
    """The uvicorn options every way of running the sandbox uses: `DeadlineHTTP` with `timeouts`.

    The default protocol is this module's own class, so that worker processes (which import it by
    name) get it too; other timeouts make a subclass, for a server in this process."""
    timeouts = timeouts or ServerTimeouts()
    protocol = DeadlineHTTP
    if timeouts != DeadlineHTTP.timeouts:

        class Tuned(DeadlineHTTP):
            pass

        Tuned.timeouts = timeouts
        protocol = Tuned
    return {"http": protocol, "timeout_keep_alive": timeouts.keep_alive}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningSandbox:
    base_url: str
    api_key: str
    server: uvicorn.Server
    thread: threading.Thread
    app: Starlette

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        # The store outlives ASGI lifespans (an in-memory database would be lost); it closes here.
        self.app.state.store.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_in_thread(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    timeouts: ServerTimeouts | None = None,
) -> RunningSandbox:
    """Start a sandbox on `host:port` (a free port by default) and wait until it answers."""
    config = config or SandboxConfig()
    port = port or free_port(host)
    app = create_app(config)
    settings = uvicorn_settings(timeouts)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", **settings))
    thread = threading.Thread(target=server.run, name=f"payment-kit-sandbox:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    running = RunningSandbox(f"http://{host}:{port}", config.api_key, server, thread, app)
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            running.stop()  # the store is open already: a sandbox that never started leaks nothing
            raise RuntimeError(f"the sandbox did not start on {host}:{port}")
        time.sleep(0.02)
    return running
