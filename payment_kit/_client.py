"""`PaymentKit` and `AsyncPaymentKit`: configuration, connection pool, mode,
and the namespaces (`client.prices`, `client.checkout.sessions`, …)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

import httpx

from ._environments import Environments, livemode_from_env
from ._generated_namespaces import AsyncNamespaces, Namespaces
from ._runtime import RawResponse, _raw_sink
from ._transport import (
    DEFAULT_MAX_RETRIES,
    AsyncTransport,
    BearerAuth,
    ClientOptions,
    SyncTransport,
    as_timeout,
    check_retries,
)

__all__ = ["STRICT_RESPONSES_ENV", "AsyncPaymentKit", "PaymentKit", "RawResponses"]

# `PAYMENT_KIT_STRICT_RESPONSES=1` turns strict mode on for every client that does not say otherwise.
STRICT_RESPONSES_ENV = "PAYMENT_KIT_STRICT_RESPONSES"


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
) -> ClientOptions:
    # None means "from the environment"; an empty string means "none" (e.g. an anonymous client).
    if base_url is None:
        base_url = os.environ.get("PAYMENT_KIT_BASE_URL")
    if api_key is None:
        api_key = os.environ.get("PAYMENT_KIT_API_KEY")
    if auth is None and api_key:
        auth = BearerAuth(api_key)
    retries = DEFAULT_MAX_RETRIES if max_retries is None else check_retries(max_retries)
    if strict_responses is None:
        strict_responses = os.environ.get(STRICT_RESPONSES_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return ClientOptions(
        base_url=base_url.rstrip("/") if base_url else None,
        auth=auth,
        timeout=as_timeout(timeout),
        max_retries=retries,
        headers=dict(default_headers or {}),
        strict_responses=strict_responses,
    )


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
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        livemode: bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        strict_responses: bool | None = None,
    ) -> Self:
        """A copy with other settings that shares this client's connection pool.

        ``client.with_options(max_retries=5, timeout=120).invoices.list()``

        The copy never closes the shared pool: closing (or leaving a ``with``
        block of) the copy leaves this client usable; close this client itself.
        """
        options = self._options
        client_class: Any = type(self)  # PaymentKit or AsyncPaymentKit: the one constructor path
        copy: Self = client_class(
            base_url=options.base_url or "",
            api_key="",
            auth=options.auth,
            livemode=self.environments.get_live_mode() if livemode is None else livemode,
            timeout=options.timeout if timeout is None else timeout,
            max_retries=options.max_retries if max_retries is None else max_retries,
            default_headers={**options.headers, **(default_headers or {})},
            strict_responses=options.strict_responses if strict_responses is None else strict_responses,
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
            (default: ``PAYMENT_KIT_BASE_URL``).
        api_key: sent as ``Authorization: Bearer <api_key>`` (default: ``PAYMENT_KIT_API_KEY``; ``""`` for none).
        livemode: live (True) or test (False) data; default from ``PAYMENT_LIVEMODE`` /
            ``PAYMENT_LIVE_MODE`` / ``PAYMENT_TEST_MODE``, else live. Switch later with
            ``client.environments``.
        timeout: seconds, or an ``httpx.Timeout`` (default 30 s, 5 s to connect).
        max_retries: retries of connection errors, 408, 409, 429 and 5xx (default 2).
        http_client: your own ``httpx.Client`` (its pool, proxies, transport); it is not
            closed by this client.
        auth: any ``httpx.Auth``, instead of the bearer key.
        default_headers: headers sent with every request.
        strict_responses: fail with ``APIResponseValidationError`` on any answer that departs
            from the OpenAPI document (a missing or mistyped field, an enum value it does not
            list, an undocumented status); default from ``PAYMENT_KIT_STRICT_RESPONSES=1``,
            else off: answers are read leniently (README, "Reliability").
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
        _shared_transport: SyncTransport | None = None,
    ) -> None:
        options = _options(base_url, api_key, auth, timeout, max_retries, default_headers, strict_responses)
        self._configure(options, livemode)
        # A `with_options` copy uses its parent's transport (pool, retry hooks) and never closes it.
        self._owns_transport = _shared_transport is None
        self._transport = _shared_transport or SyncTransport(http_client)
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
        _shared_transport: AsyncTransport | None = None,
    ) -> None:
        options = _options(base_url, api_key, auth, timeout, max_retries, default_headers, strict_responses)
        self._configure(options, livemode)
        self._owns_transport = _shared_transport is None
        self._transport = _shared_transport or AsyncTransport(http_client)
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
