"""The PostgreSQL leg's server: one per test session, on a free loopback port, removed after
(without PostgreSQL on the machine the leg skips, saying why: `postgres_server.require_postgres`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgres_server import PostgresServer, running_postgres


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh, empty database."""
    return pg_server.new_database()
