"""SQLite storage (SQLAlchemy 2, WAL): one table of JSON documents.

Every PaymentKit object is a row: its id, kind (`customer`, `price`, …),
livemode, and the object itself as JSON. Filters, search and ordering run
over the decoded objects of one kind and mode: simple, exact, and quick
enough for a development server. Each request runs in one transaction, so a
refused request leaves nothing half-written.
"""

from __future__ import annotations

import json
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
meta = sa.Table(
    "sandbox_meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
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
        self._conn: sa.Connection | None = None
        self._lock = threading.RLock()
        self._closed = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One request's unit of work: committed whole, or rolled back whole."""
        with self._lock:
            if self._closed:  # a late webhook retry must not reopen a connection nobody will close
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
        """Closes every SQLite connection the store opened (Python 3.13 warns about any left open)."""
        with self._lock:
            self._closed = True
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
        return [o for o in self.all(kind, livemode) if all(o.get(k) == v for k, v in equals.items())]

    def first(self, kind: str, livemode: bool, **equals: Any) -> dict[str, Any] | None:
        found = self.find(kind, livemode, **equals)
        return found[0] if found else None

    def count(self) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(objects)).scalar_one())

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
