"""A sandbox for the integration tests, started once per test session on a
free loopback port (answers checked against the document), or any server
named by PAYMENT_KIT_BASE_URL and PAYMENT_KIT_API_KEY (`make integration`).

PAYMENT_KIT_SANDBOX_TEST_BACKEND=postgresql (`make pytest-postgres`) runs the sandbox on a
PostgreSQL server the session starts itself (see tests/postgres_server.py); the default is SQLite."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from postgres_server import PostgresServer, running_postgres

from payment_kit import AsyncPaymentKit, PaymentKit
from payment_kit_sandbox.app import SandboxConfig
from payment_kit_sandbox.control import SandboxControl
from payment_kit_sandbox.server import RunningSandbox, start_in_thread

PRIVATE_KEY = "sk_test_private"  # the key of a module's own `sandbox`
SANDBOX_ONLY = (
    "needs the sandbox-only routes (/sandbox/...: paying a checkout, moving the clock) or a loopback "
    "webhook receiver, which a PaymentKit deployment does not have"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a real deployment (`make integration PAYMENT_KIT_BASE_URL=...`), skip, with the reason,
    the tests that drive the sandbox's own routes."""
    if not os.environ.get("PAYMENT_KIT_INTEGRATION_BASE_URL"):
        return
    for item in items:
        if item.get_closest_marker("sandbox_only"):
            item.add_marker(pytest.mark.skip(reason=SANDBOX_ONLY))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL server on the PostgreSQL leg; None on SQLite."""
    if backend() != "postgresql":
        yield None
        return
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def fresh_database(postgres: PostgresServer | None) -> Callable[[], str]:
    """Makes an empty database of the leg's backend, for a test that starts a sandbox of its own."""
    return postgres.new_database if postgres is not None else lambda: ":memory:"


@pytest.fixture(scope="session")
def shared_sandbox(fresh_database: Callable[[], str]) -> Iterator[RunningSandbox | None]:
    """The session's sandbox, which most integration tests share (telling their objects apart by
    `tag`); None when the tests run against a deployment named in the environment."""
    if os.environ.get("PAYMENT_KIT_INTEGRATION_BASE_URL"):
        yield None
        return
    config = SandboxConfig(db=fresh_database(), api_key="sk_test_integration", validate_responses=True)
    with start_in_thread(config) as running:
        yield running


@pytest.fixture(scope="session")
def server(shared_sandbox: RunningSandbox | None) -> tuple[str, str]:
    """`(base_url, api_key)` of the server under test: the shared sandbox, or the deployment named by
    `make integration PAYMENT_KIT_BASE_URL=... PAYMENT_KIT_API_KEY=...`."""
    if shared_sandbox is None:
        return os.environ["PAYMENT_KIT_INTEGRATION_BASE_URL"], os.environ["PAYMENT_KIT_INTEGRATION_API_KEY"]
    return shared_sandbox.base_url, shared_sandbox.api_key


@pytest.fixture(scope="module")
def sandbox_database(fresh_database: Callable[[], str]) -> str:
    """The database a module's private `sandbox` opens: an empty one of the leg's backend. A module
    that needs another (a SQLite file, say) overrides this fixture."""
    return fresh_database()


@pytest.fixture(scope="module")
def sandbox(sandbox_database: str) -> Iterator[RunningSandbox]:
    """A sandbox of the module's own, on a free loopback port: for tests that read its store, fill it
    with thousands of rows, or must not see (or disturb) the shared sandbox's objects and clock.
    Its key is `sandbox.api_key`."""
    with start_in_thread(SandboxConfig(db=sandbox_database, api_key=PRIVATE_KEY)) as running:
        yield running


def backend() -> str:
    chosen = os.environ.get("PAYMENT_KIT_SANDBOX_TEST_BACKEND") or "sqlite"
    if chosen not in ("sqlite", "postgresql"):
        raise pytest.UsageError(f"PAYMENT_KIT_SANDBOX_TEST_BACKEND must be sqlite or postgresql, not {chosen!r}")
    return chosen


@pytest.fixture
def client(server: tuple[str, str]) -> Iterator[PaymentKit]:
    """A test-mode sync client."""
    base_url, api_key = server
    with PaymentKit(base_url=base_url, api_key=api_key, livemode=False, max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(server: tuple[str, str]) -> AsyncIterator[AsyncPaymentKit]:
    """A test-mode async client."""
    base_url, api_key = server
    async with AsyncPaymentKit(base_url=base_url, api_key=api_key, livemode=False, max_retries=0) as c:
        yield c


@pytest.fixture
def control(server: tuple[str, str]) -> Iterator[SandboxControl]:
    """The sandbox-only routes' client, in test mode."""
    with SandboxControl(*server, livemode=False) as c:
        yield c


@pytest.fixture
def tag() -> str:
    """A value unique to one test, to find its own objects among the session's."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def customer(client: PaymentKit, tag: str) -> object:
    """A fresh test-mode customer (ensured by DID, as PaymentKit does)."""
    return client.customers.retrieve(f"did:abt:z{tag}", create=True)
