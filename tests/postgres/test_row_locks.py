"""Meter events on PostgreSQL run READ COMMITTED under their customer's lock (database.py's
docstring): events for different customers, sent at once to 2 workers, never conflict (the store's
retry tally stays where it was), one customer's balance drawn by 8 clients at once stays exact
without retries, and the safety nets hold: a SERIALIZABLE request that read a customer's credit
before a READ COMMITTED one changed it is retried, and so is a READ COMMITTED write of a row that
another request changed after it was read."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from payment_kit_sandbox.database import Store
from postgres.test_workers import client_of, start_workers, stop

CLIENTS, EVENTS_EACH = 8, 40


@pytest.fixture(scope="module")
def sandbox(pg_server: Any) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of a 2-worker sandbox on a fresh database."""
    db = pg_server.new_database()
    process, base_url = start_workers(db)
    try:
        yield base_url, db
    finally:
        stop(process)


def recorded_retries(db: str) -> int:
    with Store(db, exclusive=False) as store, store.transaction():
        return store.recorded_retries()


def report_at_once(base_url: str, customers: list[str], event_name: str, tag: str) -> None:
    """CLIENTS clients at once, EVENTS_EACH events each, client n for customers[n % len(customers)]."""

    def send(n: int) -> None:
        with client_of(base_url) as client:
            for i in range(EVENTS_EACH):
                client.meter_events.create(
                    event_name=event_name,
                    payload={"customer_id": customers[n % len(customers)], "value": "1"},
                    identifier=f"{tag}-{n}-{i}",
                )

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send, range(CLIENTS)))


def granted_customers(base_url: str, count: int) -> tuple[list[str], str, str]:
    """`count` customers holding 1000 credits each, and the meter's event name and currency."""
    tag = uuid.uuid4().hex[:10]
    with client_of(base_url) as client:
        meter = client.meters.create(name=f"calls {tag}", event_name=f"calls_{tag}", aggregation_method="sum", unit="c")
        customers = [client.customers.retrieve(f"did:abt:z{tag}{n}", create=True).id for n in range(count)]
        for customer in customers:
            client.credit_grants.create(
                customer_id=customer, amount="1000", currency_id=meter.currency_id, category="promotional"
            )
    return customers, meter.event_name, meter.currency_id


def remaining(base_url: str, customer: str, currency: str) -> str:
    with client_of(base_url) as client:
        return str(client.credit_grants.summary(customer_id=customer)[currency].remaining_amount)


def test_events_for_different_customers_never_conflict(sandbox: tuple[str, str]) -> None:
    base_url, db = sandbox
    customers, event_name, currency = granted_customers(base_url, CLIENTS)
    before = recorded_retries(db)
    report_at_once(base_url, customers, event_name, uuid.uuid4().hex[:10])
    assert recorded_retries(db) == before
    # 1000 credits (2 decimals) less EVENTS_EACH events of 1 credit each.
    assert {remaining(base_url, c, currency) for c in customers} == {str(100_000 - 100 * EVENTS_EACH)}


def test_one_customers_hot_balance_stays_exact_and_waits_rather_than_retries(sandbox: tuple[str, str]) -> None:
    base_url, db = sandbox
    [customer], event_name, currency = granted_customers(base_url, 1)
    before = recorded_retries(db)
    report_at_once(base_url, [customer], event_name, uuid.uuid4().hex[:10])
    assert recorded_retries(db) == before
    assert remaining(base_url, customer, currency) == str(100_000 - 100 * CLIENTS * EVENTS_EACH)
    with client_of(base_url) as client:
        listed = client.credit_transactions.list(customer_id=customer, page_size=1)
    assert listed.count == CLIENTS * EVENTS_EACH


GRANT = {"id": "cg_locked", "livemode": False, "customer_id": "cus_locked", "remaining_amount": "100"}


def test_a_serializable_request_that_read_the_credit_before_a_locked_change_is_retried(pg_url: str) -> None:
    with Store(pg_url) as worker, Store(pg_url) as other:
        worker.run(lambda: worker.insert("credit_grant", dict(GRANT)))
        read, changed = threading.Event(), threading.Event()

        def draw() -> None:  # a meter event's draw, as another worker runs it
            read.wait(30)

            def locked() -> None:
                other.lock_customer("cus_locked")
                grant = other.get("credit_grant", "cg_locked", False)
                assert grant is not None
                other.save("credit_grant", {**grant, "remaining_amount": str(int(grant["remaining_amount"]) - 30)})

            other.run(locked, read_committed=True)
            changed.set()

        drawing = threading.Thread(target=draw)
        drawing.start()
        seen: list[str] = []

        def spend_the_rest() -> None:  # reads the credit, then (after the draw commits) writes from it
            grant = worker.get("credit_grant", "cg_locked", False)
            assert grant is not None
            seen.append(grant["remaining_amount"])
            if not read.is_set():
                read.set()
                changed.wait(30)
            worker.save("credit_grant", {**grant, "remaining_amount": "0", "spent": grant["remaining_amount"]})

        worker.run(spend_the_rest)
        drawing.join()
        assert seen == ["100", "70"] and worker.retries == 1
        with worker.transaction():
            assert worker.get("credit_grant", "cg_locked", False) == {**GRANT, "remaining_amount": "0", "spent": "70"}
            assert worker.recorded_retries() == 1


def test_a_read_committed_write_of_a_row_changed_since_it_was_read_is_retried(pg_url: str) -> None:
    with Store(pg_url) as worker, Store(pg_url) as other:
        worker.run(lambda: worker.insert("credit_grant", dict(GRANT)))
        attempts: list[str] = []

        def unlocked_draw() -> None:  # no lock taken: the row's own check is the net
            grant = worker.get("credit_grant", "cg_locked", False)
            assert grant is not None
            attempts.append(grant["remaining_amount"])
            if len(attempts) == 1:  # meanwhile another request changes the row, and commits
                other.run(lambda: other.save("credit_grant", {**GRANT, "remaining_amount": "90"}))
            worker.save("credit_grant", {**grant, "remaining_amount": str(int(grant["remaining_amount"]) - 5)})

        worker.run(unlocked_draw, read_committed=True)
        assert attempts == ["100", "90"] and worker.retries == 1
        with worker.transaction():
            assert worker.get("credit_grant", "cg_locked", False) == {**GRANT, "remaining_amount": "85"}
