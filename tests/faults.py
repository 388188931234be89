"""A fault-injecting HTTP/1.1 server on loopback, for testing the SDK under faults.

It answers each request either by forwarding it to an upstream (a sandbox) or
with a canned answer, unless the test's `plan` names a fault for it:

  reset_before    the connection is reset (RST) before the request goes anywhere
  reset_after     the request is forwarded (so a write applies), then the connection is reset
  html_500/502/503  an HTML error page, without forwarding
  html_502_after  forwarded, then a proxy's HTML 502 in place of the answer
  rate_limited    429 with `Retry-After: 1`, without forwarding
  slow            forwarded, but the answer is held back for `slow_seconds` (beyond the client's timeout)
  cut_off         forwarded, then the answer's headers promise more body than is sent before closing
  truncated_json  a 200 whose (complete, as far as HTTP goes) JSON body is cut in half
  wrong_type      a 200 with an HTML body and `content-type: text/html`

and, for the transport's limits (`HOSTILE`, none of them forwarded):

  trickle_body    a 200's headers at once, then its body one byte every `trickle_seconds`
  trickle_head    the status line and headers themselves one byte every `trickle_seconds`
  endless         a chunked 200 of JSON-ish bytes, `stream_bytes` of them, as fast as the client reads
  endless_500     the same with status 500
  declared_huge   a 200 whose Content-Length says `stream_bytes`, then nothing (it waits)
  gzip_bomb       a gzip-encoded 200 that inflates to `stream_bytes` bytes
  bad_gzip        a 200 labelled `Content-Encoding: gzip` whose body is not gzip
  redirect_loop   a 302 back to the same path
  retry_after     503 with `Retry-After: <retry_after>` (whatever text the test sets)

`rate_limited` also sends `retry_after`, which is "1" unless the test changes it.

Every request is recorded (method, path, Idempotency-Key, body, the fault it got), and
the server counts the connections open at any moment, so tests can see what the client sent
and whether it left connections behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

TRANSIENT = (
    "reset_before",
    "reset_after",
    "html_500",
    "html_502",
    "html_503",
    "html_502_after",
    "rate_limited",
    "slow",
    "cut_off",
)
NOT_TRANSIENT = ("truncated_json", "wrong_type")
FAULTS = TRANSIENT + NOT_TRANSIENT
HOSTILE = (
    "trickle_body",
    "trickle_head",
    "endless",
    "endless_500",
    "declared_huge",
    "gzip_bomb",
    "bad_gzip",
    "redirect_loop",
    "retry_after",
)

HTML_PAGE = b"<html><head><title>%d Bad Gateway</title></head><body><h1>%d</h1><p>upstream trouble</p></body></html>"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    fault: str | None
    answered_after: float | None = None  # seconds from the request to its answer, when it was answered


@dataclass
class FaultServer:
    plan: Callable[[Seen], str | None] = lambda seen: None
    upstream: str | None = None
    canned: bytes = b'{"count":0,"list":[]}'
    slow_seconds: float = 1.0
    trickle_seconds: float = 2.0
    stream_bytes: int = 200 * 2**20
    retry_after: str = "1"
    tls: ssl.SSLContext | None = None  # serve https with this context
    seen: list[Seen] = field(default_factory=list)
    open_connections: int = 0
    connections_made: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fault-server", daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FaultServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def faults_of(self, predicate: Callable[[Seen], bool] = lambda s: True) -> list[str]:
        with self._lock:
            return [s.fault for s in self.seen if s.fault and predicate(s)]

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._upstream = httpx.AsyncClient(base_url=self.upstream, timeout=30) if self.upstream else None
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        # A connection the client opened and dropped just now may still wait in the listen backlog.
        # Accepted after the server is closed, its transport would leak (asyncio 3.11 asserts in
        # `Server._attach` halfway through making it), so let the loop take it first: a turn each to
        # accept it, make its transport, its protocol, and start its handler.
        for _ in range(4):
            await asyncio.sleep(0)
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        if self._upstream is not None:
            await self._upstream.aclose()

    # -- one connection ----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.open_connections += 1
            self.connections_made += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            if not writer.is_closing():
                writer.close()
            with self._lock:
                self.open_connections -= 1

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed an idle connection
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        seen = Seen(method, path, headers, body, None)
        received = time.monotonic()
        seen.fault = self.plan(seen)
        with self._lock:
            self.seen.append(seen)
        fault = seen.fault

        if fault == "reset_before":
            _reset(writer)
            return False
        if fault in ("html_500", "html_502", "html_503"):
            status = int(fault[-3:])
            await _answer(writer, status, "text/html", HTML_PAGE % (status, status))
            return True
        if fault == "rate_limited":
            await _answer(writer, 429, "application/json", b'{"error":"slow down"}', {"Retry-After": self.retry_after})
            return True
        if fault in HOSTILE:
            return await self._hostile(fault, seen, writer)

        status, content_type, payload = await self._forward(seen)
        if fault == "reset_after":
            _reset(writer)
            return False
        if fault == "html_502_after":
            await _answer(writer, 502, "text/html", HTML_PAGE % (502, 502))
            return True
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)  # the fault is the delay itself: an answer past the timeout
        if fault == "cut_off":
            writer.write(_head(status, content_type, len(payload)) + payload[: len(payload) // 2])
            await writer.drain()
            writer.close()
            return False
        if fault == "truncated_json":
            payload = payload[: len(payload) // 2]
        if fault == "wrong_type":
            status, content_type, payload = 200, "text/html; charset=utf-8", b"<html><body>Welcome!</body></html>"
        seen.answered_after = time.monotonic() - received
        await _answer(writer, status, content_type, payload)
        return True

    async def _hostile(self, fault: str, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        """The answers that test the client's own limits; whether the connection stays open."""
        if fault == "trickle_body":
            writer.write(_head(200, "application/json", len(self.canned)))
            await self._trickle(writer, self.canned)
        elif fault == "trickle_head":
            await self._trickle(writer, _head(200, "application/json", len(self.canned)) + self.canned)
        elif fault in ("endless", "endless_500"):
            writer.write(_head(200 if fault == "endless" else 500, "application/json", None))
            await _chunked(writer, self.stream_bytes)
        elif fault == "declared_huge":
            writer.write(_head(200, "application/json", self.stream_bytes))
            await writer.drain()
            await asyncio.sleep(3600)  # a client that trusted the length would wait here
        elif fault == "gzip_bomb":
            body = _gzip_bomb(self.stream_bytes)
            await _answer(writer, 200, "application/json", body, {"Content-Encoding": "gzip"})
        elif fault == "bad_gzip":
            await _answer(writer, 200, "application/json", b"not gzip at all", {"Content-Encoding": "gzip"})
        elif fault == "redirect_loop":
            await _answer(writer, 302, "text/plain", b"", {"Location": seen.path})
        elif fault == "retry_after":
            await _answer(writer, 503, "application/json", b'{"error":"busy"}', {"Retry-After": self.retry_after})
        return fault in ("bad_gzip", "redirect_loop", "retry_after")

    async def _trickle(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        for index in range(len(data)):
            writer.write(data[index : index + 1])
            await writer.drain()
            await asyncio.sleep(self.trickle_seconds)

    async def _forward(self, seen: Seen) -> tuple[int, str, bytes]:
        if self._upstream is None:
            return 200, "application/json", self.canned
        headers = {k: v for k, v in seen.headers.items() if k not in ("host", "connection", "content-length")}
        answer = await self._upstream.request(seen.method, seen.path, content=seen.body, headers=headers)
        return answer.status_code, answer.headers.get("content-type", "application/json"), answer.content


def _head(status: int, content_type: str, length: int | None, extra: dict[str, str] | None = None) -> bytes:
    """A status line and headers; no length means a chunked body."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Type: {content_type}"]
    lines.append("Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_JSONISH = b'{"id":"cus_0123456789","name":"x","metadata":{}},' * 1310  # about 64 KiB


async def _chunked(writer: asyncio.StreamWriter, total: int) -> None:
    """`total` bytes of JSON-ish text as one chunk after another, each sent when the client has
    taken the last (so that neither side holds more than a chunk or two)."""
    chunk = b"%x\r\n%s\r\n" % (len(_JSONISH), _JSONISH)
    for _ in range(total // len(_JSONISH)):
        writer.write(chunk)
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()


@functools.cache
def _gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(2**20)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


async def _answer(
    writer: asyncio.StreamWriter, status: int, content_type: str, payload: bytes, extra: dict[str, str] | None = None
) -> None:
    writer.write(_head(status, content_type, len(payload), extra) + payload)
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, as a crashed proxy or a dropped NAT entry would."""
    sock: Any = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # the client may have gone already
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
