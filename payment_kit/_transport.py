"""The one place that talks HTTP: base URL, auth, timeouts, retries with
backoff, idempotency keys, error mapping and request logging, for the sync
and the async client alike. Resources never touch httpx directly.

Each attempt has a deadline and a size cap, because httpx's timeouts bound each
socket operation, not the answer: a server that trickles a byte at a time would
hold a call forever, and one that streams without end would fill the memory.
The async client puts `asyncio.timeout` around the attempt. The sync client
cannot interrupt a blocked read from its own thread, so one watchdog thread,
shared by every sync client, shuts the attempt's socket down at the deadline
(a thread per request would cost more than the request).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import heapq
import itertools
import logging
import os
import platform
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any, cast
from urllib.parse import quote, urlencode

import h11
import httpx

from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ConfigurationError,
    status_error,
)
from ._version import __version__

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "IN_PROCESS",
    "AsyncTransport",
    "BearerAuth",
    "ClientOptions",
    "SyncTransport",
]

logger = logging.getLogger("payment_kit")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
# A page of 100 fully expanded subscriptions is under 1 MiB: 32 MiB is far above any real answer.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 2**20
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({408, 409, 429})
# Versions on every request, so that a server's logs can tell client versions apart (as stripe-python does).
USER_AGENT = (
    f"blocklet-payment-kit-python/{__version__} "
    f"({platform.python_implementation()} {platform.python_version()}; httpx {httpx.__version__}; {platform.system()})"
)


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <key>`; the key never shows in a repr."""

    def __init__(self, api_key: str) -> None:
        self.header = f"Bearer {api_key}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(api_key=<hidden>)"


@dataclass(frozen=True)
class ClientOptions:
    """What a client (or a `with_options` copy of it) sends with each request."""

    base_url: str | None
    auth: httpx.Auth | None
    timeout: httpx.Timeout
    max_retries: int
    headers: Mapping[str, str] = field(default_factory=dict)
    strict_responses: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def merged(self, **changes: Any) -> ClientOptions:
        headers = changes.get("headers")
        if headers is not None:
            # Only a call's `extra_headers` change them here: the client's own were checked when it was built.
            problem = headers_problem(headers)
            if problem is not None:
                raise ValueError(f"extra_headers: {problem}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @functools.cached_property
    def attempt_seconds(self) -> float | None:
        """How long one attempt may take as a whole: the largest of the timeout's values."""
        return attempt_seconds(self.timeout)


def attempt_seconds(timeout: httpx.Timeout) -> float | None:
    # The largest, so that no single step's own timeout is cut short by the whole attempt's.
    values = [v for v in (timeout.connect, timeout.read, timeout.write, timeout.pool) if v is not None]
    return max(values) if values else None


_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def value_problem(value: str) -> str | None:
    """What makes `value` unfit for an HTTP header value, without quoting it (it may be a secret):
    printable ASCII only, as h11 sends it, with no whitespace at either end."""
    if value.isascii() and value.isprintable() and value == value.strip():
        return None
    for position, char in enumerate(value):
        if char in "\r\n":
            return f"contains a line break at position {position}"
        if not char.isascii():
            return f"contains a non-ASCII character at position {position}"
        if not char.isprintable():
            return f"contains a control character at position {position}"
    return "starts or ends with whitespace"


def headers_problem(headers: Mapping[str, str]) -> str | None:
    """The first header that h11 would refuse to send, described without its value."""
    for name, value in headers.items():
        if not isinstance(name, str) or not name or not set(name) <= _TOKEN_CHARS:
            return f"{name!r} is not a valid header name"
        if not isinstance(value, str):
            return f"the value of {name!r} is a {type(value).__name__}, not a str"
        problem = value_problem(value)
        if problem is not None:
            return f"the value of {name!r} {problem}"
    return None


@dataclass
class Call:
    """One logical call, which may take several attempts."""

    kwargs: dict[str, Any]
    options: ClientOptions
    idempotency_key: str | None

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = {"User-Agent": USER_AGENT, **self.options.headers, **(self.kwargs.get("headers") or {})}
        auth = self.options.auth
        if isinstance(auth, BearerAuth):
            # A constant header: cheaper than an auth flow on every request, and the same on the wire.
            headers["Authorization"] = auth.header
        if self.idempotency_key is not None:
            problem = value_problem(self.idempotency_key)
            if problem is not None:
                raise ValueError(f"idempotency_key {problem}")
            headers["Idempotency-Key"] = self.idempotency_key
        url = self.kwargs["url"]
        if self.options.base_url:
            url = self.options.base_url + url
        elif not str(http.base_url):
            raise ConfigurationError(
                "No PaymentKit base URL: pass base_url=... (e.g. https://app.example.com/payment) "
                "or set PAYMENT_KIT_BASE_URL"
            )
        params = self.kwargs.get("params")
        if params:
            # The query written into the URL once: `params=` would parse the URL a second time.
            url = f"{url}?{encode_query(params)}"
        try:
            return http.build_request(
                self.kwargs["method"].upper(),
                url,
                json=self.kwargs.get("json"),
                headers=headers,
                timeout=self.options.timeout,
            )
        except httpx.InvalidURL as exc:
            problem = str(exc)
        raise ConfigurationError(f"httpx cannot send to this URL: {problem}")

    @property
    def flow_auth(self) -> httpx.Auth | None:
        """The auth to run as an httpx flow (a bearer key is already a header)."""
        auth = self.options.auth
        return None if isinstance(auth, BearerAuth) else auth


# -- reading an answer: whole, within the size cap and the attempt's deadline -----------------------

# A compressed body reaches the decoder in pieces this big: one 64 KiB read of a gzip bomb
# inflates to 64 MiB at once, twice the default cap, before the cap could count it.
_ENCODED_PIECE = 4096


def _pieces(chunk: bytes) -> Iterator[bytes]:
    if len(chunk) <= _ENCODED_PIECE:
        yield chunk
    else:
        for start in range(0, len(chunk), _ENCODED_PIECE):
            yield chunk[start : start + _ENCODED_PIECE]


def _encoded(response: httpx.Response) -> bool:
    return "content-encoding" in response.headers


class _SyncBody(httpx.SyncByteStream):
    """An answer's raw stream, in small pieces when compressed. Closing it ends the attempt's
    watch before the connection goes back to the pool, where another call may be using it."""

    def __init__(self, stream: httpx.SyncByteStream, encoded: bool, watch: _Watch | None) -> None:
        self._stream, self._encoded, self._watch = stream, encoded, watch

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            if self._encoded:
                yield from _pieces(chunk)
            else:
                yield chunk

    def close(self) -> None:
        if self._watch is not None:
            self._watch.finish()
        self._stream.close()


class _AsyncBody(httpx.AsyncByteStream):
    """A compressed answer's raw stream, in small pieces."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            for piece in _pieces(chunk):
                yield piece

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Reader:
    """Collects an answer's decoded bytes, and refuses it as soon as they pass the size cap
    (a `Content-Length` over it, before reading) or the attempt's deadline passes."""

    __slots__ = ("chunks", "deadline", "limit", "response", "size")

    def __init__(self, response: httpx.Response, limit: int, deadline: float | None) -> None:
        self.response, self.limit, self.deadline = response, limit, deadline
        self.chunks: list[bytes] = []
        self.size = 0
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise self._too_large(f"its Content-Length, {int(length):,} bytes,")

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise self._too_large("it")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise httpx.ReadTimeout(
                "the attempt's deadline passed while reading the answer", request=self.response.request
            )
        self.chunks.append(chunk)

    def _too_large(self, what: str) -> APIResponseValidationError:
        reason = f"the answer is too large: {what} passed max_response_bytes ({self.limit:,} bytes)"
        return APIResponseValidationError(response=self.response, reason=reason)

    def settle(self) -> httpx.Response:
        """The answer, with its body in memory and no stream left pointing back at it."""
        content = b"".join(self.chunks)
        response = self.response
        response._content = content  # what httpx's own `read()` keeps
        # httpx 0.28 leaves each response in a reference cycle through its stream, so a walk over many
        # pages kept every page's body alive until the cyclic collector ran.
        response.stream = httpx.ByteStream(content)
        return response


def _instead(
    exc: BaseException, response: httpx.Response | None, request: httpx.Request, late: bool, seconds: float | None
) -> Exception | None:
    """What a failed attempt raises in place of `exc`, if anything: the deadline passing (`late`)
    is a timeout, and a body its own Content-Encoding cannot decode is an answer not as documented."""
    if isinstance(exc, httpx.DecodingError) and response is not None:
        encoding = response.headers.get("content-encoding")
        reason = f"the body cannot be decoded as its Content-Encoding ({encoding}) says"
        return APIResponseValidationError(response=response, reason=reason)
    if late:
        return httpx.ReadTimeout(f"no complete answer within the attempt's {seconds:g} s", request=request)
    return None


# -- the sync deadline: one watchdog thread for every sync client ---------------------------------


class _Watch:
    """One sync attempt, as the watchdog sees it. `stream` is its connection, once known:
    from httpcore's `trace` extension when the attempt opens a connection, else from the answer."""

    __slots__ = ("expired", "finished", "stream")

    def __init__(self) -> None:
        self.expired = False
        self.finished = False
        self.stream: Any = None

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event.endswith(("connect_tcp.complete", "start_tls.complete", "connect_unix_socket.complete")):
            _WATCHDOG.attach(self, info.get("return_value"))
        elif event.startswith(("http11.", "http2.")):
            # The connection is chosen: nothing more to learn. Dropping the hook (httpcore shares the
            # request's extensions) spares the eight or so calls httpcore would still make to it.
            request = info.get("request")
            if request is not None:
                request.extensions.pop("trace", None)

    def attach(self, response: httpx.Response) -> None:
        # Over HTTP/2 the socket carries other calls' streams too: this attempt's deadline is not theirs.
        stream = response.extensions.get("network_stream") if response.http_version != "HTTP/2" else None
        _WATCHDOG.attach(self, stream)

    def finish(self) -> bool:
        """Stop watching; whether the deadline had passed."""
        return _WATCHDOG.finish(self)


class _Watchdog:
    """At an attempt's deadline, shuts its socket down: a read blocked on a server that trickles
    returns at once, and the attempt ends as a timeout. One daemon thread sleeps until the
    earliest deadline of a heap shared by every sync client."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # the thread does not survive a fork

    def _reset(self) -> None:
        # Callers take the plain lock (no Python-level Condition methods on every call); the thread
        # waits on a condition over the same lock.
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, _Watch]] = []
        self._finished_in_heap = 0
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float) -> _Watch:
        watch = _Watch()
        with self._lock:
            heapq.heappush(self._heap, (deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="payment-kit-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._wakeup.notify()
        return watch

    def attach(self, watch: _Watch, stream: Any) -> None:
        with self._lock:
            if not watch.finished:
                watch.stream = stream
                if watch.expired and stream is not None:
                    _shut_down(stream)

    def finish(self, watch: _Watch) -> bool:
        with self._lock:
            if not watch.finished:
                watch.finished, watch.stream = True, None
                if not watch.expired:  # then it is still in the heap
                    self._finished_in_heap += 1
                    if self._finished_in_heap > 64 and 2 * self._finished_in_heap > len(self._heap):
                        # Dropped now rather than at their deadlines: at a thousand calls a second and
                        # 30 s deadlines, finished watches would pile up by the ten thousand.
                        self._heap = [entry for entry in self._heap if not entry[2].finished]
                        heapq.heapify(self._heap)
                        self._finished_in_heap = 0
            return watch.expired

    def _run(self) -> None:
        wakeup = self._wakeup
        with wakeup:
            while True:
                heap = self._heap
                if heap and heap[0][2].finished:
                    heapq.heappop(heap)
                    self._finished_in_heap -= 1
                elif not heap:
                    wakeup.wait()
                elif (wait := heap[0][0] - time.monotonic()) > 0:
                    wakeup.wait(wait)
                else:
                    watch = heapq.heappop(heap)[2]
                    watch.expired = True
                    if watch.stream is not None:
                        _shut_down(watch.stream)


def _shut_down(stream: Any) -> None:
    sock = stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            # socket.socket's shutdown, not ssl.SSLSocket's, which would unwrap the TLS object from
            # under the thread that is reading: that read then fails as a plain ValueError.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()


def _query_value(value: Any) -> str:
    # As httpx writes them: booleans in lower case, None as empty.
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def encode_query(params: Mapping[str, Any]) -> str:
    pairs = [
        (key, _query_value(item))
        for key, value in params.items()
        for item in (value if isinstance(value, list | tuple) else (value,))
    ]
    return urlencode(pairs, quote_via=quote)


def as_timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if value is None:
        return DEFAULT_TIMEOUT
    return value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)


def check_retries(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be a whole number, 0 or more, not {value!r}")
    return value


def new_idempotency_key() -> str:
    return f"pk-py-{uuid.uuid4()}"


def retry_delay(attempt: int, response: httpx.Response | None, jitter: Callable[[], float]) -> float:
    """Seconds to wait before retry number `attempt + 1`.

    The server's `Retry-After` (seconds or an HTTP date) wins when it is
    reasonable; otherwise exponential backoff from 0.5 s, capped at 8 s, with
    up to 25 % jitter so that many clients do not retry in step.
    """
    if response is not None:
        hinted = _retry_after(response.headers)
        if hinted is not None and 0 <= hinted <= MAX_RETRY_AFTER:
            return hinted
    base: float = min(INITIAL_RETRY_DELAY * 2.0**attempt, MAX_RETRY_DELAY)
    return base * (1 - 0.25 * jitter())


_DELAY_SECONDS = re.compile(r"\s*\d+(\.\d+)?\s*")


def _retry_after(headers: httpx.Headers) -> float | None:
    """The server's wait in seconds, or None when it is absent or unreadable (`soon`, a
    garbled date, a negative number, NaN): then the usual backoff applies."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None and _DELAY_SECONDS.fullmatch(milliseconds):
        return float(milliseconds) / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": a time in UTC from a sender that does not know its zone
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - time.time())


def should_retry(response: httpx.Response) -> bool:
    if response.headers.get("x-should-retry") == "false":
        return False
    return response.status_code in RETRYABLE_STATUSES or response.status_code >= 500


def _log(request: httpx.Request, outcome: str, started: float, attempt: int) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        elapsed = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %s in %.1f ms (retry %d)", request.method, request.url.path, outcome, elapsed, attempt)


# What an attempt may raise besides a PaymentKitError: httpx's own errors, h11's should httpcore
# let one through, and the operating system's.
FAILURES = (httpx.RequestError, h11.ProtocolError, OSError)
# Mistakes on this side, which sending again cannot mend.
_LOCAL_FAILURES = (httpx.LocalProtocolError, httpx.UnsupportedProtocol, h11.LocalProtocolError)


def _retryable(failure: Exception, request: httpx.Request) -> Exception:
    """The failure, if trying again may help; else the documented error it is, raised."""
    if isinstance(failure, _LOCAL_FAILURES):
        # Not chained, and not quoted: h11 quotes the header value it refuses, which may be a key.
        detail = f": {failure}" if isinstance(failure, httpx.UnsupportedProtocol) else ""
        raise ConfigurationError(
            f"httpx refused to send {request.method} {request.url.path} ({type(failure).__name__}{detail}); "
            "check base_url, default_headers, extra_headers and auth"
        )
    if isinstance(failure, httpx.TransportError | h11.RemoteProtocolError | OSError):
        return failure
    # TooManyRedirects (an http_client that follows them), or any other RequestError: the same again.
    raise APIConnectionError(request=request, message=f"{type(failure).__name__}: {_where(request)}") from failure


def _where(request: httpx.Request) -> str:
    return f"{request.method} {request.url.path}"


def next_delay(
    call: Call,
    attempt: int,
    request: httpx.Request,
    response: httpx.Response | None,
    failure: Exception | None,
    started: float,
    jitter: Callable[[], float],
) -> float:
    """After a failed attempt: the delay before the next one, or the error to raise."""
    if failure is not None:
        # Called outside the `except` that caught the failure, so a refusal carries no context.
        failure = _retryable(failure, request)
        _log(request, f"failed ({type(failure).__name__})", started, attempt)
        if attempt >= call.options.max_retries:
            if isinstance(failure, httpx.TimeoutException | TimeoutError):
                raise APITimeoutError(request=request) from failure
            raise APIConnectionError(request=request) from failure
    else:
        assert response is not None
        if attempt >= call.options.max_retries or not should_retry(response):
            raise status_error(response)
    delay = retry_delay(attempt, response, jitter)
    logger.debug("retrying %s %s in %.2f s", request.method, request.url.path, delay)
    return delay


IN_PROCESS: dict[str, tuple[httpx.BaseTransport, httpx.AsyncBaseTransport]] = {}
"""Origins (`http://sandbox-1.localhost`) answered inside this process, by payment_kit.testing's
sandboxes: a client given no `http_client` whose base URL is one of them sends its requests there,
never to the network. Empty unless a test made a sandbox."""


def in_process(base_url: str | None) -> tuple[httpx.BaseTransport, httpx.AsyncBaseTransport] | None:
    if not IN_PROCESS or not base_url:
        return None
    url = httpx.URL(base_url)
    return IN_PROCESS.get(f"{url.scheme}://{url.netloc.decode('ascii')}")


class SyncTransport:
    """Sends calls through one pooled `httpx.Client`, retrying what is safe to retry."""

    def __init__(self, http_client: httpx.Client | None, base_url: str | None = None) -> None:
        self._http = http_client
        self._owned = http_client is None
        self._base_url = base_url
        self.sleep: Callable[[float], None] = time.sleep
        self.jitter: Callable[[], float] = random.random

    def http(self) -> httpx.Client:
        if self._http is None:
            # Created on first use so that importing the default client opens nothing.
            found = in_process(self._base_url)
            if found is not None:
                self._http = httpx.Client(follow_redirects=False, transport=found[0])
            else:
                self._http = httpx.Client(follow_redirects=False)
        return self._http

    def close(self) -> None:
        if self._owned and self._http is not None:
            self._http.close()
            self._http = None

    def send(self, call: Call) -> httpx.Response:
        http = self.http()
        attempt = 0
        while True:
            request = call.build(http)
            started = time.monotonic()
            response, failure = None, None
            try:
                response = self._attempt(http, call, request)
            except FAILURES as exc:
                failure = exc
            if response is not None:
                _log(request, str(response.status_code), started, attempt)
                if response.is_success:
                    return response
            self.sleep(next_delay(call, attempt, request, response, failure, started, self.jitter))
            attempt += 1

    def _attempt(self, http: httpx.Client, call: Call, request: httpx.Request) -> httpx.Response:
        """One request and its whole answer, read within the cap and the deadline."""
        seconds = call.options.attempt_seconds
        deadline = None if seconds is None else time.monotonic() + seconds
        watch = None if deadline is None else _WATCHDOG.watch(deadline)
        if watch is not None:
            request.extensions["trace"] = watch.trace
        response = None
        try:
            response = http.send(request, stream=True, auth=call.flow_auth or httpx.USE_CLIENT_DEFAULT)
            assert isinstance(response.stream, httpx.SyncByteStream)
            response.stream = _SyncBody(response.stream, _encoded(response), watch)
            if watch is not None:
                watch.attach(response)
            reader = _Reader(response, call.options.max_response_bytes, deadline)
            for chunk in response.iter_bytes():
                reader.add(chunk)
            return reader.settle()
        except BaseException as exc:
            if response is not None:
                response.close()
            # A read the watchdog cut short fails as the connection's error: it is the deadline's.
            late = watch is not None and watch.finish() and isinstance(exc, httpx.TransportError | OSError)
            instead = _instead(exc, response, request, late, seconds)
            if instead is None:
                raise
            raise instead from None


class AsyncTransport:
    """The async twin of `SyncTransport`, over one pooled `httpx.AsyncClient`."""

    def __init__(self, http_client: httpx.AsyncClient | None, base_url: str | None = None) -> None:
        self._http = http_client
        self._owned = http_client is None
        self._base_url = base_url
        self.sleep: Callable[[float], Any] = asyncio.sleep
        self.jitter: Callable[[], float] = random.random

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            found = in_process(self._base_url)
            if found is not None:
                self._http = httpx.AsyncClient(follow_redirects=False, transport=found[1])
            else:
                self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    async def close(self) -> None:
        if self._owned and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send(self, call: Call) -> httpx.Response:
        http = self.http()
        attempt = 0
        while True:
            request = call.build(http)
            started = time.monotonic()
            response, failure = None, None
            try:
                response = await self._attempt(http, call, request)
            except FAILURES as exc:
                failure = exc
            if response is not None:
                _log(request, str(response.status_code), started, attempt)
                if response.is_success:
                    return response
            await self.sleep(next_delay(call, attempt, request, response, failure, started, self.jitter))
            attempt += 1

    async def _attempt(self, http: httpx.AsyncClient, call: Call, request: httpx.Request) -> httpx.Response:
        seconds = call.options.attempt_seconds
        response = None
        try:
            async with asyncio.timeout(seconds):
                response = await http.send(request, stream=True, auth=call.flow_auth or httpx.USE_CLIENT_DEFAULT)
                if _encoded(response):
                    assert isinstance(response.stream, httpx.AsyncByteStream)
                    response.stream = _AsyncBody(response.stream)
                reader = _Reader(response, call.options.max_response_bytes, None)
                # Closed here when the reader refuses: left open, the loop would close it later, in a task.
                # (httpx types it as an iterator; it is an async generator.)
                body = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
                async with contextlib.aclosing(body) as chunks:
                    async for chunk in chunks:
                        reader.add(chunk)
                return reader.settle()
        except BaseException as exc:
            if response is not None:
                await response.aclose()
            instead = _instead(exc, response, request, isinstance(exc, TimeoutError), seconds)
            if instead is None:
                raise
            raise instead from None
