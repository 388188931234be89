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
    "TEST_CLOCK",
    "TEST_CLOCK_HEADER",
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
TEST_CLOCK = "test_clock"  # the kind of a test clock (stored in test mode, serving both modes like the clock)
TEST_CLOCKS_MADE = "test_clocks_made"  # sandbox_meta: how many test clocks were ever made (absent: none)
MEMBER = "test_clock_member:"  # sandbox_meta key prefix: an object's id (a customer's DID too) -> its clock
TEST_CLOCK_HEADER = "x-sandbox-test-clock"
# The id prefixes of what the whole account shares, as in Stripe: the catalog (products, prices,
# coupons, promotion codes, payment links, meters, currencies, payment methods), webhook endpoints,
# settings, and events (found by the object they name). Made on a clock they still belong to none,
# so another pipeline using a price made on a clock does not join that clock.
OFF_CLOCK = frozenset({"prod", "price", "co", "promo", "plink", "mtr", "pc", "pm", "we", "setting", "evt"})
DID_PREFIX = "did:abt:"
_CANDIDATES = 64  # the most strings of one request looked up as objects that may be on a clock
_UNRESOLVED: Any = object()


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
    # The request's clock as read: `dataclasses.replace` carries it (a clock step's context for the
    # other mode works on the same clock); `afresh` reads it again.
    _clock_offset: int | None = field(default=None, repr=False)
    _clocks_made: int | None = field(default=None, repr=False)
    _test_clock: Any = field(default=_UNRESOLVED, repr=False)

    def afresh(self) -> Context:
        """This request's context as it was before a handler ran: for retrying the request in a new
        transaction (handlers may add events, and in principle touch the parsed body)."""
        return replace(
            self,
            query=copy.deepcopy(self.query),
            body=copy.deepcopy(self.body),
            events=[],
            deliveries_queued=False,
            _clock_offset=None,  # another worker may have moved a clock since the lost attempt
            _clocks_made=None,
            _test_clock=_UNRESOLVED,
        )

    @property
    def document(self) -> Document:
        return self.wiring.document

    # -- time --------------------------------------------------------------------------------
    #
    # A request's time is its test clock's `frozen_time` when it works on one (named by the
    # X-Sandbox-Test-Clock header, or the clock of an object it names), else real time plus the
    # sandbox-wide clock's advance. Objects a request makes on a clock belong to it: their ids (and
    # a customer's DID) map to the clock in sandbox_meta, so later requests naming them, and the
    # clock's advance, find it. No clock ever made: none of this costs a statement.

    def now(self) -> int:
        """Unix seconds on this request's clock: its test clock's, else real time plus the sandbox clock's advance."""
        clock = self.test_clock()
        if clock is not None:
            return int(clock["frozen_time"])
        return int(time.time()) + self.clock_offset()

    def now_iso(self) -> str:
        clock = self.test_clock()
        if clock is not None:
            return iso(int(clock["frozen_time"]))
        return iso(time.time() + self.clock_offset())

    def clock_offset(self) -> int:
        """Seconds the sandbox clock runs ahead of real time. Read once a request: the request is one
        transaction, so no other worker's advance can show up in the middle of it anyway."""
        if self._clock_offset is None:
            self._read_clock_metas(())
        assert self._clock_offset is not None
        return self._clock_offset

    def read_meta_with_clock(self, key: str) -> str | None:
        """A sandbox_meta value (an idempotency record), read in the same statement as the clock
        state this request will need."""
        if self._clock_offset is not None:
            return self.store.get_meta(key)
        return self._read_clock_metas((key,)).get(key)

    def _read_clock_metas(self, keys: tuple[str, ...]) -> dict[str, str]:
        found = self.store.get_metas((*keys, CLOCK_OFFSET, TEST_CLOCKS_MADE))
        self._clock_offset = int(found.get(CLOCK_OFFSET) or 0)
        self._clocks_made = int(found.get(TEST_CLOCKS_MADE) or 0)
        return found

    def set_clock_offset(self, seconds: int) -> None:
        self.store.set_meta(CLOCK_OFFSET, str(seconds))
        self._clock_offset = seconds

    def clocks_made(self) -> int:
        if self._clocks_made is None:
            self._read_clock_metas(())
        assert self._clocks_made is not None
        return self._clocks_made

    def test_clock(self) -> dict[str, Any] | None:
        """The test clock this request works on: the one its X-Sandbox-Test-Clock header names, else
        the one the objects it names belong to; None for real time (and the sandbox clock)."""
        if self._test_clock is _UNRESOLVED:
            self._test_clock = None  # while resolving, the request's time is the sandbox clock's
            self._test_clock = self._resolve_test_clock()
        clock: dict[str, Any] | None = self._test_clock
        return clock

    def use_test_clock(self, clock: dict[str, Any] | None) -> None:
        """Work on `clock` (None: on no test clock) whatever the request names: a clock's own routes."""
        self._test_clock = clock

    def _resolve_test_clock(self) -> dict[str, Any] | None:
        named = self.headers.get(TEST_CLOCK_HEADER)
        if named is None and not self.clocks_made():
            return None
        owners = set(self.store.get_metas([MEMBER + value for value in self._named_strings()]).values())
        if named is not None:
            if owners - {named}:
                raise bad_request(
                    f"{TEST_CLOCK_HEADER}: this request names objects on test clock {min(owners - {named})}, "
                    f"not on {named}; an object moves only with its own clock"
                )
            return self._live_clock(named, f"{TEST_CLOCK_HEADER}: no test clock {named!r}")
        if len(owners) > 1:
            raise bad_request(f"this request names objects on different test clocks ({', '.join(sorted(owners))})")
        if not owners:
            return None
        [owner] = owners
        return self._live_clock(
            owner, f"this request names objects of test clock {owner}, which was deleted: they no longer move"
        )

    def _live_clock(self, clock_id: str, refusal: str) -> dict[str, Any]:
        clock = self.store.get(TEST_CLOCK, clock_id, False)
        if clock is None:
            raise bad_request(refusal)
        return clock

    def _named_strings(self) -> list[str]:
        """The strings of the request that may be ids of objects on a clock (or a customer's DID):
        path and query values, and the body's strings two levels deep (`payload.customer_id`)."""
        found: list[str] = []

        def take(value: Any, depth: int) -> None:
            if len(found) >= _CANDIDATES:
                return
            if isinstance(value, str):
                if 0 < len(value) <= 200 and "\x00" not in value:  # no id holds NUL (PostgreSQL's text cannot)
                    found.append(value)
                    if value.startswith(DID_PREFIX):  # a customer's DID is stored without it
                        found.append(value[len(DID_PREFIX) :])
            elif isinstance(value, dict) and depth:
                for key, inner in value.items():
                    if key != "metadata":
                        take(inner, depth - 1)
            elif isinstance(value, list) and depth:
                for inner in value[:_CANDIDATES]:
                    take(inner, depth - 1)

        for value in (*self.path.values(), *self.query.values()):
            take(value, 1)
        take(self.body, 3)
        return found

    def on_this_clock(self, objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Those of `objs` that move with this request's time: the objects of its test clock, or, on
        no test clock, the objects of no clock (the sandbox clock's)."""
        if not objs or not self.clocks_made():
            return objs
        clock = self.test_clock()
        mine = clock["id"] if clock is not None else None
        owners: dict[str, str] = {}
        ids = [MEMBER + obj["id"] for obj in objs]
        for start in range(0, len(ids), 500):
            owners.update(self.store.get_metas(ids[start : start + 500]))
        return [obj for obj in objs if owners.get(MEMBER + obj["id"]) == mine]

    def _join_test_clock(self, obj: dict[str, Any]) -> None:
        clock = self.test_clock()
        if clock is None:
            return
        customer_id = obj.get("customer_id")
        if isinstance(customer_id, str) and customer_id and "\x00" not in customer_id:
            # A customer's objects follow its clock: one made on no clock (or another) gets nothing on this one.
            owner = self.store.get_metas((MEMBER + customer_id,)).get(MEMBER + customer_id)
            if owner != clock["id"]:
                where = f"on test clock {owner}" if owner else "on no test clock"
                raise bad_request(
                    f"customer {customer_id} is {where}, not on {clock['id']}: a customer joins a clock when it "
                    "is made, and what is made for it follows that clock"
                )
        self.store.add_meta(MEMBER + obj["id"], clock["id"])  # a new id: no other row can hold it
        if isinstance(obj.get("did"), str) and obj["did"] and "\x00" not in obj["did"]:
            # A DID may have a customer in the other mode too (the same person's), on this clock or not.
            self.store.set_meta(MEMBER + obj["did"], clock["id"])

    # -- objects -----------------------------------------------------------------------------

    def get(self, kind: str, object_id: str, label: str | None = None) -> dict[str, Any]:
        """An object of this mode by id, or a 404 naming it."""
        obj = self.store.get(kind, object_id, self.livemode)
        if obj is None:
            raise not_found(label or kind.replace("_", " ").capitalize(), object_id)
        return obj

    def stamp(self, obj: dict[str, Any], prefix: str) -> dict[str, Any]:
        """Give a new object its id, mode and timestamps; made on a test clock, a customer's object
        belongs to that clock (the account's own objects, `OFF_CLOCK`, never do)."""
        now = self.now_iso()
        stamped = {**obj, "id": new_id(prefix), "livemode": self.livemode, "created_at": now, "updated_at": now}
        if prefix not in OFF_CLOCK:
            self._join_test_clock(stamped)
        return stamped

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
