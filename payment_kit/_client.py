"""`PaymentKit` and `AsyncPaymentKit`: configuration, connection pool, mode,
and the namespaces (`client.prices`, `client.checkout.sessions`, …)."""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

import httpx

from ._environments import Environments, livemode_from_env
from ._errors import ConfigurationError
from ._generated_namespaces import AsyncNamespaces, Namespaces
from ._runtime import RawResponse, _raw_sink
from ._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    AsyncTransport,
    BearerAuth,
    ClientOptions,
    SyncTransport,
    as_timeout,
    check_retries,
    headers_problem,
    value_problem,
)
from ._types import NOT_GIVEN, NotGiven

__all__ = ["STRICT_RESPONSES_ENV", "AsyncPaymentKit", "DefaultPaymentKit", "PaymentKit", "RawResponses"]

# `PAYMENT_KIT_STRICT_RESPONSES=1` turns strict mode on for every client that does not say otherwise.
STRICT_RESPONSES_ENV = "PAYMENT_KIT_STRICT_RESPONSES"

logger = logging.getLogger("payment_kit")


class RawResponses:
    """The raw answers of the calls made inside `with client.with_raw_response() as raw:`."""

    def __init__(self) -> None:
        self.responses: list[RawResponse] = []

    @property
    def last(self) -> RawResponse:
        if not self.responses:
            raise LookupError("no call has completed inside this block")
        return self.responses[-1]

    @property
    def status_code(self) -> int:
        return self.last.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.last.headers

    @property
    def parsed(self) -> Any:
        return self.last.parsed


def _options(
    base_url: str | None,
    api_key: str | None,
    auth: httpx.Auth | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int | None,
    default_headers: Mapping[str, str] | None,
    strict_responses: bool | None,
    max_response_bytes: int | None,
    *,
    copy: bool = False,
) -> ClientOptions:
    # None means "from the environment"; an empty string means "none" (e.g. an anonymous client,
    # or an `http_client` with a base URL of its own).
    base_source, key_source = "base_url", "api_key"
    if base_url is None:
        base_url, base_source = os.environ.get("PAYMENT_KIT_BASE_URL"), "PAYMENT_KIT_BASE_URL"
    if api_key is None:
        api_key, key_source = os.environ.get("PAYMENT_KIT_API_KEY"), "PAYMENT_KIT_API_KEY"
    if auth is None and api_key:
        auth = BearerAuth(_checked_key(api_key, key_source))
    headers = dict(default_headers or {})
    problem = headers_problem(headers)
    if problem is not None:
        raise ConfigurationError(f"default_headers: {problem}")
    retries = DEFAULT_MAX_RETRIES if max_retries is None else check_retries(max_retries)
    if strict_responses is None:
        strict_responses = os.environ.get(STRICT_RESPONSES_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return ClientOptions(
        base_url=_checked_base_url(base_url, base_source, warn=not copy) if base_url else None,
        auth=auth,
        timeout=as_timeout(timeout),
        max_retries=retries,
        headers=headers,
        strict_responses=strict_responses,
        max_response_bytes=_checked_size(max_response_bytes),
    )


def _checked_key(api_key: str, source: str) -> str:
    # Surrounding whitespace is never part of a key, and a key read from a file or a secret store
    # often ends with a newline: strip it rather than refuse a key that is otherwise right.
    api_key = api_key.strip()
    problem = value_problem(api_key)
    if problem is not None:
        # Where, never what: the message must not carry the key, even a mangled one.
        raise ConfigurationError(f"the API key ({source}) {problem}; an API key is printable ASCII")
    return api_key


def _checked_base_url(base_url: str, where: str, *, warn: bool) -> str:
    base_url = base_url.strip()
    problem: str | None
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        problem = f"is not a valid URL ({exc})"
    else:
        problem = _url_problem(base_url, url)
    if problem is not None:
        raise ConfigurationError(f"{where} {problem}")
    if warn and url.scheme == "http" and not _is_loopback(url.host):
        logger.warning(
            "%s is plain http:// to %s, which is not this machine: the API key and payment data "
            "cross the network unencrypted; use https://",
            where,
            url.host,
        )
    return base_url.rstrip("/")


def _url_problem(text: str, url: httpx.URL) -> str | None:
    if url.scheme in ("http", "https"):
        if not url.host:
            return "has no host: e.g. https://app.example.com/payment"
        if url.port is not None and not 0 < url.port < 65536:
            return f"has port {url.port}, outside 1-65535"
        return None
    if "://" not in text:
        # A bare host (and port): the scheme is what is missing, and on loopback it is usually http.
        try:
            host = httpx.URL(f"http://{text}").host
        except httpx.InvalidURL:
            host = ""
        scheme = "http" if _is_loopback(host) else "https"
        return f"has no scheme: did you mean {scheme}://{text} ?"
    return f"must be an http:// or https:// URL, not {url.scheme}://"


def _is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_size(value: int | None) -> int:
    if value is None:
        return DEFAULT_MAX_RESPONSE_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_response_bytes must be a whole number of bytes, 1 or more, not {value!r}")
    return value


class _ClientBase:
    _options: ClientOptions
    environments: Environments
    _owns_transport: bool

    def _configure(self, options: ClientOptions, livemode: bool | None) -> None:
        self._options = options
        self.environments = Environments(livemode_from_env() if livemode is None else livemode)

    def with_options(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        livemode: bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        strict_responses: bool | None = None,
        max_response_bytes: int | None = None,
    ) -> Self:
        """A copy with other settings that shares this client's connection pool.

        ``client.with_options(max_retries=5, timeout=120).invoices.list()``,
        ``payment.with_options(base_url="https://other.example.com/payment", api_key="...")``

        ``base_url`` and ``api_key`` are checked as the constructor checks them; a new
        ``api_key`` replaces this client's key or ``auth`` (``""``: none). The copy never closes
        the shared pool: closing (or leaving a ``with`` block of) the copy leaves this client
        usable; close this client itself.
        """
        options = self._options
        if base_url:
            _checked_base_url(base_url, "base_url", warn=True)  # the copy's own check stays quiet
        # PaymentKit or AsyncPaymentKit (never the default client's class): the one constructor path.
        client_class: Any = PaymentKit if isinstance(self, PaymentKit) else AsyncPaymentKit
        copy: Self = client_class(
            base_url=(options.base_url or "") if base_url is None else base_url,
            api_key="" if api_key is None else api_key,
            auth=options.auth if api_key is None else None,
            livemode=self.environments.get_live_mode() if livemode is None else livemode,
            timeout=options.timeout if timeout is None else timeout,
            max_retries=options.max_retries if max_retries is None else max_retries,
            default_headers={**options.headers, **(default_headers or {})},
            strict_responses=options.strict_responses if strict_responses is None else strict_responses,
            max_response_bytes=options.max_response_bytes if max_response_bytes is None else max_response_bytes,
            _shared_transport=self._transport,  # type: ignore[attr-defined]
        )
        return copy

    @property
    def base_url(self) -> str | None:
        return self._options.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        return self._options.timeout

    @property
    def max_retries(self) -> int:
        return self._options.max_retries

    @property
    def max_response_bytes(self) -> int:
        return self._options.max_response_bytes

    @contextmanager
    def with_raw_response(self) -> Iterator[RawResponses]:
        """Record status, headers and parsed answer of each call made in the block.

        ``with client.with_raw_response() as raw: client.prices.retrieve("price_x")``
        then ``raw.status_code``, ``raw.headers``, ``raw.parsed`` (the last call's),
        or ``raw.responses`` for all of them.
        """
        captured = RawResponses()
        token = _raw_sink.set(captured.responses)
        try:
            yield captured
        finally:
            _raw_sink.reset(token)

    def __repr__(self) -> str:
        mode = "live" if self.environments.get_live_mode() else "test"
        key = "set" if self._options.auth is not None else "none"
        return f"{type(self).__name__}(base_url={self._options.base_url!r}, mode={mode}, auth={key})"


class PaymentKit(_ClientBase, Namespaces):
    """A synchronous PaymentKit client.

    Args:
        base_url: the deployment's PaymentKit root, e.g. ``https://app.example.com/payment``
            (default: ``PAYMENT_KIT_BASE_URL``). Anything but an ``http://`` or ``https://`` URL
            with a host is a ``ConfigurationError``; plain ``http://`` to a host other than this
            machine (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``::1``) logs a warning on
            the ``payment_kit`` logger. ``""`` uses the ``http_client``'s own base URL.
        api_key: sent as ``Authorization: Bearer <api_key>`` (default: ``PAYMENT_KIT_API_KEY``;
            ``""`` for none). Whitespace around it is stripped (a key read from a file with its
            trailing newline just works); any other character a header cannot carry (a control
            character, a line break, non-ASCII) is a ``ConfigurationError`` that says where,
            never what.
        livemode: live (True) or test (False) data; default from ``PAYMENT_LIVEMODE`` /
            ``PAYMENT_LIVE_MODE`` / ``PAYMENT_TEST_MODE``, else live. Switch later with
            ``client.environments``.
        timeout: seconds, or an ``httpx.Timeout`` (default 30 s, 5 s to connect). Besides
            bounding each step as httpx does, it is each attempt's deadline as a whole
            (connecting, sending, and reading the whole answer): the largest of the
            ``httpx.Timeout``'s values (30 s by default; ``timeout=3`` is 3 s). An attempt past
            it ends as ``APITimeoutError``, retried like any timeout, so a call ends within
            ``(max_retries + 1) × timeout`` plus the waits between attempts.
        max_retries: retries of connection errors, timeouts, 408, 409, 429 and 5xx (default 2).
        http_client: your own ``httpx.Client`` (its pool, proxies, transport); it is not
            closed by this client.
        auth: any ``httpx.Auth``, instead of the bearer key.
        default_headers: headers sent with every request; a name or value that HTTP cannot
            carry is a ``ConfigurationError`` (a per-call ``extra_headers`` one, a ``ValueError``).
        strict_responses: fail with ``APIResponseValidationError`` on any answer that departs
            from the OpenAPI document (a missing or mistyped field, an enum value it does not
            list, an undocumented status); default from ``PAYMENT_KIT_STRICT_RESPONSES=1``,
            else off: answers are read leniently (README, "Reliability").
        max_response_bytes: the largest answer read, in decoded bytes (default 32 MiB, far above
            any real page). A larger answer, error answers included, raises
            ``APIResponseValidationError`` as soon as it passes the cap (or, by its
            ``Content-Length``, before reading), and is not retried.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        livemode: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        http_client: httpx.Client | None = None,
        auth: httpx.Auth | None = None,
        default_headers: Mapping[str, str] | None = None,
        strict_responses: bool | None = None,
        max_response_bytes: int | None = None,
        _shared_transport: SyncTransport | None = None,
    ) -> None:
        options = _options(
            base_url,
            api_key,
            auth,
            timeout,
            max_retries,
            default_headers,
            strict_responses,
            max_response_bytes,
            copy=_shared_transport is not None,
        )
        self._configure(options, livemode)
        # A `with_options` copy uses its parent's transport (pool, retry hooks) and never closes it.
        self._owns_transport = _shared_transport is None
        self._transport = _shared_transport or SyncTransport(http_client, options.base_url)
        self._build_namespaces(self)

    def close(self) -> None:
        """Close the connection pool (unless it was passed in as `http_client`, or this is a
        `with_options` copy, whose pool belongs to the client it came from)."""
        if self._owns_transport:
            self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncPaymentKit(_ClientBase, AsyncNamespaces):
    """An asyncio PaymentKit client; the same arguments as `PaymentKit`
    (``http_client`` is an ``httpx.AsyncClient``). Use it as ``async with``."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        livemode: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        http_client: httpx.AsyncClient | None = None,
        auth: httpx.Auth | None = None,
        default_headers: Mapping[str, str] | None = None,
        strict_responses: bool | None = None,
        max_response_bytes: int | None = None,
        _shared_transport: AsyncTransport | None = None,
    ) -> None:
        options = _options(
            base_url,
            api_key,
            auth,
            timeout,
            max_retries,
            default_headers,
            strict_responses,
            max_response_bytes,
            copy=_shared_transport is not None,
        )
        self._configure(options, livemode)
        self._owns_transport = _shared_transport is None
        self._transport = _shared_transport or AsyncTransport(http_client, options.base_url)
        self._build_namespaces(self)

    async def close(self) -> None:
        """Close the connection pool (not a `with_options` copy's: it belongs to the parent)."""
        if self._owns_transport:
            await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class DefaultPaymentKit(PaymentKit):
    """The module-level ``payment`` client, configured at its first use, not at import.

    What ``configure`` was not given comes from the environment (``PAYMENT_KIT_BASE_URL``,
    ``PAYMENT_KIT_API_KEY``, ``PAYMENT_LIVEMODE`` / ``PAYMENT_LIVE_MODE`` / ``PAYMENT_TEST_MODE``,
    ``PAYMENT_KIT_STRICT_RESPONSES``), read when the client is first used (a call, or reading a
    setting such as ``payment.base_url``) and read again after every ``configure``. So
    ``load_dotenv()`` after the imports works, and importing ``payment_kit`` never fails because
    of the environment: a bad value is a ``ConfigurationError`` at first use. openai-python's
    module-level client is the anchor (settings that may change until the client is needed).
    """

    def __init__(self) -> None:
        # Nothing is read here: `_settle` reads the settings at first use.
        self._settings: dict[str, Any] = {}
        self._settled: tuple[ClientOptions, SyncTransport] | None = None
        self._settling = threading.Lock()
        self.environments = Environments(None)
        self._owns_transport = True
        self._build_namespaces(self)

    # Read-only where PaymentKit's are attributes: nothing assigns them on the default client.
    @property
    def _options(self) -> ClientOptions:  # type: ignore[override]
        return self._settle()[0]

    @property
    def _transport(self) -> SyncTransport:  # type: ignore[override]
        return self._settle()[1]

    def _settle(self) -> tuple[ClientOptions, SyncTransport]:
        settled = self._settled
        if settled is None:
            with self._settling:  # two threads' first calls build one pool, not two
                settled = self._settled
                if settled is None:
                    s = self._settings
                    options = _options(
                        s.get("base_url"),
                        s.get("api_key"),
                        s.get("auth"),
                        s.get("timeout"),
                        s.get("max_retries"),
                        s.get("default_headers"),
                        s.get("strict_responses"),
                        s.get("max_response_bytes"),
                    )
                    self.environments.get_live_mode()  # the mode is read with the rest
                    settled = self._settled = (options, SyncTransport(s.get("http_client"), options.base_url))
        return settled

    def configure(
        self,
        *,
        base_url: str | NotGiven | None = NOT_GIVEN,
        api_key: str | NotGiven | None = NOT_GIVEN,
        livemode: bool | NotGiven | None = NOT_GIVEN,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven | None = NOT_GIVEN,
        http_client: httpx.Client | NotGiven | None = NOT_GIVEN,
        auth: httpx.Auth | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        strict_responses: bool | NotGiven | None = NOT_GIVEN,
        max_response_bytes: int | NotGiven | None = NOT_GIVEN,
    ) -> None:
        """Set the default client's settings (``payment_kit.configure`` is this method).

        ``payment_kit.configure(base_url="https://app.example.com/payment", api_key="...", livemode=False)``

        The arguments are ``PaymentKit``'s. A setting given here is kept until configured again;
        ``None`` returns it to the environment (or the default); a setting left out is unchanged.
        A value given here is checked at once (``ConfigurationError``, ``ValueError``); what
        comes from the environment is read again, and checked, at the next use. The connection
        pool the client opened itself is closed (a ``with_options`` copy made earlier opens a new
        one if used again); an ``http_client`` of yours is never closed by it.
        """
        given: dict[str, Any] = {
            name: value
            for name, value in (
                ("base_url", base_url),
                ("api_key", api_key),
                ("timeout", timeout),
                ("max_retries", max_retries),
                ("http_client", http_client),
                ("auth", auth),
                ("default_headers", default_headers),
                ("strict_responses", strict_responses),
                ("max_response_bytes", max_response_bytes),
            )
            if not isinstance(value, NotGiven)
        }
        chosen = {k: v for k, v in given.items() if v is not None}
        # Checked on their own ("" stands for "none", so the environment is not read yet).
        _options(
            chosen.get("base_url", ""),
            chosen.get("api_key", ""),
            chosen.get("auth"),
            chosen.get("timeout"),
            chosen.get("max_retries"),
            chosen.get("default_headers"),
            chosen.get("strict_responses", False),
            chosen.get("max_response_bytes"),
            copy=True,
        )
        settings = {k: v for k, v in self._settings.items() if k not in given}
        self._reset(({**settings, **chosen}, self.environments._state()))
        if livemode is None:
            self.environments._restore((None, False))
        elif not isinstance(livemode, NotGiven):
            self.environments.set_live_mode(livemode)

    def _snapshot(self) -> tuple[dict[str, Any], tuple[bool | None, bool]]:
        """Everything `configure` and `environments` changed, for `_reset` to put back."""
        return dict(self._settings), self.environments._state()

    def _reset(self, snapshot: tuple[dict[str, Any], tuple[bool | None, bool]]) -> None:
        settings, mode = snapshot
        with self._settling:
            settled, self._settled = self._settled, None
            self._settings = dict(settings)
        if settled is not None:
            settled[1].close()  # only a pool it opened itself
        self.environments._restore(mode)
        self.environments._forget_environment()

    def close(self) -> None:
        settled = self._settled
        if settled is not None:
            settled[1].close()

    def __repr__(self) -> str:
        if self._settled is None:
            return "PaymentKit(default client: configured at its first use)"
        return super().__repr__()
