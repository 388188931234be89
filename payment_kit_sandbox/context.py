"""What a handler gets for one request: validated inputs, the mode, the
store, the sandbox's clock, and the wiring `create_app` chose (the document,
the clock's steps, the engine's hooks).

Nothing here is filled at import time: `handles` and `sandbox_route` only mark
a function, and `create_app` collects the marked functions of the modules it
names (see `app.wire`)."""

from __future__ import annotations

import copy
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .database import Store
from .document import Document, OperationDoc
from .query_forms import QueryList
from .refusals import bad_request, not_found

__all__ = [
    "CLOCK_OFFSET",
    "Context",
    "Handler",
    "Hook",
    "Step",
    "Wiring",
    "handles",
    "iso",
    "new_id",
    "sandbox_route",
    "stored_clock_offset",
]

_ALPHABET = string.ascii_letters + string.digits

Handler = Callable[["Context"], Any]
Step = Callable[["Context"], dict[str, Any]]
"""A time-driven step: `step(ctx) -> {summary}`, run after every clock advance."""
Hook = Callable[["Context", dict[str, Any]], None]
"""One engine area's reaction to another's event, e.g. `hook(ctx, invoice)` once an invoice is paid."""


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    """Mark the function answering one operationId of the document (`app.wire` collects it)."""

    def mark(fn: Handler) -> Handler:
        fn.operation_id = operation_id  # type: ignore[attr-defined]
        return fn

    return mark


def sandbox_route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Mark a sandbox-only route under `/sandbox/` (`app.wire` collects it; see `sandbox_routes`)."""

    def mark(fn: Handler) -> Handler:
        fn.sandbox_route = (method, path)  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True)
class Wiring:
    """What `create_app` decides once and every request shares."""

    document: Document
    clock_steps: tuple[Step, ...] = ()
    """Run in this order after every clock advance (the order is chosen in `app.wire`)."""
    on_invoice_paid: tuple[Hook, ...] = ()
    """Called by `engine.billing.pay_invoice` once an invoice is paid."""
    on_refund: tuple[Hook, ...] = ()
    """Called by `engine.refunds.refund_payment` with each new refund (it may note what else it undid)."""
    on_subscription_started: tuple[Hook, ...] = ()
    """Called by `engine.subscriptions.start_subscription` with each new subscription."""
    on_credit_consumed: tuple[Hook, ...] = ()
    """Called by `engine.credits.record_event` once a new meter event has drawn on the customer's credit."""


_ID_SPACE = len(_ALPHABET) ** 24


def new_id(prefix: str) -> str:
    """An id in PaymentKit's style: `<prefix>_` and 24 random base62 characters."""
    # One draw for the whole id (a meter event makes several ids; a draw per character cost 30 µs).
    number, characters = secrets.randbelow(_ID_SPACE), []
    for _ in range(24):
        number, digit = divmod(number, 62)
        characters.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(characters)


CLOCK_OFFSET = "clock_offset"  # the sandbox_meta key: seconds the sandbox clock runs ahead of real time


def stored_clock_offset(store: Store) -> int:
    """The test clock's advance as stored, for work outside a request (a `Context` keeps its own)."""
    return int(store.get_meta(CLOCK_OFFSET) or 0)


def iso(unix: float) -> str:
    """ISO-8601 with milliseconds and `Z`, as PaymentKit serialises `created_at`."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(unix * 1000) % 1000:03d}Z"


@dataclass
class Context:
    op: OperationDoc | None  # None for the sandbox-only helper routes
    store: Store
    livemode: bool
    wiring: Wiring
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    base_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries_queued: bool = False
    """The request queued webhook deliveries: its delivery worker is woken once it commits."""
    _clock_offset: int | None = field(default=None, init=False, repr=False)

    def afresh(self) -> Context:
        """This request's context as it was before a handler ran: for retrying the request in a new
        transaction (handlers may add events, and in principle touch the parsed body)."""
        return replace(
            self, query=copy.deepcopy(self.query), body=copy.deepcopy(self.body), events=[], deliveries_queued=False
        )

    @property
    def document(self) -> Document:
        return self.wiring.document

    # -- time --------------------------------------------------------------------------------

    def now(self) -> int:
        """Unix seconds on the sandbox clock (real time plus the test clock's advance)."""
        return int(time.time()) + self.clock_offset()

    def now_iso(self) -> str:
        return iso(time.time() + self.clock_offset())

    def clock_offset(self) -> int:
        """Seconds the test clock runs ahead of real time. Read once a request: the request is one
        transaction, so no other worker's advance can show up in the middle of it anyway."""
        if self._clock_offset is None:
            self._clock_offset = stored_clock_offset(self.store)
        return self._clock_offset

    def read_meta_with_clock(self, key: str) -> str | None:
        """A sandbox_meta value (an idempotency record), read in the same statement as the clock
        offset this request will need."""
        if self._clock_offset is not None:
            return self.store.get_meta(key)
        found = self.store.get_metas((key, CLOCK_OFFSET))
        self._clock_offset = int(found.get(CLOCK_OFFSET) or 0)
        return found.get(key)

    def set_clock_offset(self, seconds: int) -> None:
        self.store.set_meta(CLOCK_OFFSET, str(seconds))
        self._clock_offset = seconds

    # -- objects -----------------------------------------------------------------------------

    def get(self, kind: str, object_id: str, label: str | None = None) -> dict[str, Any]:
        """An object of this mode by id, or a 404 naming it."""
        obj = self.store.get(kind, object_id, self.livemode)
        if obj is None:
            raise not_found(label or kind.replace("_", " ").capitalize(), object_id)
        return obj

    def stamp(self, obj: dict[str, Any], prefix: str) -> dict[str, Any]:
        """Give a new object its id, mode and timestamps."""
        now = self.now_iso()
        return {**obj, "id": new_id(prefix), "livemode": self.livemode, "created_at": now, "updated_at": now}

    def touch(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj["updated_at"] = self.now_iso()
        return obj

    def emit(self, event_type: str, kind: str, obj: dict[str, Any]) -> None:
        """Record an event of this request: `engine.events.record` stores it, and queues its deliveries,
        in the request's own transaction."""
        self.events.append({"type": event_type, "object_type": kind, "object": obj})

    def param(self, name: str, default: Any = None, *, accepts_list: bool = False) -> Any:
        """A query parameter as read. A list sent qs-style (`status[0]=a`) reaches only a reader that
        takes a comma list (`accepts_list`); any other reader answers a 400 rather than filter by `a,b`."""
        value = self.query.get(name, default)
        if isinstance(value, QueryList) and not accepts_list:
            raise bad_request(f"query parameter {name!r} takes one value, not a list ({name}[0]=...)")
        return value
