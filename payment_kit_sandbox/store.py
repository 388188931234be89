"""SQLite storage (SQLAlchemy 2, WAL): one table of JSON documents.

Every PaymentKit object is a row: its id, kind (`customer`, `price`, …),
livemode, and the object itself as JSON. Equality lookups on top-level
fields run in SQL (`json_extract`), over expression indexes for the fields
looked up on every request, and `page` orders and slices a list in SQL, so a
list or a lookup never decodes every row of a kind. Search and the rarer
filters run over decoded objects. Each request runs in one transaction, so a
refused request leaves nothing half-written.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

__all__ = ["Store"]

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


def field(name: str) -> sa.ColumnElement[Any]:
    """A top-level field of the stored JSON. The path is inlined, not bound, so that
    SQLite matches it to the expression indexes below."""
    return sa.func.json_extract(objects.c.data, sa.literal_column(f"'$.{name}'"))


# The fields requests look up or order by on every call: without these, a lookup by
# customer, DID or meter-event identifier scans every row of the kind.
INDEXED_FIELDS = ("created_at", "customer_id", "did", "identifier")
field_indexes = [
    sa.Index(f"objects_kind_mode_{name}", objects.c.kind, objects.c.livemode, field(name)) for name in INDEXED_FIELDS
]
_PLAIN_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

meta = sa.Table(
    "sandbox_meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


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


class Store:
    def __init__(self, path: str = ":memory:") -> None:
        if path == ":memory:":
            self.engine = sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            self.engine = sa.create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

            @sa.event.listens_for(self.engine, "connect")
            def _wal(dbapi_connection: Any, _: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

        metadata.create_all(self.engine)
        with self.engine.begin() as conn:  # also for a database file made before these indexes
            for index in field_indexes:
                conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
        self._conn: sa.Connection | None = None
        self._lock = threading.RLock()
        self.closed = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One request's unit of work: committed whole, or rolled back whole."""
        with self._lock:
            if self.closed:  # a late webhook retry must not reopen a connection nobody will close
                raise RuntimeError("the store is closed")
            with self.engine.connect() as conn:
                self._conn = conn
                try:
                    with conn.begin():
                        yield
                finally:
                    self._conn = None

    @property
    def conn(self) -> sa.Connection:
        if self._conn is None:
            raise RuntimeError("store used outside a transaction")
        return self._conn

    def close(self) -> None:
        """Closes every SQLite connection the store opened (Python 3.13 warns about any left open);
        background workers (the webhook queue) stop at their next look."""
        with self._lock:
            self.closed = True
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- objects ----------------------------------------------------------------------------

    def insert(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.conn.execute(
            objects.insert().values(id=obj["id"], kind=kind, livemode=bool(obj.get("livemode", True)), data=_dump(obj))
        )
        return obj

    def save(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.conn.execute(
            objects.update().where(objects.c.id == obj["id"], objects.c.kind == kind).values(data=_dump(obj))
        )
        return obj

    def delete(self, kind: str, object_id: str) -> None:
        self.conn.execute(objects.delete().where(objects.c.id == object_id, objects.c.kind == kind))

    def get(self, kind: str, object_id: str, livemode: bool) -> dict[str, Any] | None:
        row = self.conn.execute(
            sa.select(objects.c.data).where(
                objects.c.id == object_id, objects.c.kind == kind, objects.c.livemode == livemode
            )
        ).first()
        return json.loads(row[0]) if row else None

    def all(self, kind: str, livemode: bool | None) -> list[dict[str, Any]]:
        """Every object of a kind in one mode (both when `livemode` is None), oldest first."""
        query = sa.select(objects.c.data).where(objects.c.kind == kind)
        if livemode is not None:
            query = query.where(objects.c.livemode == livemode)
        return [json.loads(row[0]) for row in self.conn.execute(query.order_by(objects.c.seq))]

    def find(self, kind: str, livemode: bool, **equals: Any) -> list[dict[str, Any]]:
        """Objects of a kind whose top-level fields equal `equals` (None: absent or null), oldest first."""
        query, rest = self._where(sa.select(objects.c.data), kind, livemode, equals)
        found = [json.loads(row[0]) for row in self.conn.execute(query.order_by(objects.c.seq))]
        return [o for o in found if all(o.get(k) == v for k, v in rest.items())] if rest else found

    def page(
        self, kind: str, livemode: bool, *, order_by: str, descending: bool, offset: int, limit: int, **equals: Any
    ) -> tuple[int, list[dict[str, Any]]]:
        """(how many match, one slice of them) ordered by a top-level field, ties by age, in SQL.

        SQLite orders NULL, then numbers, then text (bytewise), as the lists' Python sort key does.
        """
        if not _PLAIN_FIELD.match(order_by):
            raise ValueError(f"cannot order by {order_by!r}")
        counted, rest = self._where(sa.select(sa.func.count()).select_from(objects), kind, livemode, equals)
        if rest:
            raise ValueError(f"page() filters plain values only, not {sorted(rest)}")
        total = int(self.conn.execute(counted).scalar_one())
        direction = sa.desc if descending else sa.asc
        ordered, _ = self._where(sa.select(objects.c.seq), kind, livemode, equals)
        ordered = ordered.order_by(direction(field(order_by)), direction(objects.c.seq)).limit(limit).offset(offset)
        # The slice's seqs come from the index alone; only its own rows are read and decoded.
        seqs = [row[0] for row in self.conn.execute(ordered)]
        rows = dict(self.conn.execute(sa.select(objects.c.seq, objects.c.data).where(objects.c.seq.in_(seqs))).all())
        return total, [json.loads(rows[seq]) for seq in seqs]

    def _where(
        self, query: sa.Select[Any], kind: str, livemode: bool | None, equals: dict[str, Any]
    ) -> tuple[sa.Select[Any], dict[str, Any]]:
        """`query` filtered in SQL by kind, mode and the plain-valued `equals`; the rest to filter in Python."""
        query = query.where(objects.c.kind == kind)
        if livemode is not None:
            query = query.where(objects.c.livemode == livemode)
        rest = {}
        for name, value in equals.items():
            if not _PLAIN_FIELD.match(name) or not (value is None or isinstance(value, str | int | float)):
                rest[name] = value
            elif value is None:
                query = query.where(field(name).is_(None))
            else:
                query = query.where(field(name) == value)
        return query, rest

    def first(self, kind: str, livemode: bool, **equals: Any) -> dict[str, Any] | None:
        found = self.find(kind, livemode, **equals)
        return found[0] if found else None

    def count(self) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(objects)).scalar_one())

    # -- the webhook queue ------------------------------------------------------------------

    def queue_delivery(self, delivery_id: str, event_id: str, endpoint_id: str, livemode: bool, at: float) -> None:
        self.conn.execute(
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

    def claim_deliveries(self, now: float, lease: float, limit: int) -> list[dict[str, Any]]:
        """Pending deliveries due at `now`, leased for `lease` seconds to the caller."""
        due = self.conn.execute(
            sa.select(deliveries)
            .where(deliveries.c.state == "pending", deliveries.c.next_at <= now, deliveries.c.lease_until <= now)
            .order_by(deliveries.c.next_at)
            .limit(limit)
        ).all()
        claimed = [dict(row._mapping) for row in due]
        if claimed:
            self.conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_([d["id"] for d in claimed]))
                .values(lease_until=now + lease)
            )
        return claimed

    def next_delivery_at(self) -> float | None:
        """When the earliest pending delivery falls due (None: nothing pending)."""
        found = self.conn.execute(
            sa.select(sa.func.min(sa.func.max(deliveries.c.next_at, deliveries.c.lease_until))).where(
                deliveries.c.state == "pending"
            )
        ).scalar()
        return None if found is None else float(found)

    def settle_delivery(self, delivery_id: str, *, state: str, attempts: int, next_at: float) -> None:
        self.conn.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(state=state, attempts=attempts, next_at=next_at, lease_until=0.0)
        )

    def release_deliveries(self) -> None:
        """Free the leases of a process that is gone (one process owns a SQLite file)."""
        self.conn.execute(deliveries.update().where(deliveries.c.state == "pending").values(lease_until=0.0))

    def deliveries_of(self, event_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(deliveries).where(deliveries.c.event_id == event_id)).all()
        return [dict(row._mapping) for row in rows]

    # -- sandbox state (the test clock, seeding) ---------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).first()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        if self.get_meta(key) is None:
            self.conn.execute(meta.insert().values(key=key, value=value))
        else:
            self.conn.execute(meta.update().where(meta.c.key == key).values(value=value))


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)
