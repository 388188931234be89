"""The webhook outbox through a crash: a sandbox process killed between a commit and its answer
(the test-only fault `PAYMENT_KIT_SANDBOX_TEST_EXIT_AFTER_COMMITS`, see
payment_kit_sandbox/fault_injection.py) leaves the events of every write it committed, and their
deliveries, in the database, and none of any write it did not commit; the next process on the
database delivers them. On SQLite (a file) and, on the PostgreSQL leg, on PostgreSQL."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from postgres_server import PostgresServer
from waiting import wait_for

from integration.test_webhooks import Receiver, sandbox_process
from payment_kit import APIConnectionError, PaymentKit
from payment_kit_sandbox.control import SandboxControl
from payment_kit_sandbox.database import Store
from payment_kit_sandbox.fault_injection import ENV_EXIT_AFTER_COMMITS, EXIT_STATUS

pytestmark = pytest.mark.sandbox_only  # sandbox processes of its own, one of them made to die

KEY = "sk_kill"  # the key `sandbox_process` starts its sandboxes with
COMMITS = 6  # the process dies once this many writes that queued deliveries have committed
WRITERS = 3
RETRY_DELAYS = ",".join(["1"] * 10)  # ten retries a second apart: the receiver refuses until the restart


@pytest.fixture
def database(tmp_path: Path, postgres: PostgresServer | None) -> str:
    """A database that outlives the sandbox processes of one test: the leg's backend."""
    return postgres.new_database() if postgres is not None else str(tmp_path / "sandbox.sqlite")


def client_of(base_url: str) -> PaymentKit:
    return PaymentKit(base_url=base_url, api_key=KEY, livemode=False, max_retries=0, timeout=30)


def test_every_committed_write_has_its_events_delivered_after_a_crash_between_commit_and_answer(
    database: str,
) -> None:
    tag = uuid.uuid4().hex[:10]
    receiver = Receiver(503)  # down while the first process runs: nothing is delivered before the crash
    armed = {ENV_EXIT_AFTER_COMMITS: str(COMMITS), "PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT": "2"}
    process, base_url = sandbox_process(database, RETRY_DELAYS, **armed)
    answered: dict[str, str | None] = {}  # each product name sent: the id its answer named, None without one
    try:
        with client_of(base_url) as client:
            endpoint = client.webhook_endpoints.create(url=receiver.url, enabled_events=["product.created"])

        def write(writer: int) -> None:
            with client_of(base_url) as client:
                for n in range(50):
                    name = f"{tag} {writer}-{n}"
                    answered[name] = None
                    try:
                        answered[name] = client.products.create(name=name, type="service").id
                    except APIConnectionError:  # the process died under this write, or before it
                        return

        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(write, range(WRITERS)))
        assert process.wait(timeout=30) == EXIT_STATUS  # it died where the fault said, of nothing else
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    with receiver._lock:
        refused_before = len(receiver.received)
        receiver.statuses[:] = [200]  # up for the process that takes over
    process, base_url = sandbox_process(database, RETRY_DELAYS, PAYMENT_KIT_SANDBOX_WEBHOOK_TIMEOUT="2")
    try:
        with client_of(base_url) as client, SandboxControl(base_url, KEY, livemode=False) as control:
            stored = {p.name: p.id for p in client.products.list(page_size=100).auto_paging_iter()}
            events = control.events(type="product.created", limit=100)["list"]
        committed = {name for name in stored if name.startswith(tag)}
        acknowledged = {name for name, product_id in answered.items() if product_id}
        print(
            f"\nsent {len(answered)} writes; {len(acknowledged)} answered, {len(committed)} committed "
            f"({len(committed - acknowledged)} committed without an answer); {refused_before} deliveries "
            "refused before the crash"
        )
        # The N-th commit, and any other writer's that committed in its worker thread while the
        # process was dying: committed, never answered.
        assert len(committed) >= COMMITS and acknowledged < committed
        assert len(acknowledged) < COMMITS
        # One event for each committed write, and none for a write that did not commit.
        assert sorted(e["data"]["object"]["name"] for e in events) == sorted(committed)
        assert sorted(e["object_id"] for e in events) == sorted(stored[name] for name in committed)

        def delivered_after_restart() -> set[str]:
            with receiver._lock:
                return {r["body"]["data"]["object"]["name"] for r in receiver.received[refused_before:]}

        wait_for(delivered_after_restart, lambda got: got >= committed, timeout=30, message="every event delivered")
        with Store(database, exclusive=False) as store:

            def deliveries() -> list[dict[str, Any]]:
                with store.transaction():
                    return [row for event in events for row in store.deliveries_of(event["id"])]

            rows = wait_for(deliveries, lambda rows: all(r["state"] != "pending" for r in rows), timeout=30)
        assert [(r["endpoint_id"], r["state"]) for r in rows] == [(endpoint.id, "delivered")] * len(committed)
    finally:
        process.terminate()
        process.wait(timeout=10)
        receiver.stop()
