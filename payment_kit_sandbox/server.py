"""Running the sandbox: in the foreground (the CLI), as one of several worker
processes (`app_from_env`), or in a background thread on a free loopback port
(tests, `make demo`)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .app import SandboxConfig, create_app
from .body_limits import MAX_BODY_BYTES

__all__ = ["NoDelayHTTP", "RunningSandbox", "app_from_env", "free_port", "start_in_thread"]

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


def start_in_thread(config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Start a sandbox on `host:port` (a free port by default) and wait until it answers."""
    config = config or SandboxConfig()
    port = port or free_port(host)
    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
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
