"""The one place that talks HTTP: base URL, auth, timeouts, retries with
backoff, idempotency keys, error mapping and request logging, for the sync
and the async client alike. Resources never touch httpx directly.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import platform
import random
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from ._errors import APIConnectionError, APITimeoutError, ConfigurationError, status_error
from ._version import __version__

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT", "AsyncTransport", "BearerAuth", "ClientOptions", "SyncTransport"]

logger = logging.getLogger("payment_kit")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
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

    def merged(self, **changes: Any) -> ClientOptions:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


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
        return http.build_request(
            self.kwargs["method"].upper(),
            url,
            json=self.kwargs.get("json"),
            headers=headers,
            timeout=self.options.timeout,
        )

    @property
    def flow_auth(self) -> httpx.Auth | None:
        """The auth to run as an httpx flow (a bearer key is already a header)."""
        auth = self.options.auth
        return None if isinstance(auth, BearerAuth) else auth


def _release_stream(response: httpx.Response) -> None:
    """The body is read: swap httpx's stream, which points back at the response, for the bytes.
    httpx 0.28 leaves each response in a reference cycle, so a walk over many pages kept every
    page's body alive until the cyclic collector ran."""
    response.stream = httpx.ByteStream(response.content)


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


def _retry_after(headers: httpx.Headers) -> float | None:
    if "retry-after-ms" in headers:
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def should_retry(response: httpx.Response) -> bool:
    if response.headers.get("x-should-retry") == "false":
        return False
    return response.status_code in RETRYABLE_STATUSES or response.status_code >= 500


def _log(request: httpx.Request, outcome: str, started: float, attempt: int) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        elapsed = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %s in %.1f ms (retry %d)", request.method, request.url.path, outcome, elapsed, attempt)


def next_delay(
    call: Call,
    attempt: int,
    request: httpx.Request,
    response: httpx.Response | None,
    failure: httpx.TransportError | None,
    started: float,
    jitter: Callable[[], float],
) -> float:
    """After a failed attempt: the delay before the next one, or the error to raise."""
    if failure is not None:
        _log(request, f"failed ({type(failure).__name__})", started, attempt)
        if attempt >= call.options.max_retries:
            if isinstance(failure, httpx.TimeoutException):
                raise APITimeoutError(request=request) from failure
            raise APIConnectionError(request=request) from failure
    else:
        assert response is not None
        if attempt >= call.options.max_retries or not should_retry(response):
            raise status_error(response)
    delay = retry_delay(attempt, response, jitter)
    logger.debug("retrying %s %s in %.2f s", request.method, request.url.path, delay)
    return delay


class SyncTransport:
    """Sends calls through one pooled `httpx.Client`, retrying what is safe to retry."""

    def __init__(self, http_client: httpx.Client | None) -> None:
        self._http = http_client
        self._owned = http_client is None
        self.sleep: Callable[[float], None] = time.sleep
        self.jitter: Callable[[], float] = random.random

    def http(self) -> httpx.Client:
        if self._http is None:
            # Created on first use so that importing the default client opens nothing.
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
                response = http.send(request, auth=call.flow_auth or httpx.USE_CLIENT_DEFAULT)
                _release_stream(response)
            except httpx.TransportError as exc:
                failure = exc
            if response is not None:
                _log(request, str(response.status_code), started, attempt)
                if response.is_success:
                    return response
            delay = next_delay(call, attempt, request, response, failure, started, self.jitter)
            if response is not None:
                response.close()
            self.sleep(delay)
            attempt += 1


class AsyncTransport:
    """The async twin of `SyncTransport`, over one pooled `httpx.AsyncClient`."""

    def __init__(self, http_client: httpx.AsyncClient | None) -> None:
        self._http = http_client
        self._owned = http_client is None
        self.sleep: Callable[[float], Any] = asyncio.sleep
        self.jitter: Callable[[], float] = random.random

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
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
                response = await http.send(request, auth=call.flow_auth or httpx.USE_CLIENT_DEFAULT)
                _release_stream(response)
            except httpx.TransportError as exc:
                failure = exc
            if response is not None:
                _log(request, str(response.status_code), started, attempt)
                if response.is_success:
                    return response
            delay = next_delay(call, attempt, request, response, failure, started, self.jitter)
            if response is not None:
                await response.aclose()
            await self.sleep(delay)
            attempt += 1
