"""Meter events on PostgreSQL run READ COMMITTED under their customer's lock (database.py's
docstring): events for different customers, sent at once to 2 workers, never conflict (the store's
retry tally stays where it was), one customer's balance drawn by 8 clients at once stays exact
without retries, and the safety nets hold: a SERIALIZABLE request that read a customer's credit
before a READ COMMITTED one changed it is retried, and so is a READ COMMITTED write of a row that
another request changed after it was read; and auto-recharges raised by events beside purchases at
checkout keep the customer's invoice numbers and credit exact."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from payment_kit_sandbox.control import SandboxControl
from payment_kit_sandbox.database import Store
from postgres.test_workers import KEY, client_of, start_workers, stop

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

        def note_the_balance() -> None:  # reads the credit; after the draw commits, writes a new row from it
            grant = worker.get("credit_grant", "cg_locked", False)
            assert grant is not None
            seen.append(grant["remaining_amount"])
            if not read.is_set():
                read.set()
                changed.wait(30)
            # Not the drawn row: PostgreSQL's own check of a row updated after the snapshot would not
            # see this one go stale; the lock's version does.
            note = {
                "id": "ctxn_note",
                "livemode": False,
                "customer_id": "cus_locked",
                "balance": grant["remaining_amount"],
            }
            worker.insert("credit_transaction", note)

        worker.run(note_the_balance)
        drawing.join()
        assert seen == ["100", "70"] and worker.retries == 1
        with worker.transaction():
            assert worker.get("credit_transaction", "ctxn_note", False)["balance"] == "70"  # type: ignore[index]
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


def test_auto_recharges_and_purchases_at_once_keep_invoice_numbers_and_credit_exact(
    sandbox: tuple[str, str],
) -> None:
    """Events (READ COMMITTED) recharge while checkouts (SERIALIZABLE) buy packs, for one customer on 2
    workers: both raise invoices on the customer's counter and grant credit, so the lock must order them."""
    base_url, _ = sandbox
    tag = uuid.uuid4().hex[:10]
    with client_of(base_url) as client:
        meter = client.meters.create(name=f"calls {tag}", event_name=f"calls_{tag}", aggregation_method="sum", unit="c")
        product = client.products.create(name=f"Credits {tag}", type="credit")
        pack = client.prices.create(
            product_id=product.id,
            type="one_time",
            unit_amount="5",
            metadata={"credit_config": {"currency_id": meter.currency_id, "credit_amount": "500"}},
        )
        customer = client.customers.retrieve(f"did:abt:z{tag}", create=True)
        client.credit_grants.create(
            customer_id=customer.id, amount="10", currency_id=meter.currency_id, category="promotional"
        )
        config = client.auto_recharge_configs.submit(
            customer_id=customer.id,
            currency_id=meter.currency_id,
            enabled=True,
            threshold=50,
            price_id=pack.id,
            quantity=1,
            daily_limits={"max_attempts": 6, "max_amount": 0},
        )

    def use(n: int) -> None:
        with client_of(base_url) as client:
            for i in range(5):
                client.meter_events.create(
                    event_name=meter.event_name,
                    payload={"customer_id": customer.id, "value": "20"},
                    identifier=f"{tag}-{n}-{i}",
                )

    def buy(_: int) -> None:
        with client_of(base_url) as client, SandboxControl(base_url, KEY, livemode=False) as control:
            session = client.checkout.sessions.create(
                mode="payment",
                line_items=[{"price_id": pack.id, "quantity": 1}],
                success_url="https://example.com/ok",
                cancel_url="https://example.com/no",
            )
            control.complete_checkout(session.id, customer_did=customer.did)

    with ThreadPoolExecutor(CLIENTS) as pool:
        done = [pool.submit(use, n) for n in range(6)] + [pool.submit(buy, n) for n in range(3)]
        for future in done:
            future.result()

    with client_of(base_url) as client:
        invoices = list(client.invoices.list(customer_id=customer.id, page_size=100).list)
        recharges = [i for i in invoices if i.billing_reason == "auto_recharge"]
        assert 1 <= len(recharges) <= 6 and len(invoices) == len(recharges) + 3
        assert all(i.status == "paid" for i in invoices)
        prefix = customer.invoice_prefix
        assert sorted(i.number for i in invoices) == [f"{prefix}-{n:04d}" for n in range(1, len(invoices) + 1)]
        assert client.auto_recharge_configs.retrieve(config.id).daily_stats.attempt_count == len(recharges)
        summary = client.credit_grants.summary(customer_id=customer.id)[meter.currency_id]
        granted = 1000 + 50_000 * len(invoices)  # the welcome grant, and each paid pack
        used = 30 * 2000  # 30 events of 20 credits, none left owing: the first recharge pays the first debt
        assert int(summary.remaining_amount) == granted - used
