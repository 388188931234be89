"""The database the sandbox is given: a fresh one gets the tables and the schema version; an
older schema is upgraded; a newer or foreign one is refused, saying why; an unreachable or
refusing PostgreSQL fails the start at once, naming host and port and never the password."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from postgres_server import PASSWORD, PostgresServer

from payment_kit_sandbox.database import SCHEMA_VERSION, DatabaseUnavailable, SchemaMismatch, Store
from payment_kit_sandbox.server import free_port


@pytest.fixture(params=["postgresql", "sqlite"])
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes empty databases of the backend."""
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        assert isinstance(server, PostgresServer)
        return server.new_database
    return lambda: str(tmp_path / f"sandbox-{time.monotonic_ns()}.sqlite")


def execute(store: Store, sql: str) -> None:
    with store.transaction():
        store.conn.exec_driver_sql(sql)


def recorded_version(db: str) -> str | None:
    with Store(db) as store, store.transaction():
        return store.get_meta("schema_version")


def test_a_fresh_database_gets_the_tables_and_the_version(new_db: Callable[[], str]) -> None:
    db = new_db()
    assert recorded_version(db) == str(SCHEMA_VERSION)
    with Store(db) as store, store.transaction():  # and a second start finds them as they are
        assert {"objects", "sandbox_meta", "webhook_deliveries"} <= set(sa.inspect(store.conn).get_table_names())


def test_the_unversioned_schema_is_upgraded_keeping_its_objects(new_db: Callable[[], str]) -> None:
    db = new_db()
    with Store(db) as store:  # made as version 1 was: no version row, no unique identifier index
        execute(store, "DELETE FROM sandbox_meta WHERE key = 'schema_version'")
        execute(store, "DROP INDEX objects_meter_event_identifier")
        with store.transaction():
            store.insert("meter_event", {"id": "mevt_old", "livemode": False, "identifier": "i-1"})
    with Store(db) as store:
        with store.transaction():
            assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
            assert store.get("meter_event", "mevt_old", False) == {
                "id": "mevt_old",
                "livemode": False,
                "identifier": "i-1",
            }
        with pytest.raises(sa.exc.IntegrityError), store.transaction():  # the upgrade's unique index holds
            store.insert("meter_event", {"id": "mevt_new", "livemode": False, "identifier": "i-1"})


@pytest.mark.parametrize(
    ("value", "message"),
    [(str(SCHEMA_VERSION + 1), "newer than this sandbox's"), ("v2-beta", "unknown sandbox schema version 'v2-beta'")],
)
def test_a_newer_or_unknown_version_is_refused(new_db: Callable[[], str], value: str, message: str) -> None:
    db = new_db()
    with Store(db) as store:
        execute(store, f"UPDATE sandbox_meta SET value = '{value}' WHERE key = 'schema_version'")
    with pytest.raises(SchemaMismatch, match=message) as refused:
        Store(db)
    assert PASSWORD not in str(refused.value)


def test_a_database_of_other_tables_is_refused(new_db: Callable[[], str]) -> None:
    db = new_db()
    with Store(db) as store:
        execute(store, "DROP TABLE sandbox_meta")
    with pytest.raises(SchemaMismatch, match="not a payment-kit sandbox database"):
        Store(db)


def test_an_unreachable_database_fails_fast_naming_host_and_port_not_the_password() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as failed:
        Store(f"postgresql://team:hunter2-secret@127.0.0.1:{port}/sandbox")
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{port}" in str(failed.value) and "hunter2" not in str(failed.value)


def test_a_wrong_password_fails_the_cli_without_showing_it(pg_server: PostgresServer) -> None:
    url = pg_server.url(password="hunter2-wrong")
    finished = subprocess.run(
        [sys.executable, "-m", "payment_kit_sandbox", "--db", url, "--workers", "2", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert finished.returncode == 2
    assert f"127.0.0.1:{pg_server.port}" in finished.stderr and "password authentication failed" in finished.stderr
    assert "hunter2" not in finished.stderr + finished.stdout


@pytest.mark.parametrize("url", ["mysql://team:hunter2-secret@db:3306/sandbox", "odd://team:hunter2@[bad"])
def test_an_unsupported_database_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL") as refused:
        Store(url)
    assert "hunter2" not in str(refused.value)
