"""Several worker processes on one database stay exact: meter events sent concurrently (a
quarter of them twice) draw each identifier's credit once, a promotion code with
`max_redemptions: 5` redeemed 20 times at once is redeemed exactly 5 times, each webhook
is delivered once whichever worker claims it, and the clock is one for all. The sandbox runs as
users run it, `payment-kit sandbox --workers 2`, on PostgreSQL and on a shared SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from integration.test_test_clocks import metered_item, plan, subscribe_by_checkout
from integration.test_webhooks import Receiver
from postgres_server import PostgresServer, require_postgres
from waiting import wait_for, wait_until

from payment_kit import PaymentKit
from payment_kit_sandbox.control import SandboxControl
from payment_kit_sandbox.database import Store
from payment_kit_sandbox.server import free_port

KEY = "sk_test_workers"
CLIENTS, EVENTS_EACH = 8, 100
TWICE = EVENTS_EACH // 4
DATABASES: dict[str, str] = {}  # the database of each sandbox start_workers started, by base URL


def start_workers(db: str, workers: int = 2) -> tuple[subprocess.Popen[str], str]:
    """`python -m payment_kit_sandbox --workers N` on a free port, once it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYMENT_KIT_SANDBOX_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "payment_kit_sandbox", "--port", str(port), "--db", db, "--workers", str(workers),
         "--api-key", KEY],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            _, errors = process.communicate()
            raise RuntimeError(f"the sandbox exited: {errors}")
        try:
            return (
                httpx.get(f"{base_url}/sandbox/health", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
            )
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, timeout=60, message="the sandbox's workers to answer")
    except AssertionError:
        stop(process)
        raise
    DATABASES[base_url] = db
    return process, base_url


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@pytest.fixture(params=["postgresql", "sqlite"], scope="module")
def two_workers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "postgresql":
        require_postgres()
        server = request.getfixturevalue("pg_server")
        assert isinstance(server, PostgresServer)
        db = server.new_database()
    else:
        db = str(Path(tmp_path_factory.mktemp("workers")) / "team.sqlite")
    process, base_url = start_workers(db)
    try:
        yield base_url
    finally:
        stop(process)


def client_of(base_url: str) -> PaymentKit:
    return PaymentKit(base_url=base_url, api_key=KEY, livemode=False, max_retries=0, timeout=60)


def test_meter_events_from_8_clients_draw_each_identifier_once(two_workers: str) -> None:
    tag = uuid.uuid4().hex[:10]
    with client_of(two_workers) as client:
        customer = client.customers.retrieve(f"did:abt:z{tag}", create=True)
        meter = client.meters.create(name=f"calls {tag}", event_name=f"calls_{tag}", aggregation_method="sum", unit="c")
        grant = client.credit_grants.create(
            customer_id=customer.id, amount="10000", currency_id=meter.currency_id, category="promotional"
        )
    assert grant.amount == "1000000"  # 10000 credits with 2 decimals, in units

    def identifiers(n: int) -> list[str]:
        # Each client sends its own 100, then again the first quarter of the next client's:
        # a duplicate usually races the original on the other worker.
        own = [f"{tag}-{n}-{i}" for i in range(EVENTS_EACH)]
        return own + [f"{tag}-{(n + 1) % CLIENTS}-{i}" for i in range(TWICE)]

    def send(n: int) -> list[tuple[str, str]]:
        with client_of(two_workers) as client:
            return [
                (key, client.meter_events.create(
                    event_name=meter.event_name, payload={"customer_id": customer.id, "value": "1"}, identifier=key
                ).id)
                for key in identifiers(n)
            ]  # fmt: skip

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [pair for sent in pool.map(send, range(CLIENTS)) for pair in sent]

    assert len(answers) == CLIENTS * (EVENTS_EACH + TWICE)
    event_of: dict[str, str] = {}
    for key, event_id in answers:  # a duplicate answers the first event, never a second one
        assert event_of.setdefault(key, event_id) == event_id
    assert len(event_of) == CLIENTS * EVENTS_EACH == len(set(event_of.values()))

    with client_of(two_workers) as client:
        summary = client.credit_grants.summary(customer_id=customer.id)[meter.currency_id]
        assert summary.remaining_amount == str(1_000_000 - 100 * CLIENTS * EVENTS_EACH)
        rows: list[Any] = []
        page = 1
        while True:
            listed = client.credit_transactions.list(customer_id=customer.id, page=page, page_size=100)
            rows += listed.list
            if len(rows) >= listed.count or not listed.list:
                break
            page += 1
    assert listed.count == len(rows) == CLIENTS * EVENTS_EACH
    assert sorted(row.source for row in rows) == sorted(event_of.values())  # one transaction per identifier
    assert {(row.quantity, row.credit_amount) for row in rows} == {("1", "100")}


def test_20_concurrent_redemptions_of_a_code_limited_to_5(two_workers: str) -> None:
    tag = uuid.uuid4().hex[:10]
    code = f"W{tag}".upper()
    with client_of(two_workers) as client:
        made = client.coupons.create(
            name=f"limited {tag}",
            percent_off=10,
            duration="once",
            promotion_codes=[{"code": code, "max_redemptions": 5}],
        )
        buyers = [client.customers.retrieve(f"did:abt:z{tag}{n}", create=True) for n in range(20)]

    def redeem(customer_id: str) -> httpx.Response:
        return httpx.post(
            f"{two_workers}/sandbox/promotion-codes/redeem?livemode=false",
            json={"code": code, "customer_id": customer_id},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(redeem, [b.id for b in buyers]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 5 + [400] * 15, [a.text for a in answers if a.status_code not in (200, 400)]
    assert all("max_redemptions" in a.json()["error"] for a in answers if a.status_code == 400)
    with client_of(two_workers) as client:
        assert client.promotion_codes.retrieve(made.promotion_codes[0].id).times_redeemed == 5
        assert client.coupons.retrieve(made.coupon.id).times_redeemed == 5


def test_one_idempotency_key_sent_by_12_clients_at_once_makes_one_object(two_workers: str) -> None:
    tag = uuid.uuid4().hex[:10]
    key = f"idem-{tag}"

    def create(_: int) -> str:
        with client_of(two_workers) as client:
            return str(client.products.create(name=f"once {tag}", type="service", idempotency_key=key).id)

    with ThreadPoolExecutor(12) as pool:
        made = set(pool.map(create, range(12)))
    assert len(made) == 1
    with client_of(two_workers) as client:
        assert [p.id for p in client.products.search(query=f"once {tag}").list] == sorted(made)


def a_stocked_price(client: PaymentKit, tag: str, stock: int) -> Any:
    product = client.products.create(name=f"stock {tag}", type="service")
    return client.prices.create(product_id=product.id, unit_amount="0.001", quantity_available=stock)


def test_20_concurrent_purchases_of_5_in_stock_sell_5_with_consecutive_invoice_numbers(two_workers: str) -> None:
    tag = uuid.uuid4().hex[:10]
    with client_of(two_workers) as client:
        price = a_stocked_price(client, tag, 5)
        sessions = [
            client.checkout.sessions.create(
                mode="payment",
                line_items=[{"price_id": price.id, "quantity": 1}],
                success_url="https://example.com/ok",
                cancel_url="https://example.com/no",
            ).id
            for _ in range(20)
        ]

    def pay(session_id: str) -> httpx.Response:  # one buyer: every paid session raises its next invoice
        return httpx.post(
            f"{two_workers}/sandbox/checkout-sessions/{session_id}/complete?livemode=false",
            json={"customer_did": f"did:abt:z{tag}"},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(pay, sessions))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [400] * 15, [a.text for a in answers]
    assert all("left in stock" in a.json()["error"] for a in answers if a.status_code == 400)
    with client_of(two_workers) as client:
        sold = client.prices.retrieve(price.id)
        assert (sold.quantity_available, sold.quantity_sold) == (5, 5)
        numbers = sorted(client.invoices.retrieve(a.json()["invoice_id"]).number for a in answers if a.is_success)
        customer = client.customers.retrieve(f"z{tag}")
    prefix = numbers[0].rsplit("-", 1)[0]
    assert numbers == [f"{prefix}-{n:04d}" for n in range(1, 6)]  # each number once, none skipped
    assert customer.next_invoice_sequence == 6


def test_each_webhook_is_delivered_once_whichever_worker_claims_it(two_workers: str) -> None:
    tag = uuid.uuid4().hex[:10]
    receiver = Receiver(200)
    try:
        with client_of(two_workers) as client:
            endpoint = client.webhook_endpoints.create(url=receiver.url, enabled_events=["customer.created"])

        def create(n: int) -> str:
            with client_of(two_workers) as client:
                return str(client.customers.retrieve(f"did:abt:z{tag}h{n}", create=True).id)

        with ThreadPoolExecutor(8) as pool:
            made = set(pool.map(create, range(40)))

        def mine() -> list[dict[str, Any]]:
            return [e for e in receiver.events() if e["data"]["object"]["id"] in made]

        events = wait_for(mine, lambda got: len(got) >= len(made), timeout=30)
        # Each delivery settled after one try (a pending row is one a worker may still try): nothing more comes.
        with Store(DATABASES[two_workers], exclusive=False) as store:

            def deliveries() -> list[dict[str, Any]]:
                with store.transaction():
                    return [row for event in events for row in store.deliveries_of(event["id"])]

            rows = wait_for(
                deliveries, lambda rows: all(r["state"] != "pending" for r in rows), timeout=30, message="settled"
            )
        assert [(r["state"], r["attempts"]) for r in rows] == [("delivered", 1)] * len(made)
        assert sorted(e["data"]["object"]["id"] for e in mine()) == sorted(made)
        with client_of(two_workers) as client:
            client.webhook_endpoints.delete(endpoint.id)
    finally:
        receiver.stop()


def test_one_clock_for_every_worker(two_workers: str) -> None:
    """The clock moves for everything in the sandbox (no other test here depends on where it stands)."""
    auth = {"Authorization": f"Bearer {KEY}"}
    before = httpx.get(f"{two_workers}/sandbox/health", headers=auth).json()["now"]
    moved = httpx.post(f"{two_workers}/sandbox/clock/advance", json={"seconds": 86400}, headers=auth, timeout=60)
    assert moved.status_code == 200, moved.text
    with ThreadPoolExecutor(8) as pool:  # fresh connections: the kernel spreads them over both workers
        seen = list(
            pool.map(lambda _: httpx.get(f"{two_workers}/sandbox/health", headers=auth).json()["now"], range(40))
        )
    assert min(seen) >= before + 86400


def test_what_the_workers_stored_outlives_them(pg_url: str) -> None:
    """A team's sandbox restarts (a deploy, a crash) without losing its objects or its clock."""
    process, base_url = start_workers(pg_url)
    try:
        with client_of(base_url) as client:
            product = client.products.create(name="kept", type="service")
        auth = {"Authorization": f"Bearer {KEY}"}
        moved = httpx.post(f"{base_url}/sandbox/clock/advance", json={"seconds": 7 * 86400}, headers=auth, timeout=60)
        assert moved.status_code == 200, moved.text
    finally:
        stop(process)
    process, base_url = start_workers(pg_url)
    try:
        with client_of(base_url) as client:
            assert client.products.retrieve(product.id).name == "kept"
        health = httpx.get(f"{base_url}/sandbox/health", headers={"Authorization": f"Bearer {KEY}"}).json()
        assert health["now"] >= moved.json()["now"]
    finally:
        stop(process)


def test_test_clocks_move_only_their_own_objects_across_workers(two_workers: str) -> None:
    """Issue 28 on a team's sandbox: two pipelines at once, each on its own clock, on 2 workers. Both
    clocks advance at the same moment (each advance one transaction, on either worker); one moves 32
    days and renews, the other one minute, and the second's wall-clock usage and checkouts behave
    as if no time had passed."""
    tag = uuid.uuid4().hex[:10]
    with client_of(two_workers) as client, SandboxControl(two_workers, KEY, timeout=60) as control:
        prices = plan(client, tag)
        ready = threading.Barrier(2, timeout=60)

        def pipeline(name: str, days: int) -> dict[str, Any]:
            clock = control.create_test_clock(name=f"{name} {tag}")
            mine = client.with_options(default_headers=control.test_clock_header(clock["id"]))
            did = f"did:abt:z{name}{tag}"
            sub = subscribe_by_checkout(mine, control, prices, did)
            ready.wait()
            moved = control.advance_test_clock(clock["id"], **({"days": days} if days else {"seconds": 60}))
            stamped = {} if days else {"timestamp": int(time.time())}
            record = client.subscription_items.create_usage_record(
                subscription_item_id=metered_item(sub, prices[1]), quantity=2, **stamped
            )
            again = subscribe_by_checkout(mine, control, prices, did)
            return {"sub": sub, "now": client.subscriptions.retrieve(sub.id), "moved": moved, "record": record,
                    "again": again, "clock": clock}  # fmt: skip

        with ThreadPoolExecutor(2) as pool:
            far, near = pool.map(lambda args: pipeline(*args), [("far", 32), ("near", 0)])

    assert far["moved"]["summary"]["subscriptions_renewed"] == 1
    assert far["now"].current_period_start == far["sub"].current_period_end
    assert near["moved"]["summary"]["subscriptions_renewed"] == 0
    assert (near["now"].current_period_start, near["now"].current_period_end) == (
        near["sub"].current_period_start,
        near["sub"].current_period_end,
    )
    assert near["record"].quantity == 2
    assert near["again"].current_period_start == near["clock"]["frozen_time"] + 60
