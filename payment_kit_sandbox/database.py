"""Storage (SQLAlchemy 2 Core): one table of JSON documents, in a SQLite file (WAL) or on
PostgreSQL (a shared team sandbox, several worker processes).

Every PaymentKit object is a row: its id, kind (`customer`, `price`, …),
livemode, and the object itself as JSON text. Equality lookups on top-level
fields run in SQL (`json_extract` on SQLite, `->>` on PostgreSQL), over
expression indexes for the fields looked up on every request, and `page`
orders and slices a list in SQL, so a list or a lookup never decodes every row
of a kind. Search and the rarer filters run over decoded objects. Each request
runs in one transaction (`run`), so a refused request leaves nothing half-written.

How the exact operations stay exact across processes (credit balances, idempotency
keys, meter-event identifiers, redemption limits, inventory, invoice numbers):

- SQLite: every transaction begins `IMMEDIATE`, taking the database's one write lock
  up front, so the transactions of all worker processes run one after another.
- PostgreSQL, most requests: SERIALIZABLE, retried (bounded) when PostgreSQL aborts one for a
  conflict. A request reads and writes many JSON documents chosen as it goes, and locking each
  read by hand across every engine module and handler would miss one sooner or later, while SSI
  proves the whole request serializable. The loser of a conflict retries against the winner's
  committed state; after a few lost conflicts it runs alone (`Store._turn`), so that a hot row
  cannot starve it. The cost: SSI's predicate locks are page-grained, so even requests touching
  different rows conflict now and then (about 1 meter event in 5 with 2 workers, before the hot
  path below).
- PostgreSQL, the meter-event hot path (handlers marked `read_committed`): READ COMMITTED under
  the customer's lock. What must stay exact there is one customer's credit, which no single row
  covers (which grants an event draws on depends on all of them), so the lock is a row of its own
  per customer (`customer_locks`; `Store.lock_customer` upserts it, raising its version), taken
  before the credit is read and held to commit. Requests for one customer take turns on it (they
  wait; none is aborted), and each then reads the committed result of the one before, as READ
  COMMITTED reads afresh at every statement. Requests for different customers share no row and
  never conflict. Around that:
  - Every write of a row of a customer's credit (`CREDIT_OWNER`: the customer, its grants, credit
    transactions, meter events, auto-recharge configs) takes the same lock, in any request. A
    SERIALIZABLE request whose snapshot predates a READ COMMITTED change of that credit then fails
    on the lock row's newer version (a serialization failure: retried with a fresh snapshot), and
    one that takes the lock first makes the READ COMMITTED ones wait. SSI alone would not see the
    READ COMMITTED writes: it tracks only serializable transactions. The customer's invoice
    numbers are covered as well, as they are raised on the customer row.
  - What the hot path reads without a lock (the meter, the currency, the subscription's prices,
    the webhook endpoints) it only reads: the request then orders before a concurrent change of
    them, as a SERIALIZABLE one could.
  - As a net for a row written without its lock: under READ COMMITTED each row counts as first
    read, its UPDATE applies only if the row still holds the text read (`RowChanged` otherwise, a
    conflict, retried), and a row read again in another version is a conflict too. Lost updates
    are thus impossible even where a lock is missing.
  - The identifier, the idempotency key and object ids rest on unique indexes (below), which
    READ COMMITTED enforces as SERIALIZABLE does: a concurrent duplicate waits for the first and
    then fails its insert.
  - Such a request shares `Store._turn`'s advisory lock inside its transaction, so that a
    request running alone also waits for, and holds off, the hot path.
  `Store.retries` counts the attempts repeated after a conflict, and each process keeps its total
  in a `sandbox_meta` row (`recorded_retries` sums them): `make bench` reports
  `sandbox_postgresql_retry_rate` from them.
- Unique indexes back the identities that must never repeat even if a code path forgot
  to look first: the meter-event `identifier` (per mode) and the idempotency key (the
  primary key of its `sandbox_meta` row). A concurrent duplicate then fails its insert,
  the request is retried, and the retry finds the first one and answers as a replay.
- The webhook queue is claimed with `FOR UPDATE SKIP LOCKED` at READ COMMITTED (the
  queue pattern: each worker takes rows no other holds; no conflicts to retry), one delivery
  per endpoint at a time across workers (a leased row marks its endpoint busy). Its rows are
  written in the transaction of the request whose events they deliver (a transactional outbox).
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import StaticPool

__all__ = [
    "SCHEMA_VERSION",
    "Bound",
    "Condition",
    "DatabaseUnavailable",
    "DriverMissing",
    "NoneOf",
    "OneOf",
    "SchemaMismatch",
    "Store",
    "StoreBusy",
    "describe_url",
    "field_value",
    "read_committed",
]

T = TypeVar("T")
H = TypeVar("H", bound=Callable[..., Any])

SCHEMA_VERSION = 5
"""1: the SQLite layout before versions were recorded (no version row); 2: the version row and
the unique meter-event identifier index; 3: the expression indexes of the list filters (created
on an older database as it opens); 4: on SQLite, `object_counts` and the triggers that keep it;
5: the `customer_locks` table (created by `create_all` as an older database opens). Raise it with
every change to the tables or indexes, and teach `_upgrade` the step from the one before."""

metadata = sa.MetaData()
objects = sa.Table(
    "objects",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String, nullable=False, unique=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("livemode", sa.Boolean, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("objects_kind_mode", "kind", "livemode"),
)


class field(sa.sql.functions.FunctionElement[Any]):
    """A top-level field of the stored JSON, as SQL compares and indexes it: `json_extract` on
    SQLite (typed: NULL, number or text), `->>` on PostgreSQL (text). The path is inlined, not
    bound, so that either database matches it to the expression indexes below."""

    name = "json_field"
    inherit_cache = True

    def __init__(self, name: str, data: sa.ColumnElement[Any] | None = None) -> None:
        """`data`: the JSON column of another alias of `objects` (a subquery's)."""
        if not _PLAIN_FIELD.match(name):
            raise ValueError(f"not a plain field name: {name!r}")
        self.field_name = name
        self.data = objects.c.data if data is None else data
        # The name is also an argument, so that it is part of SQLAlchemy's statement cache key.
        super().__init__(self.data, sa.literal_column(f"'{name}'"))


@compiles(field, "sqlite")
def _field_sqlite(element: field, compiler: Any, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.data, **kw)}, '$.{element.field_name}')"


@compiles(field, "postgresql")
def _field_postgresql(element: field, compiler: Any, **kw: Any) -> str:
    # `json`, not `jsonb`: it parses lazily, and the text is stored as written.
    data = compiler.process(element.data, **kw)
    if "." in element.field_name:
        return f"(CAST({data} AS json) #>> '{{{element.field_name.replace('.', ',')}}}')"
    return f"(CAST({data} AS json) ->> '{element.field_name}')"


# A top-level field, or one inside a top-level object (`payload.customer_id`).
_PLAIN_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def field_value(obj: dict[str, Any], name: str) -> Any:
    """What `field(name)` reads, in Python."""
    head, _, rest = name.partition(".")
    value = obj.get(head)
    if rest:
        value = value.get(rest) if isinstance(value, dict) else None
    return value


@dataclass(frozen=True)
class OneOf:
    """A field equal to any of `values` (plain strings)."""

    field: str
    values: tuple[str, ...]

    def test(self, obj: dict[str, Any]) -> bool:
        return field_value(obj, self.field) in self.values


@dataclass(frozen=True)
class Bound:
    """A field at or after `low` (inclusive) and before `high` (exclusive when `high_open`, else
    inclusive): both numbers, or both text compared by code point (ISO timestamps)."""

    field: str
    low: int | str | None = None
    high: int | str | None = None
    high_open: bool = False

    def test(self, obj: dict[str, Any]) -> bool:
        value = field_value(obj, self.field)
        if value is None or isinstance(value, bool):
            return False
        kind = str if isinstance(self.low if self.low is not None else self.high, str) else (int, float)
        if not isinstance(value, kind):
            return False
        if self.low is not None and value < self.low:
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


@dataclass(frozen=True)
class NoneOf:
    """A field absent, null, or equal to none of `values` (plain strings)."""

    field: str
    values: tuple[str, ...]

    def test(self, obj: dict[str, Any]) -> bool:
        return field_value(obj, self.field) not in self.values


Condition = OneOf | NoneOf | Bound

# The fields requests look up or order by on every call: without these, a lookup by
# customer, DID or meter-event identifier scans every row of the kind.
INDEXED_FIELDS = (
    "created_at",
    "customer_id",
    "did",
    "identifier",
    # The filters clients put on the long lists (issue 27): a meter event's customer and event name,
    # a status, a subscription, a currency.
    "payload.customer_id",
    "event_name",
    "status",
    "subscription_id",
    "currency_id",
    # What an invoice list leaves out by default (stake and return-stake invoices).
    "billing_reason",
)
field_indexes = [
    sa.Index(f"objects_kind_mode_{name.replace('.', '_')}", objects.c.kind, objects.c.livemode, field(name))
    for name in INDEXED_FIELDS
]
# A meter event's identifier is the caller's idempotency key: a unique index, so that two
# workers recording the same identifier at once cannot both insert (the second fails, is
# retried, and finds the first). NULLs (no identifier) never collide.
unique_indexes = [
    sa.Index(
        "objects_meter_event_identifier",
        objects.c.livemode,
        field("identifier"),
        unique=True,
        sqlite_where=objects.c.kind == "meter_event",
        postgresql_where=objects.c.kind == "meter_event",
    )
]

# SQLite only: how many objects of each kind and mode there are, kept exact by triggers in the
# writing transaction, so that an unfiltered list's count is one row, not a walk of 100,000 index
# entries. SQLite runs one writer at a time, so the counter row costs nothing; on PostgreSQL it
# would be a row every insert of a kind writes, and concurrent requests would conflict on it.
count_metadata = sa.MetaData()
object_counts = sa.Table(
    "object_counts",
    count_metadata,
    sa.Column("kind", sa.String, primary_key=True),
    sa.Column("livemode", sa.Boolean, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)
COUNT_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS objects_counted_insert AFTER INSERT ON objects BEGIN
    INSERT INTO object_counts (kind, livemode, n) VALUES (NEW.kind, NEW.livemode, 1)
    ON CONFLICT (kind, livemode) DO UPDATE SET n = n + 1;
END""",
    """CREATE TRIGGER IF NOT EXISTS objects_counted_delete AFTER DELETE ON objects BEGIN
    UPDATE object_counts SET n = n - 1 WHERE kind = OLD.kind AND livemode = OLD.livemode;
END""",
    # The sandbox never moves an object to another kind or mode; should anything, the counts follow.
    """CREATE TRIGGER IF NOT EXISTS objects_counted_move AFTER UPDATE OF kind, livemode ON objects BEGIN
    UPDATE object_counts SET n = n - 1 WHERE kind = OLD.kind AND livemode = OLD.livemode;
    INSERT INTO object_counts (kind, livemode, n) VALUES (NEW.kind, NEW.livemode, 1)
    ON CONFLICT (kind, livemode) DO UPDATE SET n = n + 1;
END""",
)

meta = sa.Table(
    "sandbox_meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# A row per customer whose credit a request changed, on PostgreSQL: the requests that change one
# customer's credit take turns on it, and its `version` tells a SERIALIZABLE request that a READ
# COMMITTED one changed that credit after its snapshot (see the module docstring and `lock_customer`).
customer_locks = sa.Table(
    "customer_locks",
    metadata,
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
# Where each kind that is part of a customer's credit names its customer (`field_value` paths):
# writing one takes that customer's lock.
CREDIT_OWNER = {
    "customer": "id",
    "credit_grant": "customer_id",
    "credit_transaction": "customer_id",
    "auto_recharge_config": "customer_id",
    "meter_event": "payload.customer_id",
}

# The statements every request runs, built once: building a statement costs SQLAlchemy more than
# SQLite takes to run it (coercions, then its cache key), so the hot path binds values into these.
_GET = sa.select(objects.c.data).where(
    objects.c.id == sa.bindparam("object_id"),
    objects.c.kind == sa.bindparam("object_kind"),
    objects.c.livemode == sa.bindparam("object_livemode"),
)
_INSERT = objects.insert()
_UPDATE = (
    objects.update()
    .where(objects.c.id == sa.bindparam("object_id"), objects.c.kind == sa.bindparam("object_kind"))
    .values(data=sa.bindparam("object_data"))
)
# One per number of keys: an expanding IN is compiled again on every execution.
_GET_METAS = [
    sa.select(meta.c.key, meta.c.value).where(meta.c.key.in_([sa.bindparam(f"key{n}") for n in range(count)]))
    for count in range(4)
]
_ADD_META = meta.insert()
_UPDATE_UNCHANGED = (
    objects.update()
    .where(
        objects.c.id == sa.bindparam("object_id"),
        objects.c.kind == sa.bindparam("object_kind"),
        objects.c.data == sa.bindparam("object_was"),
    )
    .values(data=sa.bindparam("object_data"))
)
_LOCK_CUSTOMER = (
    pg_insert(customer_locks)
    .values(customer_id=sa.bindparam("customer_id"), version=1)
    .on_conflict_do_update(
        index_elements=[customer_locks.c.customer_id], set_={"version": customer_locks.c.version + 1}
    )
)
_TALLY = pg_insert(meta).values(key=sa.bindparam("key"), value=sa.bindparam("value"))
_TALLY = _TALLY.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": _TALLY.excluded.value})
RETRY_TALLY = "store_retries:"  # sandbox_meta keys: each process's count of retried requests (PostgreSQL)

# The webhook queue: one row per (event, endpoint) delivery, so that a delivery survives a
# restart. `next_at` and `lease_until` are wall-clock Unix seconds (never the sandbox clock:
# retries wait real time). A row is `pending` until it is `delivered` or has `failed` for good;
# `lease_until` keeps two workers from trying it at once.
deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("event_id", sa.String, nullable=False),
    sa.Column("endpoint_id", sa.String, nullable=False),
    sa.Column("livemode", sa.Boolean, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_at", sa.Float, nullable=False),
    sa.Column("lease_until", sa.Float, nullable=False, default=0.0),
    sa.Index("webhook_deliveries_due", "state", "next_at"),
)

SCHEMA_KEY = "schema_version"
RETRIES = 30  # attempts of one request that PostgreSQL keeps aborting for conflicts
ALONE_AFTER = 3  # conflicts lost before a request's next attempt runs alone (see Store._turn)
TURN_LOCK = 7262012  # the advisory lock key of Store._turn (7262011: schema creation)
CONNECT_TIMEOUT = 5  # seconds: an unreachable database fails the start, not the first request


class SchemaMismatch(RuntimeError):
    """The database holds a schema this sandbox cannot use (newer, or not the sandbox's)."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message names host and port, never the password."""


class DriverMissing(RuntimeError):
    """A PostgreSQL URL was given, but psycopg (the `postgres` extra) is not installed."""


class StoreBusy(RuntimeError):
    """A request kept conflicting with concurrent ones past the retry bound."""


class RowChanged(RuntimeError):
    """A READ COMMITTED request found a row changed by another since it read it: a conflict, retried."""


def read_committed(handler: H) -> H:
    """Mark a request handler that takes the locks its exactness needs (`Store.lock_customer`), so that
    on PostgreSQL `run` gives it a READ COMMITTED transaction instead of a SERIALIZABLE one."""
    handler.read_committed = True  # type: ignore[attr-defined]
    return handler


def describe_url(url: str) -> str:
    """A database URL fit for messages and logs: the password replaced by ***."""
    if "://" not in url:
        return url
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:  # unparseable: show its scheme only, as it may hold a password
        return url.split("://", 1)[0] + "://…"


class Store:
    def __init__(self, path: str = ":memory:", *, exclusive: bool = True) -> None:
        """`path`: a SQLite file, `:memory:`, or a `postgresql://` URL. `exclusive`: this process
        is the only one using the database (a restart may then take over the webhook queue's
        leases at once; with sibling workers, leases only lapse)."""
        self.url = path
        self.postgres = path.startswith(("postgresql:", "postgres:", "postgresql+psycopg:"))
        if "://" in path and not self.postgres:
            raise ValueError(
                f"unsupported database URL {describe_url(path)!r}: give a SQLite file path, :memory:, "
                "or postgresql://user:password@host:port/database"
            )
        self.exclusive = exclusive and not self.postgres
        if self.postgres:
            try:
                import psycopg  # noqa: F401  (SQLAlchemy would only fail on first connect, with a traceback)
            except ImportError:
                raise DriverMissing(
                    f"{describe_url(path)} needs the PostgreSQL driver, psycopg 3: "
                    "pip install 'blocklet-payment-kit[postgres]'"
                ) from None
            url = sa.engine.make_url(path).set(drivername="postgresql+psycopg")
            self.engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT})
        elif path == ":memory:":
            self.engine = sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            self.engine = sa.create_engine(
                f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 60}
            )

            @sa.event.listens_for(self.engine, "connect")
            def _wal(dbapi_connection: Any, _: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                # A checkpoint every 10,000 WAL pages (40 MB) rather than SQLite's 1,000: the hot pages
                # (the indexes' ends, a drawn grant) are rewritten by every meter event and copied once
                # per checkpoint, and each checkpoint syncs the file. 1,000 cost about a third of an event.
                cursor.execute("PRAGMA wal_autocheckpoint=10000")
                cursor.close()

        if not self.postgres:
            # SQLAlchemy's recipe for SQLite transactions it controls: the driver opens none of its
            # own, and each one begins IMMEDIATE, holding the write lock from its first statement,
            # so worker processes sharing the file never interleave a read-modify-write.
            @sa.event.listens_for(self.engine, "connect")
            def _no_driver_transactions(dbapi_connection: Any, _: Any) -> None:
                dbapi_connection.isolation_level = None

            @sa.event.listens_for(self.engine, "begin")
            def _begin_immediate(conn: sa.Connection) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        self._conn: sa.Connection | None = None
        # The transaction's object writes, flushed in at most two statements (`_flush`); and the rows
        # it has read or written, by id, as stored text (`get` answers from them). See `_within`.
        self._inserts: dict[str, tuple[str, bool, str]] = {}
        self._updates: dict[str, tuple[str, str]] = {}
        self._known: dict[str, tuple[str, bool, str]] = {}
        self._finds: dict[tuple[str, bool, tuple[tuple[str, Any], ...]], list[str]] = {}
        self._remember_reads = False
        self._cache_finds = False
        # READ COMMITTED only: each row's stored text as this transaction first read it (or last wrote
        # it), so that a write of a row another request changed meanwhile is caught (`RowChanged`).
        self._seen: dict[str, str] | None = None
        self._locked: set[str] = set()  # the customers whose lock this transaction holds
        # In this process: the requests `run` was given, and the attempts it repeated after a conflict.
        self.requests = 0
        self.retries = 0
        self._tally_key = f"{RETRY_TALLY}{os.getpid()}-{random.getrandbits(32):08x}"
        self._lookup_statements: dict[tuple[Any, ...], sa.CompoundSelect | sa.Select[Any]] = {}
        self._lock = threading.RLock()
        self.closed = False
        try:
            self._prepare_schema()
        except BaseException:  # a refused database leaves no connection open behind it
            self.engine.dispose()
            raise

    def _prepare_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                if self.postgres:  # workers starting together: one creates, the others wait and find it
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7262011)")
                found = self._schema_version(conn)
                if found is not None and found > SCHEMA_VERSION:
                    raise SchemaMismatch(
                        f"the database {describe_url(self.url)} has sandbox schema version {found}, newer than this "
                        f"sandbox's {SCHEMA_VERSION}: upgrade blocklet-payment-kit, or use another database"
                    )
                if found != SCHEMA_VERSION:
                    self._upgrade(conn, found)
                    self._write_meta(conn, SCHEMA_KEY, str(SCHEMA_VERSION))
        except sa.exc.OperationalError as exc:
            if self.postgres and not self._reachable():
                url = sa.engine.make_url(self.url)
                raise DatabaseUnavailable(
                    f"cannot connect to the PostgreSQL database at {url.host or 'localhost'}:{url.port or 5432} "
                    f"(database {url.database!r}, user {url.username!r}): {_first_line(exc.orig)}"
                ) from None
            if not self.postgres and "unable to open database file" in str(exc.orig):
                raise DatabaseUnavailable(
                    f"cannot open the SQLite database {self.url!r}: is it a file in a directory that exists "
                    "and can be written?"
                ) from None
            raise

    def _upgrade(self, conn: sa.Connection, found: int | None) -> None:
        """Brings a database of schema version `found` (None: empty) to SCHEMA_VERSION, in the
        transaction that records the new version (on SQLite a write-locked one, so no writer runs
        between a step's reads and its triggers)."""
        metadata.create_all(conn)
        for index in field_indexes + unique_indexes:  # versions 2 and 3
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
        if not self.postgres and (found is None or found < 4):
            object_counts.create(conn, checkfirst=True)
            conn.execute(object_counts.delete())
            conn.execute(
                object_counts.insert().from_select(
                    ["kind", "livemode", "n"],
                    sa.select(objects.c.kind, objects.c.livemode, sa.func.count()).group_by(
                        objects.c.kind, objects.c.livemode
                    ),
                )
            )
            for trigger in COUNT_TRIGGERS:
                conn.exec_driver_sql(trigger)

    def _reachable(self) -> bool:
        try:
            with self.engine.connect():
                return True
        except sa.exc.OperationalError:
            return False

    def _schema_version(self, conn: sa.Connection) -> int | None:
        """The recorded version; 1 for the unversioned layout; None for an empty database."""
        inspector = sa.inspect(conn)
        tables = set(inspector.get_table_names())
        if "sandbox_meta" not in tables:
            if tables & {"objects", "webhook_deliveries"}:
                raise SchemaMismatch(
                    f"the database {describe_url(self.url)} has tables of its own but no sandbox_meta: it is not a "
                    "payment-kit sandbox database; give the sandbox an empty database"
                )
            return None
        raw = conn.execute(sa.select(meta.c.value).where(meta.c.key == SCHEMA_KEY)).scalar()
        if raw is None:
            return 1 if "objects" in tables else None
        if not str(raw).isdigit():
            raise SchemaMismatch(
                f"the database {describe_url(self.url)} records an unknown sandbox schema version {raw!r}; "
                "give the sandbox an empty database"
            )
        return int(raw)

    @contextmanager
    def transaction(
        self, *, serializable: bool = False, alone: bool = False, read_committed: bool = False
    ) -> Iterator[None]:
        """A unit of work: committed whole, or rolled back whole. `serializable`: PostgreSQL runs
        it SERIALIZABLE (it may then raise a conflict: run it through `run`, which retries), and
        `alone` runs it while no other request of any worker runs. `read_committed` (with
        `serializable`): the work locks what it needs itself (`lock_customer`), so PostgreSQL runs it
        READ COMMITTED, unless `alone`."""
        with self._lock:
            if self.closed:  # a late webhook retry must not reopen a connection nobody will close
                raise RuntimeError("the store is closed")
            with self.engine.connect() as conn:
                if serializable and read_committed and self.postgres and not alone:
                    conn.execution_options(isolation_level="READ COMMITTED")
                    yield from self._within(conn, snapshot=False, read_committed=True)
                elif serializable and self.postgres:
                    with self._turn(conn, alone):
                        conn.execution_options(isolation_level="SERIALIZABLE")
                        yield from self._within(conn, snapshot=True)
                else:
                    # SQLite's transactions hold the write lock from their start: nothing changes under them.
                    yield from self._within(conn, snapshot=not self.postgres)

    def _within(self, conn: sa.Connection, *, snapshot: bool, read_committed: bool = False) -> Iterator[None]:
        """Statements are the sandbox's main cost (SQLAlchemy's per-statement work, then the database's
        round trip), so a transaction writes objects late and reads each one once:

        - `insert` and `save` are buffered and flushed as one INSERT and one UPDATE (`executemany`),
          before a read of a kind with buffered writes and at the end. Inserts keep their order, so
          `seq` (the lists' tie-break) is the order of the calls.
        - `get` answers from the rows this transaction already read or wrote, and `find` repeats the
          answer of the same query until an object of its kind is written, when the transaction runs
          on a snapshot nothing else can change (`snapshot`: SQLite's write-locked transactions, and
          PostgreSQL's SERIALIZABLE ones); each answer is decoded afresh from the stored text, so a
          caller that edits an object without saving it changes nothing.
        - `read_committed`: a READ COMMITTED transaction on PostgreSQL (see the module docstring). It
          shares `Store._turn`'s lock for as long as it runs. Each row and each `find` counts as first
          read, so `get` and `find` answer as above (a row found again in another version, by another
          query, is a conflict), and an UPDATE applies only to the row as read, or is a conflict too.
          What the transaction reads of its locked customer's credit nobody else changes meanwhile;
          anything else it reads is as of its first read.
        """
        self._conn = conn
        self._remember_reads = snapshot or read_committed
        self._cache_finds = snapshot or read_committed
        self._seen = {} if read_committed else None
        try:
            with conn.begin():
                if read_committed:  # released with the transaction; an `alone` request waits for it
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({TURN_LOCK})")
                yield
                self._flush()
        finally:
            self._conn = None
            self._seen = None
            self._locked.clear()
            self._inserts.clear()
            self._updates.clear()
            self._known.clear()
            self._finds.clear()

    @contextmanager
    def _turn(self, conn: sa.Connection, alone: bool) -> Iterator[None]:
        """Every serializable transaction holds a shared session lock from before it begins to after
        it ends; one that kept losing conflicts (`alone`) takes it exclusively instead, so it starts
        after the others end and none starts before it ends: it cannot lose again. The lock is taken
        outside the transaction so that its snapshot is taken only once it holds the lock."""
        mode = "" if alone else "_shared"
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(f"SELECT pg_advisory_lock{mode}({TURN_LOCK})")
        conn.commit()  # ends SQLAlchemy's autobegun (autocommit) transaction: the isolation level may change
        try:
            yield
        finally:
            try:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock{mode}({TURN_LOCK})")
                conn.commit()
            except sa.exc.DBAPIError:  # a broken connection: dropping it ends the session and its lock
                conn.invalidate()

    def run(self, work: Callable[[], T], *, read_committed: bool = False) -> T:
        """`work()` as one serializable transaction; on PostgreSQL, retried when it lost a conflict
        with a concurrent transaction (serialization failure, deadlock, a duplicate insert of a
        unique identity, a row changed under a READ COMMITTED one). The retry starts afresh, so
        `work` must only touch the database and what it builds itself. `read_committed`: `work`
        takes its own locks (see `transaction`). Counts `requests` and `retries`."""
        with self._lock:
            self.requests += 1
        for attempt in range(RETRIES):
            try:
                with self.transaction(serializable=True, alone=attempt >= ALONE_AFTER, read_committed=read_committed):
                    return work()
            except sa.exc.DBAPIError as exc:
                if not (self.postgres and _is_conflict(exc)):
                    raise
            except RowChanged:
                pass
            self._count_retry()
            # Jittered, growing back-off: the winner commits meanwhile, and two losers do not collide again.
            time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
        raise StoreBusy(f"the request conflicted with concurrent ones {RETRIES} times in a row")

    def _count_retry(self) -> None:
        """One more retry: counted here, and in this process's own sandbox_meta row, so that the
        retries of every worker on one database can be summed (`recorded_retries`). Written in a
        transaction of its own, only when a retry happens."""
        with self._lock:
            self.retries += 1
            retries = self.retries
        if not self.postgres:
            return
        try:
            with self.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.execute(_TALLY, {"key": self._tally_key, "value": str(retries)})
        except sa.exc.DBAPIError:  # a tally is no reason to fail the request it counts
            pass

    def recorded_retries(self) -> int:
        """The retries every process recorded on this database (PostgreSQL; 0 on SQLite, which never retries)."""
        rows = self._c.execute(sa.select(meta.c.value).where(meta.c.key.startswith(RETRY_TALLY)))
        return sum(int(value) for (value,) in rows)

    def lock_customer(self, customer_id: str) -> None:
        """Hold the lock on `customer_id`'s credit (its grants, transactions, meter events, auto-recharge
        config and the customer row) until the transaction ends, on PostgreSQL. A READ COMMITTED
        request takes it before it reads that credit: others changing it wait, and it reads their
        committed result. Writing a row of `CREDIT_OWNER`'s kinds takes it too, so that a SERIALIZABLE
        request that read the credit before a READ COMMITTED one changed it fails on the lock's
        version (a conflict, retried) rather than act on what it read. SQLite's transactions already
        run one at a time: nothing to do."""
        if not self.postgres or customer_id in self._locked or "\x00" in customer_id:
            return
        self._c.execute(_LOCK_CUSTOMER, {"customer_id": customer_id})
        self._locked.add(customer_id)

    def _lock_owner(self, kind: str, obj: dict[str, Any]) -> None:
        path = CREDIT_OWNER.get(kind)
        if path is not None and self.postgres:
            owner = field_value(obj, path)
            if isinstance(owner, str):
                self.lock_customer(owner)

    @property
    def conn(self) -> sa.Connection:
        """The transaction's connection, for statements of the caller's own: buffered writes are
        flushed first, so the caller sees them."""
        self._flush()
        return self._c

    @property
    def _c(self) -> sa.Connection:
        if self._conn is None:
            raise RuntimeError("store used outside a transaction")
        return self._conn

    def _flush(self, kinds: Collection[str] | None = None) -> None:
        """Write the buffered objects (all, or only when one of `kinds` has buffered writes)."""
        if not (self._inserts or self._updates):
            return
        if kinds is not None:
            pending = {kind for kind, _, _ in self._inserts.values()} | {kind for kind, _ in self._updates.values()}
            if pending.isdisjoint(kinds):
                return
        inserts, updates = list(self._inserts.items()), list(self._updates.items())
        self._inserts.clear()
        self._updates.clear()
        rows = [{"id": i, "kind": kind, "livemode": mode, "data": text} for i, (kind, mode, text) in inserts]
        changes = [{"object_id": i, "object_kind": kind, "object_data": text} for i, (kind, text) in updates]
        if self.postgres:
            # psycopg runs an executemany in pipeline mode, and logs a warning of its own when a
            # serialization conflict (retried, and expected) aborts the pipeline: one multi-row
            # INSERT, and each UPDATE on its own, say the same without it.
            for start in range(0, len(rows), 1000):  # a statement holds at most 65,535 parameters
                self._c.execute(objects.insert().values(rows[start : start + 1000]))
            for change in changes:
                was = self._seen.get(change["object_id"]) if self._seen is not None else None
                if was is None:
                    self._c.execute(_UPDATE, change)
                elif self._c.execute(_UPDATE_UNCHANGED, {**change, "object_was": was}).rowcount != 1:
                    raise RowChanged(f"{change['object_kind']} {change['object_id']} changed while this request ran")
            if self._seen is not None:
                self._seen.update({row["id"]: row["data"] for row in rows})
                self._seen.update({change["object_id"]: change["object_data"] for change in changes})
            return
        if rows:
            self._c.execute(_INSERT, rows)
        if changes:
            self._c.execute(_UPDATE, changes)

    def close(self) -> None:
        """Closes every connection the store opened (Python 3.13 warns about any SQLite one left
        open); background workers (the webhook queue) stop at their next look."""
        with self._lock:
            self.closed = True
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- objects ----------------------------------------------------------------------------

    def insert(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        text, livemode = self._dump(obj), bool(obj.get("livemode", True))
        self._lock_owner(kind, obj)
        self._forget_finds(kind)
        if obj["id"] in self._inserts or obj["id"] in self._known:
            # The id is taken: written now, so that the database refuses it as it would unbuffered.
            self._flush()
            self._c.execute(objects.insert().values(id=obj["id"], kind=kind, livemode=livemode, data=text))
            return obj
        self._inserts[obj["id"]] = (kind, livemode, text)
        self._known[obj["id"]] = (kind, livemode, text)
        return obj

    def save(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        object_id, text = obj["id"], self._dump(obj)
        self._lock_owner(kind, obj)
        self._forget_finds(kind)
        inserted = self._inserts.get(object_id)
        if inserted is not None and inserted[0] == kind:
            self._inserts[object_id] = (kind, inserted[1], text)
        else:
            self._updates[object_id] = (kind, text)
        known = self._known.get(object_id)
        if known is not None and known[0] == kind:
            self._known[object_id] = (kind, known[1], text)
        return obj

    def delete(self, kind: str, object_id: str) -> None:
        if kind == "customer":
            self.lock_customer(object_id)
        self._flush()
        self._forget_finds(kind)
        self._known.pop(object_id, None)
        self._c.execute(objects.delete().where(objects.c.id == object_id, objects.c.kind == kind))

    def get(self, kind: str, object_id: str, livemode: bool) -> dict[str, Any] | None:
        if self.postgres and "\x00" in object_id:  # PostgreSQL cannot even be asked: no id holds NUL
            return None
        known = self._known.get(object_id)
        if known is not None:
            return self._load(known[2]) if known[:2] == (kind, livemode) else None
        if object_id in self._updates:
            self._flush()
        row = self._c.execute(_GET, {"object_id": object_id, "object_kind": kind, "object_livemode": livemode}).first()
        if row is None:
            return None
        self._remember(kind, livemode, object_id, row[0])
        return self._load(row[0])

    def _remember(self, kind: str, livemode: bool, object_id: str, text: str) -> None:
        if self._seen is not None and self._seen.setdefault(object_id, text) != text:
            raise RowChanged(f"{kind} {object_id} changed while this request ran")
        if self._remember_reads:
            self._known[object_id] = (kind, livemode, text)

    def _forget_finds(self, kind: str) -> None:
        if self._finds:
            self._finds = {key: ids for key, ids in self._finds.items() if key[0] != kind}

    @staticmethod
    def _find_key(
        kind: str, livemode: bool, equals: dict[str, Any]
    ) -> tuple[str, bool, tuple[tuple[str, Any], ...]] | None:
        """The key a `find` is remembered by; None for one filtering by a nested value (never remembered)."""
        if not all(value is None or isinstance(value, str | int | float) for value in equals.values()):
            return None
        return (kind, livemode, tuple(sorted((name, value) for name, value in equals.items())))

    def all(self, kind: str, livemode: bool | None) -> list[dict[str, Any]]:
        """Every object of a kind in one mode (both when `livemode` is None), oldest first."""
        self._flush((kind,))
        query = sa.select(objects.c.data).where(objects.c.kind == kind)
        if livemode is not None:
            query = query.where(objects.c.livemode == livemode)
        return [self._load(row[0]) for row in self._c.execute(query.order_by(objects.c.seq))]

    def find(self, kind: str, livemode: bool, *conditions: Condition, **equals: Any) -> list[dict[str, Any]]:
        """Objects of a kind whose top-level fields equal `equals` (None: absent or null) and that meet
        `conditions`, oldest first."""
        if conditions:
            self._flush((kind,))
            query, rest = self._where(sa.select(objects.c.data), kind, livemode, equals, conditions)
            found = [self._load(row[0]) for row in self._c.execute(query.order_by(objects.c.seq))]
            return [o for o in found if all(field_value(o, k) == v for k, v in rest.items())]
        [found] = self.find_each(livemode, (kind, equals))
        return found

    def find_each(self, livemode: bool, *lookups: tuple[str, dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Several `find`s in one statement (UNION ALL, each over its own indexes): for each
        (kind, equals), the matching objects, oldest first. `id` in `equals` is the id column."""
        found: list[list[dict[str, Any]]] = [[] for _ in lookups]
        asked: list[int] = []
        for number, (kind, equals) in enumerate(lookups):
            key = self._find_key(kind, livemode, equals) if self._finds else None
            ids = self._finds.get(key) if key is not None else None
            if ids is not None and all(i in self._known for i in ids):
                found[number] = [self._load(self._known[i][2]) for i in ids]
            else:
                asked.append(number)
        if not asked:
            return found
        self._flush([lookups[number][0] for number in asked])
        rests: dict[int, dict[str, Any]] = {number: {} for number in asked}
        prepared = self._prepared_lookups(livemode, [(number, *lookups[number]) for number in asked])
        if prepared is not None:
            rows = self._c.execute(*prepared)
        else:
            branches = []
            for number in asked:
                kind, equals = lookups[number]
                columns = sa.select(sa.literal(number).label("lookup"), objects.c.seq, objects.c.id, objects.c.data)
                query, rests[number] = self._where(columns, kind, livemode, equals)
                branches.append(query)
            compound = branches[0] if len(branches) == 1 else sa.union_all(*branches)
            rows = self._c.execute(compound.order_by("lookup", "seq"))
        found_ids: dict[int, list[str]] = {number: [] for number in asked}
        for number, _, object_id, text in rows:
            obj = self._load(text)
            kind, _ = lookups[number]
            if all(field_value(obj, k) == v for k, v in rests[number].items()):
                self._remember(kind, livemode, object_id, text)
                found[number].append(obj)
                found_ids[number].append(object_id)
        if self._cache_finds:
            for number in asked:
                kind, equals = lookups[number]
                key = self._find_key(kind, livemode, equals)
                if key is not None and not rests[number]:
                    self._finds[key] = found_ids[number]
        return found

    def _prepared_lookups(
        self, livemode: bool, lookups: list[tuple[int, str, dict[str, Any]]]
    ) -> tuple[sa.CompoundSelect | sa.Select[Any], dict[str, Any]] | None:
        """`find_each`'s statement for lookups of plain equalities, built once per shape (the kinds and
        the fields, and whether each value is null, text or a number) and cached, with the values to
        bind into it; None when a value needs `_where` (a number on PostgreSQL, compared as JSON, or
        a value that is not plain), whose answer this one equals."""
        shape: list[tuple[int, str, tuple[tuple[str, str], ...]]] = []
        params: dict[str, Any] = {"livemode": livemode}
        for number, kind, equals in lookups:
            fields = []
            for place, (name, value) in enumerate(equals.items()):
                if not _PLAIN_FIELD.match(name):
                    return None
                if value is None:
                    fields.append((name, "null"))
                    continue
                if isinstance(value, str):
                    if self.postgres and name == "id" and "\x00" in value:
                        return None
                    how, value = ("id" if name == "id" else "text"), _escape_text(value) if self.postgres else value
                elif isinstance(value, int | float) and not self.postgres and name != "id":
                    how = "number"
                else:
                    return None
                fields.append((name, how))
                params[f"l{number}_{place}"] = value
            shape.append((number, kind, tuple(fields)))
        key = tuple(shape)
        statement = self._lookup_statements.get(key)
        if statement is None:
            branches = []
            for number, kind, fields in shape:
                query = sa.select(sa.literal(number).label("lookup"), objects.c.seq, objects.c.id, objects.c.data)
                query = query.where(objects.c.kind == kind, objects.c.livemode == sa.bindparam("livemode"))
                for place, (name, how) in enumerate(fields):
                    value = sa.bindparam(f"l{number}_{place}")
                    if how == "null":
                        query = query.where(field(name).is_(None))
                    else:
                        query = query.where((objects.c.id if how == "id" else field(name)) == value)
                branches.append(query)
            statement = (branches[0] if len(branches) == 1 else sa.union_all(*branches)).order_by("lookup", "seq")
            if len(self._lookup_statements) < 1000:  # the shapes are the code's own lookups: a few dozen
                self._lookup_statements[key] = statement
        return statement, params

    def page(
        self,
        kind: str,
        livemode: bool,
        *conditions: Condition,
        order_by: str,
        descending: bool,
        offset: int = 0,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        **equals: Any,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(how many match, one slice of them) ordered by a top-level field, ties by age, in SQL: the
        `limit` rows `offset` rows in, or those right after `starting_after` or right before
        `ending_before` (the id of a row the filters match; LookupError if there is none).

        NULL (or absent), then numbers (booleans as 0 and 1), then text (by code point), as the lists'
        Python sort key does: SQLite orders `json_extract`'s typed values so by itself; PostgreSQL's
        `->>` is text only, so there the order is spelled out (`_sort_keys`).

        Statements are most of a short list's cost, and skipped index entries most of a long one's:
        the first page is one statement (its rows, with the count beside them); a later one counts
        first and then walks from the nearer end of the list (an OFFSET costs every entry it skips);
        a cursor page reads the cursor's keys with the count, then seeks past them (keyset).
        """
        if not _PLAIN_FIELD.match(order_by) or "." in order_by:
            raise ValueError(f"cannot order by {order_by!r}")
        if starting_after is not None and ending_before is not None:
            raise ValueError("page() takes one cursor, not both")
        self._flush((kind,))
        matching, rest = self._where(sa.select(objects.c.seq), kind, livemode, equals, conditions)
        if rest:
            raise ValueError(f"page() filters plain values only, not {sorted(rest)}")
        total = self._total(matching, kind, livemode, equals, conditions)
        keys = self._sort_keys(order_by)
        cursor = starting_after if starting_after is not None else ending_before
        if cursor is not None:
            return self._page_past(matching, total, keys, cursor, descending, starting_after is not None, limit)
        if offset == 0 and limit > 0:
            part = self._ordered(matching, keys, descending).limit(limit)
            found = self._c.execute(self._slice([part], keys, descending, limit, total)).all()
            # One statement, one snapshot: no row means no row matches.
            return (int(found[0][1]) if found else 0), [self._load(row[0]) for row in found]
        count = int(self._c.execute(sa.select(total)).scalar_one())
        if offset >= count or limit <= 0:
            return count, []
        limit = min(limit, count - offset)
        from_end = count - offset - limit
        # The same rows from the other end, when fewer are skipped so; only on a snapshot, where the
        # count just read still holds for the next statement.
        if from_end < offset and self._remember_reads:
            part = self._ordered(matching, keys, not descending).offset(from_end)
        else:
            part = self._ordered(matching, keys, descending).offset(offset)
        found = self._c.execute(self._slice([part.limit(limit)], keys, descending, limit)).all()
        return count, [self._load(row[0]) for row in found]

    def _total(
        self,
        matching: sa.Select[Any],
        kind: str,
        livemode: bool,
        equals: dict[str, Any],
        conditions: Collection[Condition],
    ) -> sa.ScalarSelect[Any]:
        """How many rows `matching` (`_where` of the rest) selects, as a scalar subquery. On SQLite,
        with no filter but the kind and mode and `NoneOf`s on indexed fields (an invoice list's hidden
        billing reasons), `object_counts`' row less the few rows left out, counted over the fields'
        indexes."""
        none_of = [c for c in conditions if isinstance(c, NoneOf)]
        indexed = all(c.field in INDEXED_FIELDS for c in none_of)
        if not self.postgres and not equals and len(none_of) == len(conditions) and indexed:
            counted: sa.ColumnElement[Any] = sa.func.coalesce(
                sa.select(object_counts.c.n)
                .where(object_counts.c.kind == kind, object_counts.c.livemode == livemode)
                .scalar_subquery(),
                0,
            )
            left_out = [field(c.field).in_(c.values) for c in none_of if c.values]
            if left_out:
                counted = counted - (
                    sa.select(sa.func.count())
                    .select_from(objects)
                    .where(objects.c.kind == kind, objects.c.livemode == livemode, sa.or_(*left_out))
                    .correlate(None)
                    .scalar_subquery()
                )
            return sa.select(counted).correlate(None).scalar_subquery()
        return matching.with_only_columns(sa.func.count()).correlate(None).scalar_subquery()

    @staticmethod
    def _ordered(matching: sa.Select[Any], keys: list[sa.ColumnElement[Any]], descending: bool) -> sa.Select[Any]:
        """`matching`'s seqs in the list's order (reversed when `descending`), from the index alone."""
        direction = sa.desc if descending else sa.asc
        return matching.order_by(*(direction(key) for key in keys), direction(objects.c.seq))

    @staticmethod
    def _slice(
        parts: list[sa.Select[Any]],
        keys: list[sa.ColumnElement[Any]],
        descending: bool,
        limit: int,
        total: sa.ScalarSelect[Any] | None = None,
    ) -> sa.Select[Any]:
        """The stored text of the first `limit` rows (with `total` beside each) whose seqs `parts`
        select, each part already ordered and limited over an index: only those rows are read."""
        # `seq IN (…)`, not a join: SQLAlchemy builds the statement in less time (most of a short list's cost).
        if len(parts) == 1:
            chosen: sa.Select[Any] | sa.CompoundSelect = parts[0].correlate(None)
        else:
            chosen = sa.union_all(*(sa.select(part.subquery()) for part in parts))
        direction = sa.desc if descending else sa.asc
        columns = [objects.c.data] if total is None else [objects.c.data, total]
        return (
            sa.select(*columns)
            .where(objects.c.seq.in_(chosen))
            .order_by(*(direction(key) for key in keys), direction(objects.c.seq))
            .limit(limit)
        )

    def _page_past(
        self,
        matching: sa.Select[Any],
        total: sa.ScalarSelect[Any],
        keys: list[sa.ColumnElement[Any]],
        cursor: str,
        descending: bool,
        forward: bool,
        limit: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        """`page` from a cursor: the `limit` rows after it (`forward`) or right before it, by keyset."""
        # On PostgreSQL, `_sort_keys`' type, number and text keys made one row value with no NULLs:
        # within a type, the other two keys are NULL in every row, so they may stand as constants.
        marks = [keys[0], sa.func.coalesce(keys[1], 0), sa.func.coalesce(keys[2], "")] if self.postgres else keys
        found = (
            None
            if self.postgres and "\x00" in cursor
            else self._c.execute(
                matching.with_only_columns(total, *marks, objects.c.seq).where(objects.c.id == cursor)
            ).first()
        )
        if found is None:
            raise LookupError(f"{cursor!r} is not an object the filters match")
        count, *values, seq = found
        # Walk the list's order after the cursor, or the reverse order before it (then turn it back).
        walk = descending if forward else not descending
        past: list[list[sa.ColumnElement[bool]]]
        if self.postgres:
            row, at = sa.tuple_(*marks, objects.c.seq), sa.tuple_(*values, seq)
            past = [[row < at if walk else row > at]]
        else:
            [key], [value] = keys, values
            if value is None:  # NULLs come first in ascending order: the cursor is among them
                ties = [key.is_(None), objects.c.seq < seq if walk else objects.c.seq > seq]
                past = [ties] if walk else [ties, [key.is_not(None)]]
            else:
                # The bound on the key alone lets SQLite seek its index; the row value then settles ties.
                pair, at = sa.tuple_(key, objects.c.seq), sa.tuple_(value, seq)
                later = [key <= value, pair < at] if walk else [key >= value, pair > at]
                past = [later, [key.is_(None)]] if walk else [later]
        parts = [self._ordered(matching.where(*where), keys, walk).limit(limit) for where in past]
        rows = [self._load(row[0]) for row in self._c.execute(self._slice(parts, keys, walk, limit))]
        return int(count), rows if forward else rows[::-1]

    def _sort_keys(self, name: str) -> list[sa.ColumnElement[Any]]:
        if not self.postgres:
            return [field(name)]
        value = f"(CAST(objects.data AS json) -> '{name}')"
        kind = f"json_typeof({value})"
        return [
            sa.literal_column(
                f"CASE {kind} WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 WHEN 'string' THEN 2 "
                f"WHEN 'object' THEN 2 WHEN 'array' THEN 2 ELSE 0 END"
            ),
            sa.literal_column(
                f"CASE {kind} WHEN 'number' THEN CAST({value} #>> '{{}}' AS numeric) "
                f"WHEN 'boolean' THEN CASE WHEN {value} #>> '{{}}' = 'true' THEN 1 ELSE 0 END END"
            ),
            sa.literal_column(f"CASE WHEN {kind} IN ('string', 'object', 'array') THEN {value} #>> '{{}}' END").collate(
                "C"
            ),
        ]

    def _where(
        self,
        query: sa.Select[Any],
        kind: str,
        livemode: bool | None,
        equals: dict[str, Any],
        conditions: Collection[Condition] = (),
    ) -> tuple[sa.Select[Any], dict[str, Any]]:
        """`query` filtered in SQL by kind, mode, `conditions` and the plain-valued `equals`; the rest
        of `equals` to filter in Python."""
        query = query.where(objects.c.kind == kind)
        if livemode is not None:
            query = query.where(objects.c.livemode == livemode)
        for condition in conditions:
            query = query.where(self._condition(condition, kind, livemode))
        rest = {}
        for name, value in equals.items():
            if name == "id" and isinstance(value, str):
                # The id column (unique): PostgreSQL's text cannot hold NUL, and no id does.
                query = query.where(objects.c.id == value if not (self.postgres and "\x00" in value) else sa.false())
            elif not _PLAIN_FIELD.match(name) or not (value is None or isinstance(value, str | int | float)):
                rest[name] = value
            elif value is None:
                query = query.where(field(name).is_(None))
            elif isinstance(value, str):
                query = query.where(field(name) == (_escape_text(value) if self.postgres else value))
            elif self.postgres and "." in name:
                rest[name] = value
            elif self.postgres:  # `->>` is text: compare the JSON values, so that 5 matches 5.0 as in SQLite
                json_value = sa.literal_column(f"(CAST(objects.data AS json) -> '{name}')")
                wanted = sa.cast(sa.literal(json.dumps(value), sa.Text), JSONB)
                query = query.where(sa.cast(json_value, JSONB) == wanted)
            else:
                query = query.where(field(name) == value)
        return query, rest

    def _condition(self, condition: Condition, kind: str, livemode: bool | None) -> sa.ColumnElement[bool]:
        if not _PLAIN_FIELD.match(condition.field):
            raise ValueError(f"not a plain field name: {condition.field!r}")
        if isinstance(condition, OneOf | NoneOf):
            values = [_escape_text(v) if self.postgres else v for v in condition.values]
            if isinstance(condition, OneOf):
                return field(condition.field).in_(values)
            # The few rows to leave out, found over the field's index: the ordered scan of a page
            # then tests each row's seq against them, without reading the row itself.
            excluded = objects.alias("excluded")
            left_out = sa.select(excluded.c.seq).where(
                excluded.c.kind == kind, field(condition.field, excluded.c.data).in_(values)
            )
            if livemode is not None:
                left_out = left_out.where(excluded.c.livemode == livemode)
            return objects.c.seq.not_in(left_out)
        sample = condition.low if condition.low is not None else condition.high
        value: sa.ColumnElement[Any] = field(condition.field)
        if isinstance(sample, str):
            typed = sa.func.json_type(objects.c.data, f"$.{condition.field}") == "text"
            if self.postgres:
                path = "{" + condition.field.replace(".", ",") + "}"
                kind = sa.literal_column(f"json_typeof(CAST(objects.data AS json) #> '{path}')")
                typed, value = kind == "string", value.collate("C")
        else:
            typed = sa.func.json_type(objects.c.data, f"$.{condition.field}").in_(("integer", "real"))
            if self.postgres:
                path = "{" + condition.field.replace(".", ",") + "}"
                raw = f"(CAST(objects.data AS json) #> '{path}')"
                typed = sa.literal_column(f"json_typeof({raw})") == "number"
                value = sa.literal_column(
                    f"CASE WHEN json_typeof({raw}) = 'number' THEN CAST({raw} #>> '{{}}' AS numeric) END"
                )
        clauses = [typed]
        if condition.low is not None:
            clauses.append(value >= condition.low)
        if condition.high is not None:
            clauses.append(value < condition.high if condition.high_open else value <= condition.high)
        return sa.and_(*clauses)

    def first(self, kind: str, livemode: bool, **equals: Any) -> dict[str, Any] | None:
        found = self.find(kind, livemode, **equals)
        return found[0] if found else None

    def count(self) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(objects)).scalar_one())

    # -- the webhook queue ------------------------------------------------------------------

    def queue_delivery(self, delivery_id: str, event_id: str, endpoint_id: str, livemode: bool, at: float) -> None:
        self._c.execute(
            deliveries.insert().values(
                id=delivery_id,
                event_id=event_id,
                endpoint_id=endpoint_id,
                livemode=livemode,
                state="pending",
                attempts=0,
                next_at=at,
                lease_until=0.0,
            )
        )

    def claim_deliveries(
        self, now: float, lease: float, limit: int, *, busy: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        """Pending deliveries due at `now`, leased for `lease` seconds to the caller, oldest first: at
        most one per endpoint, and none for an endpoint with an attempt under way (a delivery leased by
        any process, or an endpoint named in `busy`), so that an endpoint's attempts never run side
        by side and never take more than one of the caller's `limit` lanes."""
        heads = (
            sa.select(
                deliveries.c.id,
                sa.func.row_number()
                .over(partition_by=deliveries.c.endpoint_id, order_by=(deliveries.c.next_at, deliveries.c.id))
                .label("place"),
            )
            .where(*self._claimable(now, busy), deliveries.c.next_at <= now)
            .subquery()
        )
        due = self._c.execute(
            sa.select(deliveries)
            # Repeated outside the subquery: PostgreSQL checks these again on a row another worker
            # leased meanwhile (READ COMMITTED re-reads a row it waited for), and skips it.
            .where(
                deliveries.c.id.in_(sa.select(heads.c.id).where(heads.c.place == 1)),
                deliveries.c.state == "pending",
                deliveries.c.lease_until <= now,
            )
            .order_by(deliveries.c.next_at)
            .limit(limit)
            # Several worker processes poll one queue: each claims rows no other holds right now.
            .with_for_update(skip_locked=True)
        ).all()
        claimed = [dict(row._mapping) for row in due]
        if claimed:
            self._c.execute(
                deliveries.update()
                .where(deliveries.c.id.in_([d["id"] for d in claimed]))
                .values(lease_until=now + lease)
            )
        return claimed

    def next_delivery_at(self, now: float, *, busy: Collection[str] = ()) -> float | None:
        """When the earliest delivery `claim_deliveries` could take falls due (None: none could). An
        endpoint with an attempt under way is left out: the attempt's end is news of its own (and a
        lease that a process which died held lapses on its own; callers look again every so often)."""
        found = self._c.execute(
            sa.select(sa.func.min(deliveries.c.next_at)).where(*self._claimable(now, busy))
        ).scalar()
        return None if found is None else float(found)

    @staticmethod
    def _claimable(now: float, busy: Collection[str]) -> list[sa.ColumnElement[bool]]:
        """Pending deliveries not leased, of endpoints with no attempt under way."""
        under_way = sa.select(deliveries.c.endpoint_id).where(
            deliveries.c.state == "pending", deliveries.c.lease_until > now
        )
        clauses = [
            deliveries.c.state == "pending",
            deliveries.c.lease_until <= now,
            deliveries.c.endpoint_id.not_in(under_way),
        ]
        if busy:
            clauses.append(deliveries.c.endpoint_id.not_in(sorted(busy)))
        return clauses

    def settle_delivery(self, delivery_id: str, *, state: str, attempts: int, next_at: float) -> None:
        self._c.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(state=state, attempts=attempts, next_at=next_at, lease_until=0.0)
        )

    def release_deliveries(self) -> None:
        """Free the leases of a process that is gone. Only a store that is the database's one
        user (`exclusive`) does this; with sibling workers a lease lapses on its own instead."""
        if not self.exclusive:
            return
        self._c.execute(deliveries.update().where(deliveries.c.state == "pending").values(lease_until=0.0))

    def retry_deliveries(self, now: float) -> int:
        """Make every delivery whose last attempt failed due at `now`: one waiting for its retry,
        and one that had given up (it gets one more try); leases are freed. Answers how many."""
        result = self._c.execute(
            deliveries.update()
            .where(deliveries.c.attempts > 0, deliveries.c.state.in_(("pending", "failed")))
            .values(state="pending", next_at=now, lease_until=0.0)
        )
        return int(result.rowcount)

    def deliveries_of(self, event_id: str) -> list[dict[str, Any]]:
        rows = self._c.execute(sa.select(deliveries).where(deliveries.c.event_id == event_id)).all()
        return [dict(row._mapping) for row in rows]

    # -- sandbox state (the test clock, seeding) ---------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._c.execute(sa.select(meta.c.value).where(meta.c.key == key)).first()
        return str(row[0]) if row else None

    def get_metas(self, keys: Collection[str]) -> dict[str, str]:
        """Several sandbox_meta values in one statement: those present, by key."""
        wanted = sorted(keys)
        if len(wanted) < len(_GET_METAS):
            rows = self._c.execute(_GET_METAS[len(wanted)], {f"key{n}": key for n, key in enumerate(wanted)})
        else:
            rows = self._c.execute(sa.select(meta.c.key, meta.c.value).where(meta.c.key.in_(wanted)))
        return {str(key): str(value) for key, value in rows}

    def add_meta(self, key: str, value: str) -> None:
        """A key the transaction found absent: inserted (a concurrent first writer of the same key
        makes one of the two inserts fail, and its request is retried)."""
        self._c.execute(_ADD_META, {"key": key, "value": value})

    def set_meta(self, key: str, value: str) -> None:
        self._write_meta(self._c, key, value)

    @staticmethod
    def _write_meta(conn: sa.Connection, key: str, value: str) -> None:
        # An insert of a new key, never an upsert: two concurrent first writers of one key (an
        # idempotency key sent twice at once) conflict on the primary key, and the loser retries.
        if conn.execute(sa.select(meta.c.key).where(meta.c.key == key)).first() is None:
            conn.execute(meta.insert().values(key=key, value=value))
        else:
            conn.execute(meta.update().where(meta.c.key == key).values(value=value))

    def _dump(self, obj: dict[str, Any]) -> str:
        text = json.dumps(obj, separators=(",", ":"), sort_keys=True)
        return _ESCAPE.sub(_escape_match, text) if self.postgres else text

    def _load(self, text: str) -> Any:
        return json.loads(_UNESCAPE.sub(_unescape_match, text) if self.postgres else text)


# PostgreSQL's JSON functions refuse the escape \u0000 (they cannot put NUL in text), and
# the sandbox stores whatever strings clients send. So on PostgreSQL the stored text spells
# NUL as U+E000 followed by "0", and U+E000 itself as U+E000 twice: reversible, and only
# strings holding those two characters differ in SQL. Each regex consumes an escaped
# backslash whole, so `\\u0000` (a backslash, then "u0000") is left alone.
_ESCAPE = re.compile(r"\\\\|\\u0000|\\ue000")
_UNESCAPE = re.compile(r"\\\\|\\ue000(?:\\ue000|0)")


def _escape_match(match: re.Match[str]) -> str:
    return {"\\u0000": "\\ue0000", "\\ue000": "\\ue000\\ue000"}.get(match[0], match[0])


def _unescape_match(match: re.Match[str]) -> str:
    return {"\\ue0000": "\\u0000", "\\ue000\\ue000": "\\ue000"}.get(match[0], match[0])


def _escape_text(value: str) -> str:
    """A string as `->>` reads it back from text `_dump` wrote (for comparisons in SQL)."""
    return value.replace("\ue000", "\ue000\ue000").replace("\x00", "\ue0000")


def _is_conflict(exc: sa.exc.DBAPIError) -> bool:
    """PostgreSQL's answers that mean "a concurrent transaction won; try again":
    serialization failure, deadlock, and a unique identity inserted meanwhile."""
    return getattr(exc.orig, "sqlstate", None) in ("40001", "40P01", "23505")


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if exc and str(exc).strip() else type(exc).__name__
