"""A minimal, fast HTTP/1.1 loopback server with canned JSON answers.

It runs in its own process (`start_stub`) so that the client side of a
benchmark has its own core: what is measured is the client, not the server.
Keep-alive, Content-Length bodies only, no chunking: exactly what httpx and
stripe-python send.

Routes come from a JSON file written by the parent:
  {"routes": [[method, path_prefix, body_file], ...],
   "pages": [[path, item_file, total], ...]}
A `pages` route answers PaymentKit's `{count, list}` for `?page=&pageSize=`,
each row with its own id. `GET /__stats` answers how many requests each route
served; `POST /__reset` zeroes the counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

ID_MARK = b"__ROW_ID__"


def _response(body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Routes:
    def __init__(self, config: dict[str, Any]) -> None:
        self.fixed = [(m.upper(), p, Path(f).read_bytes()) for m, p, f in config.get("routes", [])]
        self.pages = {path: (Path(f).read_bytes(), int(total)) for path, f, total in config.get("pages", [])}
        self.counts: Counter[str] = Counter()

    def answer(self, method: str, target: str) -> bytes:
        path, _, query = target.partition("?")
        if path == "/__stats":
            return _response(json.dumps(self.counts).encode())
        if path == "/__reset":
            self.counts.clear()
            return _response(b"{}")
        if method == "GET" and path in self.pages:
            self.counts[path] += 1
            return _response(self._page(path, parse_qs(query)))
        for route_method, prefix, body in self.fixed:
            if method == route_method and path.startswith(prefix):
                self.counts[prefix] += 1
                return _response(body)
        return _response(b'{"error":"no such route in the stub"}', "404 Not Found")

    def _page(self, path: str, query: dict[str, list[str]]) -> bytes:
        item, total = self.pages[path]
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("pageSize", ["20"])[0])
        first = (page - 1) * size
        rows = [item.replace(ID_MARK, f"row_{n:09d}".encode()) for n in range(first, min(first + size, total))]
        return b'{"count":%d,"list":[%s]}' % (total, b",".join(rows))


async def _serve_connection(routes: Routes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            length = 0
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            writer.write(routes.answer(method, target))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main(config_path: str, port: int) -> None:
    routes = Routes(json.loads(Path(config_path).read_text()))
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(routes, r, w), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stub:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def counts(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.base_url}/__stats").json())

    def reset(self) -> None:
        httpx.post(f"{self.base_url}/__reset")


@contextmanager
def start_stub(routes: list[tuple[str, str, bytes]], pages: list[tuple[str, bytes, int]] = ()) -> Iterator[Stub]:
    """Run the stub in a child process on a free loopback port; stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="pk-bench-stub-") as folder:
        config: dict[str, list[Any]] = {"routes": [], "pages": []}
        for n, (method, prefix, body) in enumerate(routes):
            (Path(folder) / f"r{n}.json").write_bytes(body)
            config["routes"].append([method, prefix, str(Path(folder) / f"r{n}.json")])
        for n, (path, item, total) in enumerate(pages):
            (Path(folder) / f"p{n}.json").write_bytes(item)
            config["pages"].append([path, str(Path(folder) / f"p{n}.json"), total])
        (Path(folder) / "config.json").write_text(json.dumps(config))
        port = free_port()
        child = subprocess.Popen(
            [sys.executable, __file__, str(Path(folder) / "config.json"), str(port)],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert child.stdout is not None
            deadline = time.monotonic() + 20
            while child.stdout.readline().strip() != b"ready":
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the stub server did not start")
            yield Stub(f"http://127.0.0.1:{port}")
        finally:
            child.terminate()
            child.wait(timeout=10)
            if child.stdout is not None:
                child.stdout.close()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], int(sys.argv[2])))
