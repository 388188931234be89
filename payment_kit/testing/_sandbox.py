"""`Sandbox`: a fresh PaymentKit sandbox inside the test process.

The sandbox's own Starlette app (`payment_kit_sandbox.app.create_app`) on an in-memory SQLite
database, called through in-process transports (`_bridge`): no port, no server thread, no
background webhook worker. Webhook deliveries are made by the caller: every request through the
sandbox's transports (the SDK clients, the control methods, a `PaymentKit()` built from the
environment while the sandbox is the default) makes the deliveries it queued, into the
applications given to `forward_webhooks`, before it returns. A failed delivery's retry waits for
`retry_failed_deliveries()`, never for time to pass.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import os
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, ParamSpec, TypeVar

import httpx
from starlette.applications import Starlette

import payment_kit
import payment_kit_client.models as models
from payment_kit_sandbox.app import SandboxConfig, create_app
from payment_kit_sandbox.control import SandboxControl
from payment_kit_sandbox.document import load_document
from payment_kit_sandbox.engine import webhooks

from .._client import AsyncPaymentKit, PaymentKit
from .._transport import IN_PROCESS
from ..event_types import EventType
from ._bridge import AsyncAppTransport, AsyncASGITransport, SyncASGITransport, app_interface, run_coroutine

__all__ = ["DefaultSwitch", "Delivery", "Sandbox"]

P = ParamSpec("P")
T = TypeVar("T")

_numbers = itertools.count(1)

_DEFERRED: contextvars.ContextVar[bool] = contextvars.ContextVar("payment_kit_deliveries_deferred", default=False)
"""True where a request's deliveries are left to someone else: inside a delivery (the application's
handler calling the API: the flush under way makes them next) and inside `Sandbox.arun`."""

SWITCHED_ENV = ("PAYMENT_KIT_BASE_URL", "PAYMENT_KIT_API_KEY", "PAYMENT_LIVEMODE")


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery attempt into a forwarded application, and how it answered."""

    event_id: str
    event_type: str
    endpoint_id: str
    url: str
    status_code: int
    """The application's HTTP status; 0 when there was no answer (see `response`)."""
    response: Any
    """What the sandbox kept of the answer (a JSON object, or text), or why there was none."""
    error: str | None
    """The exception the application's handler raised (its traceback is logged on `payment_kit.testing`)."""
    retry: int
    """0 for the first attempt, 1 for the first retry, …"""
    event: dict[str, Any]
    """The event as delivered (the JSON body, before signing)."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


class DefaultSwitch:
    """What `Sandbox.use_as_default()` changed: the default `payment` client and the environment
    (`PAYMENT_KIT_BASE_URL`, `PAYMENT_KIT_API_KEY`, `PAYMENT_LIVEMODE`). `restore()` puts them
    back, as does the end of a `with` block or the sandbox's `close()`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._default = payment_kit.payment
        self._before = self._default._snapshot()
        self._environ = {name: os.environ.get(name) for name in SWITCHED_ENV}
        os.environ["PAYMENT_KIT_BASE_URL"] = sandbox.base_url
        os.environ["PAYMENT_KIT_API_KEY"] = sandbox.api_key
        os.environ["PAYMENT_LIVEMODE"] = "true" if sandbox.livemode else "false"
        self._default.configure(
            base_url=sandbox.base_url,
            api_key=sandbox.api_key,
            auth=None,
            livemode=sandbox.livemode,
            http_client=sandbox._http_client,
        )
        self.active = True

    def restore(self) -> None:
        if not self.active:
            return
        self.active = False
        for name, value in self._environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._default._reset(self._before)
        self._sandbox._switches.remove(self)

    def __enter__(self) -> Sandbox:
        return self._sandbox

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.restore()


class Sandbox(SandboxControl):
    """A fresh PaymentKit sandbox in this process, for an application's own tests.

        with Sandbox() as sandbox:
            endpoint = sandbox.forward_webhooks(app, path="/webhooks")   # ASGI or WSGI
            session = sandbox.client.checkout.sessions.create(...)
            sandbox.complete_checkout(session.id, customer_did="z1buyer")  # its webhooks are delivered
            assert sandbox.deliveries[-1].ok

    Args:
        livemode: the mode of `client`, `async_client`, the control methods and `use_as_default`
            (default False: test mode).
        api_key: the key the sandbox takes (default: a new random one).

    Every `SandboxControl` method is a method of the sandbox (`complete_checkout`,
    `advance_clock`, `create_test_clock`, `advance_test_clock`, `events`, `resend_event`,
    `pay_invoice`, `create_invoice`, `fail_payments`, …). A call that queues webhook deliveries
    (through any client of the sandbox) makes them before it returns; `flush_webhooks()` makes any
    still due.
    """

    def __init__(self, *, livemode: bool = False, api_key: str | None = None) -> None:
        number = next(_numbers)
        self.base_url = f"http://sandbox-{number}.localhost"
        self.api_key = api_key or f"sk_test_{secrets.token_hex(12)}"
        self.deliveries: list[Delivery] = []
        """Every delivery attempt the sandbox made, oldest first: into forwarded applications, and
        the ones that could not be made (a URL no application is forwarded at: status 0)."""
        self._switches: list[DefaultSwitch] = []
        self._app = self._new_app()
        self._apps = AsyncAppTransport()
        self._deliverer = httpx.AsyncClient(transport=self._apps)
        self.transport = SyncASGITransport(self._asgi, after=self._deliver_after_call)
        """A sync httpx transport into the sandbox: `httpx.Client(transport=sandbox.transport)`."""
        self.async_transport = AsyncASGITransport(self._asgi, after=self._adeliver_after_call)
        IN_PROCESS[self.base_url] = (self.transport, self.async_transport)
        super().__init__(self.base_url, self.api_key, livemode=livemode, transport=self.transport)
        self._http_client = httpx.Client(transport=self.transport)
        self._async_http_client = httpx.AsyncClient(transport=self.async_transport)
        self.client = PaymentKit(
            base_url=self.base_url, api_key=self.api_key, livemode=livemode, http_client=self._http_client
        )
        """A `PaymentKit` bound to this sandbox."""
        self.async_client = AsyncPaymentKit(
            base_url=self.base_url, api_key=self.api_key, livemode=livemode, http_client=self._async_http_client
        )
        """An `AsyncPaymentKit` bound to this sandbox."""
        self.closed = False

    def _new_app(self) -> Starlette:
        # The document (read and compiled once a process: load_document is cached) is the slow part.
        config = SandboxConfig(db=":memory:", api_key=self.api_key, document=load_document(), webhook_worker=False)
        return create_app(config)

    async def _asgi(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        # One entry for the transports, whatever app `reset` put behind it.
        await self._app(scope, receive, send)

    # -- webhooks into the application -------------------------------------------------------

    def forward_webhooks(
        self,
        app: Any,
        path: str = "/webhooks",
        *,
        enabled_events: Sequence[EventType | Literal["*"]] = ("*",),
        interface: Literal["asgi", "wsgi"] | None = None,
    ) -> models.WebhookEndpoint:
        """Deliver this sandbox's events into `app` (ASGI: Starlette, FastAPI; WSGI: Flask, Django)
        as signed Standard Webhooks POSTs to `path`, and answer the new webhook endpoint: give its
        `secret` to the app, which verifies each delivery with `payment_kit.webhooks.construct_event`
        as in production. `interface` says which kind `app` is when it cannot be told."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', not {path!r}")
        kind = interface or app_interface(app)
        host = f"app-{next(_numbers)}.localhost"
        self._apps.add(host, app, kind)
        return self.client.webhook_endpoints.create(
            url=f"http://{host}{path}",
            enabled_events=list(enabled_events),
            description=f"payment_kit.testing: forwarded to {type(app).__name__} at {path}",
        )

    def flush_webhooks(self) -> list[Delivery]:
        """Make every delivery that is due now, and answer them. Calls through the sandbox make
        their own deliveries before they return, so this is needed only after deliveries were
        left (work done with `_DEFERRED` set). From async code, use `aflush_webhooks`."""
        return run_coroutine(self.aflush_webhooks)

    async def aflush_webhooks(self) -> list[Delivery]:
        """`flush_webhooks`, in the running event loop (an ASGI application is called in it)."""
        token = _DEFERRED.set(True)
        try:
            made = await webhooks.deliver_due(self._app.state.store, self._deliverer)
        finally:
            _DEFERRED.reset(token)
        fresh = [self._recorded(*one) for one in made]
        self.deliveries.extend(fresh)
        return fresh

    def retry_failed_deliveries(self) -> list[Delivery]:
        """Try again, now, every delivery whose last attempt failed (one that has used up its
        retries included), and answer the attempts made."""
        store = self._app.state.store
        with store.transaction():
            store.retry_deliveries(time.time())
        return self.flush_webhooks()

    async def aretry_failed_deliveries(self) -> list[Delivery]:
        """`retry_failed_deliveries`, in the running event loop."""
        store = self._app.state.store
        with store.transaction():
            store.retry_deliveries(time.time())
        return await self.aflush_webhooks()

    def _recorded(
        self, row: dict[str, Any], endpoint: dict[str, Any], event: dict[str, Any], outcome: webhooks.Outcome
    ) -> Delivery:
        errors = self._apps.errors.pop((event["id"], endpoint["url"]), [])
        return Delivery(
            event_id=event["id"],
            event_type=event["type"],
            endpoint_id=endpoint["id"],
            url=endpoint["url"],
            status_code=outcome.status,
            response=outcome.body,
            error="; ".join(errors) or None,
            retry=int(row["attempts"]),
            event=event,
        )

    def _deliver_after_call(self) -> None:
        if not _DEFERRED.get():
            self.flush_webhooks()

    async def _adeliver_after_call(self) -> None:
        if not _DEFERRED.get():
            await self.aflush_webhooks()

    async def arun(self, operation: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a sync method of the sandbox (`complete_checkout`, `advance_clock`, …) from async
        code: in a worker thread, and its deliveries then here, on the running loop, so an ASGI
        application receives them on its own loop. ``await sandbox.arun(sandbox.advance_clock, days=31)``"""
        token = _DEFERRED.set(True)
        try:
            result = await asyncio.to_thread(operation, *args, **kwargs)
        finally:
            _DEFERRED.reset(token)
        await self.aflush_webhooks()
        return result

    # -- the default client ------------------------------------------------------------------

    def use_as_default(self) -> DefaultSwitch:
        """Point the default `payment` client, and any `PaymentKit()` / `AsyncPaymentKit()` built from
        the environment meanwhile, at this sandbox (in its mode): `PAYMENT_KIT_BASE_URL`,
        `PAYMENT_KIT_API_KEY` and `PAYMENT_LIVEMODE` are set to it. Undone by the answer's
        `restore()`, at the end of ``with sandbox.use_as_default():``, or when the sandbox closes."""
        switch = DefaultSwitch(self)
        self._switches.append(switch)
        return switch

    # -- life --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Start afresh, as a new sandbox would: an empty database (objects, events, the clock,
        webhook endpoints, so forward the applications again) and no deliveries. The clients,
        the key, the base URL and `use_as_default` stay: for one sandbox shared by many tests."""
        old, self._app = self._app, self._new_app()
        old.state.store.close()
        self._apps.clear()
        self.deliveries.clear()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for switch in reversed(self._switches):
            switch.restore()
        if IN_PROCESS.get(self.base_url) == (self.transport, self.async_transport):
            del IN_PROCESS[self.base_url]
        self.transport.closed = self.async_transport.closed = True
        self.client.close()
        self._http_client.close()
        super().close()

        async def close_async_clients() -> None:
            await self.async_client.close()
            await self._async_http_client.aclose()
            await self._deliverer.aclose()

        run_coroutine(close_async_clients)
        self._app.state.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "live" if self.livemode else "test"
        state = "closed" if self.closed else f"{len(self.deliveries)} deliveries"
        return f"Sandbox({self.base_url}, mode={mode}, {state})"
