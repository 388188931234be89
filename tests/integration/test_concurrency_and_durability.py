"""Exact operations under concurrent writers, and durability through a SIGKILL: a sandbox on a
SQLite file, 8 writers at once; then a sandbox process killed in a burst of writes keeps every
write it acknowledged, and its database passes `PRAGMA integrity_check`."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from waiting import wait_until

from payment_kit import BadRequestError, PaymentKit
from payment_kit_sandbox.server import RunningSandbox, free_port

pytestmark = pytest.mark.sandbox_only  # sandboxes of its own, one of them killed

KEY = "sk_concurrency"  # the killed sandbox process's
WRITERS = 8
URLS = {"success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cancel"}


@pytest.fixture(scope="module")
def sandbox_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The module's `sandbox` (tests/integration/conftest.py) writes to a SQLite file, whatever the leg."""
    return str(tmp_path_factory.mktemp("concurrency") / "sandbox.sqlite")


def client_for(sandbox: RunningSandbox) -> PaymentKit:
    return PaymentKit(base_url=sandbox.base_url, api_key=sandbox.api_key, livemode=False, max_retries=0, timeout=60)


def in_parallel(work: Callable[[PaymentKit, int], list[Any]], sandbox: RunningSandbox) -> list[Any]:
    """`work(client, writer)` on WRITERS threads at once, each with its own client; the results joined."""
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> list[Any]:
        with client_for(sandbox) as client:
            start.wait()
            return work(client, n)

    with ThreadPoolExecutor(WRITERS) as pool:
        return [result for results in pool.map(writer, range(WRITERS)) for result in results]


def test_8_writers_x_200_meter_events_end_with_an_exact_balance(sandbox: RunningSandbox) -> None:
    tag = uuid.uuid4().hex[:10]
    with client_for(sandbox) as client:
        customer = client.customers.retrieve(f"did:abt:z{tag}", create=True)
        meter = client.meters.create(name="c", event_name=f"conc_{tag}", aggregation_method="sum", unit="u")
        for amount in ("500", "400", "300"):  # 1,200 credits for 1,600 events of 1 credit
            client.credit_grants.create(
                customer_id=customer.id, amount=amount, currency_id=meter.currency_id, category="paid"
            )

    def report(client: PaymentKit, writer: int) -> list[str]:
        for n in range(200):
            payload = {"customer_id": customer.id, "value": "1"}
            client.meter_events.create(event_name=meter.event_name, payload=payload, identifier=f"{writer}-{n}")
        return []

    in_parallel(report, sandbox)
    with client_for(sandbox) as client:
        events = list(client.meter_events.list(event_name=meter.event_name, page_size=100).auto_paging_iter())
        assert len(events) == WRITERS * 200 and len({e.identifier for e in events}) == WRITERS * 200
        grants = client.credit_grants.list(customer_id=customer.id, page_size=100).list
        assert sorted(int(g.remaining_amount) for g in grants) == [0, 0, 0]  # all spent, none below zero
        rows = list(client.credit_transactions.list(customer_id=customer.id, page_size=100).auto_paging_iter())
        assert len({r.id for r in rows}) == len(rows)
        assert len({(r.source, r.credit_grant.id) for r in rows}) == len(rows), "an event charged a grant twice"
        assert sum(int(r.credit_amount) for r in rows) == 120_000  # 1,200 credits, in units of 2 decimals
        owed = client.meter_events.pending_amount(customer_id=customer.id)
        assert owed[meter.currency_id] == "40000"  # the 400 credits the grants could not cover


def test_promotion_code_redemptions_stop_at_max_redemptions(sandbox: RunningSandbox) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    with client_for(sandbox) as client:
        coupon = client.coupons.create(name="c", percent_off=10, duration="once").coupon
        promo = client.promotion_codes.create(coupon_id=coupon.id, code=f"MAX{tag}", max_redemptions=5)

    def redeem(client: PaymentKit, writer: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}) as http:
            for n in range(4):
                customer = f"did:abt:zbuyer{tag}{writer}x{n}"
                client.customers.retrieve(customer, create=True)
                body = {"code": promo.code, "customer_id": customer, "livemode": False}
                answer = http.post("/sandbox/promotion-codes/redeem", json=body)
                assert answer.status_code == 200 or "max_redemptions" in answer.json()["error"], answer.text
                statuses.append(answer.status_code)
        return statuses

    statuses = in_parallel(redeem, sandbox)
    assert statuses.count(200) == 5 and statuses.count(400) == WRITERS * 4 - 5
    with client_for(sandbox) as client:
        assert client.promotion_codes.retrieve(promo.id).times_redeemed == 5
        assert client.promotion_codes.redemptions(promo.id).count == 5


def test_price_inventory_is_never_oversold(sandbox: RunningSandbox) -> None:
    tag = uuid.uuid4().hex[:8]
    with client_for(sandbox) as client:
        product = client.products.create(name=f"Stock {tag}", type="good")
        price = client.prices.create(product_id=product.id, unit_amount="0.001", quantity_available=10)

    # Every session is made before any is paid: making one checks the stock too, and would be
    # refused once another writer had sold the last unit.
    all_made = threading.Barrier(WRITERS)

    def buy(client: PaymentKit, writer: int) -> list[int]:
        sessions = [
            client.checkout.sessions.create(line_items=[{"price_id": price.id, "quantity": 1}], mode="payment", **URLS)
            for _ in range(3)
        ]
        all_made.wait(timeout=60)
        statuses = []
        with httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}) as http:
            for n, session in enumerate(sessions):
                payer = {"customer_did": f"did:abt:zstock{tag}{writer}x{n}", "livemode": False}
                answer = http.post(f"/sandbox/checkout-sessions/{session.id}/complete", json=payer)
                assert answer.status_code == 200 or "left in stock" in answer.json()["error"], answer.text
                statuses.append(answer.status_code)
        return statuses

    statuses = in_parallel(buy, sandbox)
    assert statuses.count(200) == 10 and statuses.count(400) == WRITERS * 3 - 10
    with client_for(sandbox) as client:
        sold = client.prices.retrieve(price.id)
        assert (sold.quantity_available, sold.quantity_sold) == (10, 10)
        try:  # an eleventh sale is refused, when the session is made or when it is paid
            session = client.checkout.sessions.create(
                line_items=[{"price_id": price.id, "quantity": 1}], mode="payment", **URLS
            )
        except BadRequestError as refused:
            assert "stock" in str(refused)
        else:
            late = httpx.post(
                f"{sandbox.base_url}/sandbox/checkout-sessions/{session.id}/complete",
                json={"customer_did": "did:abt:zlate", "livemode": False},
                headers={"Authorization": f"Bearer {sandbox.api_key}"},
            )
            assert late.status_code == 400 and "left in stock" in late.json()["error"]


# -- durability ----------------------------------------------------------------------------------


def start_process(db: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "payment_kit_sandbox", "--db", str(db), "--port", str(port), "--api-key", KEY],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/sandbox/health", headers={"Authorization": f"Bearer {KEY}"})
            return True
        return False

    try:
        wait_until(answers, timeout=20, message="the sandbox process to start")
    except AssertionError:
        process.kill()
        process.wait(10)
        raise
    return process


def test_a_sigkill_in_a_burst_of_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db, port = tmp_path / "killed.sqlite", free_port()
    process = start_process(db, port)
    acknowledged: list[str] = []
    stop = threading.Event()

    def write(writer: int) -> None:
        with PaymentKit(base_url=f"http://127.0.0.1:{port}", api_key=KEY, livemode=False, max_retries=0) as client:
            n = 0
            while not stop.is_set():
                try:
                    product = client.products.create(name=f"burst {writer}-{n}", type="service")
                except Exception:
                    return  # the server is gone: this write was never acknowledged
                acknowledged.append(product.id)
                n += 1

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(acknowledged) >= 300, timeout=120, message="300 acknowledged writes")
        os.kill(process.pid, signal.SIGKILL)  # mid-burst: writes are in flight
        process.wait(10)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        if process.poll() is None:
            process.kill()
            process.wait(10)

    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    process = start_process(db, port)
    try:
        with PaymentKit(base_url=f"http://127.0.0.1:{port}", api_key=KEY, livemode=False) as client:
            stored = {p.id for p in client.products.list(page_size=100).auto_paging_iter()}
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged writes lost"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
