"""A loopback HTTP/1.1 server that answers every request with whatever reply the test sets:
any status, content type and body, the body sent whole or trickled a few bytes at a time.

With it, a test plays a real deployment that does not agree with the document (a field
missing, a newer enum value, 201 where the document says 200), a proxy's HTML page, a server
that hangs mid-body or one that sends far more than any page. Unlike respx, the bytes go
through httpx's real network stack, so timeouts and streaming are the real ones.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    trickle_every: float | None = None  # seconds between single bytes: a body that never quite ends
    declared_length: int | None = None  # a Content-Length other than len(body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        reply = self.server.owner.reply
        self.server.owner.requests += 1
        self.send_response(reply.status)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
            declared = reply.declared_length if reply.declared_length is not None else len(reply.body)
            self.send_header("Content-Length", str(declared))
        self.end_headers()
        if reply.trickle_every is None:
            self.wfile.write(reply.body)
            return
        self.wfile.flush()
        for i in range(len(reply.body)):
            if self.server.owner.stopping.wait(reply.trickle_every):
                return
            self.wfile.write(reply.body[i : i + 1])
            self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet, like a server in a test should be
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every body back 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError, TimeoutError):  # a client that gave up, as it should
            super().handle()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ImperfectServer


class ImperfectServer:
    """`with ImperfectServer() as server:` then `server.reply = Reply(...)` before each call."""

    def __init__(self) -> None:
        self.reply = Reply()
        self.requests = 0
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="imperfect-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ImperfectServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # trickling handlers stop at their next byte
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
