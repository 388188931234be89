"""`payment-kit listen --forward-to URL`: a sandbox's webhook deliveries, forwarded to an app.

It works as the Stripe CLI's `listen` does, through a relay: a small HTTP server on 127.0.0.1
(any free port) is registered as a temporary webhook endpoint, and each delivery the sandbox makes
to it is checked against the endpoint's secret and forwarded, body and `webhook-*` headers as they
came, to `--forward-to`. The receiver's answer goes back to the sandbox, so a receiver that fails
is retried exactly as it would be if the sandbox called it itself. The relay sees each delivery
as it happens, so it can print the receiver's status and how long it took (which the sandbox's
attempt records do not carry), and the URL may be any the app listens on, even one the sandbox
would not deliver to itself (it posts to loopback only).

The endpoint's `whsec_` secret is printed first: the app verifies deliveries with it
(`payment_kit.webhooks.construct_event`). Ctrl-C or SIGTERM removes the endpoint. The relay is on
this machine's loopback, so the sandbox must run here too (as `payment-kit sandbox` does).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, Literal, cast

import httpx

from .._errors import PaymentKitError, SignatureVerificationError
from ..event_types import EventType
from ..webhooks import construct_event
from ._connection import add_connection_options, client_from
from ._output import EXIT_API_ERROR, EXIT_USAGE, CommandError, exit_code_of, say
from ._sandbox_routes import SandboxRoutes

__all__ = ["add_listen_command"]

# The sandbox gives an attempt 10 seconds by default (PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT), and reads
# at most 64 KiB of the answer: the relay asks no more of the receiver.
FORWARD_TIMEOUT = 10.0
ANSWER_BYTES = 64 * 1024
# A delivery body is one event; the sandbox's own request limit is 1 MiB, and its events are smaller.
DELIVERY_BYTES = 4 * 2**20
# Headers the receiver needs to verify and read a delivery.
FORWARDED = ("content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature")


def add_listen_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], formatter: type[argparse.HelpFormatter]
) -> None:
    listen = commands.add_parser(
        "listen",
        help="forward a sandbox's webhook deliveries to your app, one line each",
        description=(
            "Registers a temporary webhook endpoint on the sandbox and forwards each delivery to "
            "--forward-to, as it happens. The first line printed is the endpoint's signing secret "
            "(whsec_...): give it to your app to verify deliveries. Then one line per delivery: time, "
            "event type, event id, your app's answer and how long it took. Ctrl-C (or SIGTERM) stops "
            "and removes the endpoint.\n\n"
            "Deliveries reach a relay on 127.0.0.1 that the sandbox posts to, so the sandbox must run on "
            "this machine (payment-kit sandbox). Works with the base install.\n\n"
            "Example, with `payment-kit trigger checkout.session.completed` in another terminal:\n"
            "  payment-kit listen --forward-to http://127.0.0.1:8000/webhooks --test"
        ),
        formatter_class=formatter,
    )
    listen.add_argument(
        "--forward-to", required=True, metavar="URL", help="where your app takes webhooks (http or https)"
    )
    listen.add_argument(
        "--events",
        metavar="TYPE,...",
        help="only these event types, comma-separated, e.g. invoice.paid,invoice.voided (default: every event)",
    )
    add_connection_options(listen)
    listen.set_defaults(run=_listen)


def _event_types(text: str | None) -> list[EventType | Literal["*"]]:
    """The endpoint's `enabled_events`: the types named, or `*` (the sandbox's "every type"). A type
    the document does not list is still sent: the server says whether it knows it (a newer
    PaymentKit may), and the sandbox refuses it naming it."""
    if text is None:
        return ["*"]
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    if not wanted:
        raise CommandError(f"--events: {text!r} names no event type (e.g. --events invoice.paid,invoice.voided)")
    return cast("list[EventType | Literal['*']]", list(dict.fromkeys(wanted)))


def _target(text: str) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise CommandError(f"--forward-to: {text!r} is not a URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise CommandError(f"--forward-to: {text!r} is not an http:// or https:// URL with a host", EXIT_USAGE)
    return text


def _listen(args: argparse.Namespace) -> int:
    target = _target(args.forward_to)
    types = _event_types(args.events)
    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with client_from(args) as client:
            SandboxRoutes(client).require_sandbox("payment-kit listen")
            with Relay(target) as relay:
                endpoint = client.webhook_endpoints.create(
                    url=relay.url,
                    enabled_events=types,
                    description=f"payment-kit listen, forwarding to {target}",
                    metadata={"created_by": "payment-kit listen"},
                )
                try:
                    secret = endpoint.get("secret")
                    if not isinstance(secret, str) or not secret.startswith("whsec_"):
                        raise CommandError(
                            "the server gave the endpoint no signing secret: is it a sandbox?", EXIT_API_ERROR
                        )
                    relay.secret = secret
                    _print(f"Ready. Webhook signing secret: {secret}")
                    _print(
                        f"Forwarding {_types_text(types)} to {target} (endpoint {endpoint.id}). "
                        "Ctrl-C stops and removes the endpoint."
                    )
                    while not stop.wait(0.2):
                        pass
                finally:
                    code = _remove(client, endpoint.id)
            return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _types_text(types: Sequence[str]) -> str:
    return "every event" if types == ["*"] else ", ".join(types)


def _remove(client: Any, endpoint_id: str) -> int:
    try:
        client.webhook_endpoints.delete(endpoint_id)
    except PaymentKitError as exc:
        say(f"could not remove webhook endpoint {endpoint_id}; remove it with "
            f"`payment-kit webhook-endpoints delete {endpoint_id}`")  # fmt: skip
        return exit_code_of(exc)
    say(f"removed webhook endpoint {endpoint_id}")
    return 0


_printing = threading.Lock()


def _print(line: str) -> None:
    with _printing:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Relay:
    """The loopback server the sandbox delivers to; forwards each verified delivery to `target`."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.secret: str | None = None
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=FORWARD_TIMEOUT, follow_redirects=False)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.relay = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="payment-kit-listen", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def deliver(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
        """Checks and forwards one delivery; answers what the sandbox gets back (status, body, type)."""
        arrived = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        secret = self.secret
        if secret is None:
            return 503, b'{"error": "payment-kit listen is not ready yet"}', "application/json"
        try:
            event = construct_event(body, headers, secret)
        except SignatureVerificationError as exc:
            _print(f"{arrived}  refused a request that is no delivery of this endpoint ({exc.reason})")
            return 400, json.dumps({"error": str(exc)}).encode(), "application/json"
        with self._lock:
            attempt = self._attempts[event.id] = self._attempts.get(event.id, 0) + 1
        again = f" (attempt {attempt})" if attempt > 1 else ""
        started = time.monotonic()
        forwarded = {name: headers[name] for name in FORWARDED if name in headers}
        try:
            with self._http.stream("POST", self.target, content=body, headers=forwarded) as answer:
                content = b""
                for chunk in answer.iter_bytes():
                    content += chunk
                    if len(content) >= ANSWER_BYTES:
                        break
                status, kind = answer.status_code, answer.headers.get("content-type", "text/plain")
        except httpx.HTTPError as exc:
            took = _ms(started)
            reason = str(exc) or type(exc).__name__
            _print(f"{arrived}  {event.type:<30} {event.id}{again}  -> no answer: {reason} ({took})")
            message = {"error": f"payment-kit listen could not reach {self.target}: {reason}"}
            return 502, json.dumps(message).encode(), "application/json"
        _print(f"{arrived}  {event.type:<30} {event.id}{again}  -> {status} {_phrase(status)} ({_ms(started)})")
        return status, content[:ANSWER_BYTES], kind


def _ms(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f} ms"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        relay: Relay = self.server.relay  # type: ignore[attr-defined]
        length = self.headers.get("content-length", "")
        if not length.isdigit() or int(length) > DELIVERY_BYTES:
            self._answer(413 if length.isdigit() else 411, b'{"error": "a delivery has a body of known size"}')
            return
        body = self.rfile.read(int(length))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, content, kind = relay.deliver(body, headers)
        self._answer(status, content, kind)

    def _answer(self, status: int, content: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `listen` prints its own line per delivery."""
