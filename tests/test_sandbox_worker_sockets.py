"""`payment-kit sandbox --workers N` serves through sockets uvicorn binds itself (protocol number 0),
on which asyncio leaves Nagle's algorithm on: each answer then waited ~40 ms for the client's
delayed ACK. The sandbox's HTTP protocol turns it off on every connection. Checked on the
socket options themselves, over the same path uvicorn's worker processes take."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from waiting import wait_until

from payment_kit_sandbox.server import NoDelayHTTP


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def served_like_a_worker(http: Any) -> Iterator[tuple[uvicorn.Server, str]]:
    """A uvicorn server on a socket from `Config.bind_socket()`, the one `--workers` hands its workers."""
    config = uvicorn.Config(hello, host="127.0.0.1", port=0, http=http, log_level="warning", lifespan="off")
    sock = config.bind_socket()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, message="uvicorn to start")
        yield server, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def nodelay_of_open_connections(http: Any) -> list[int]:
    with served_like_a_worker(http) as (server, base_url), httpx.Client(base_url=base_url) as client:
        assert client.get("/").text == "ok"  # keep-alive: the connection stays open to inspect
        connections = list(server.server_state.connections)
        assert connections, "no open connection to inspect"
        return [
            c.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in connections
        ]


def test_the_sandboxs_protocol_turns_nagle_off() -> None:
    # With uvicorn's own protocol ("auto") the same check reads [0] (uvicorn 0.54).
    assert nodelay_of_open_connections(NoDelayHTTP) == [1]
