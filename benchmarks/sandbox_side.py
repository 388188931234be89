"""The sandbox under load: meter events from concurrent clients (on SQLite and on
PostgreSQL, with 1 and 2 worker processes), and the customer list with 100,000 rows
against the same list with 100.

Each sandbox runs in its own process (`payment-kit sandbox` on a free loopback port,
a SQLite file in a temporary folder or a database on a throwaway PostgreSQL server,
tests/postgres_server.py), as a developer or a team runs it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from client_side import Figures, Sizes
from stub_server import free_port

API_KEY = "sk_bench_sandbox"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
LIST_PAGE_SIZE = 20


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import postgres_server  # noqa: E402 - the tests' throwaway PostgreSQL, shared with the PostgreSQL leg


@contextmanager
def running_sandbox(db: Path | str, workers: int = 1) -> Iterator[str]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "payment_kit_sandbox", "--port", str(port), "--db", str(db), "--api-key", API_KEY,
         "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,  # `-m` then runs this checkout's sandbox
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base_url}/sandbox/health", headers=AUTH, timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)
        yield base_url
    finally:
        child.terminate()
        child.wait(timeout=15)


def events_per_second(sizes: Sizes) -> Figures:
    """`sandbox_events_per_s` (SQLite, one process, the figure since the first benchmark) and the
    same load on SQLite with 2 workers and on PostgreSQL with 1 and 2 (when this machine has
    PostgreSQL; the quick run skips it). Every run must end with the exact balance."""
    figures: dict[str, float] = {}
    details: dict[str, Any] = {}
    runs = [("sqlite", 1), ("sqlite", 2)]
    missing = postgres_server.unavailable_reason()
    if sizes.sandbox_events < 100:
        details["postgresql"] = "not measured in the quick run"
    elif missing:
        details["postgresql"] = f"not measured: {missing}"
    else:
        runs += [("postgresql", 1), ("postgresql", 2)]
    # Every client drawing on one customer's grant is the worst case for more workers; each client
    # its own customer (a team's separate CI runs) is the case they are for.
    plan = [(backend, workers, False) for backend, workers in runs]
    plan += [(backend, workers, True) for backend, workers in runs if backend == "postgresql"]
    server = postgres_server.PostgresServer.start() if ("postgresql", 1) in runs else None
    try:
        with tempfile.TemporaryDirectory(prefix="pk-bench-events-") as folder:
            for backend, workers, spread in plan:
                db = server.new_database() if server and backend == "postgresql" else Path(folder) / f"{workers}.sqlite"
                main = (backend, workers) == ("sqlite", 1)
                rate, detail = _events_run(sizes, db, workers, spread=spread, poll_health=main, measure_gets=main)
                key = "sandbox_events_per_s" if main else (
                    f"sandbox_events_per_s_{backend}_{workers}w" + ("_spread" if spread else "")
                )  # fmt: skip
                figures[key] = rate
                details[key] = detail
                if (backend, workers, spread) == ("postgresql", 2, True):
                    figures["sandbox_postgresql_retry_rate"] = detail["retries"] / detail["events"]
                    details["sandbox_postgresql_retry_rate"] = {key: detail[key] for key in ("retries", "events")}
                if main:
                    figures["sandbox_health_p99_ms_under_load"] = detail.pop("health_p99_ms")
                    details["sandbox_health_p99_ms_under_load"] = detail.pop("health")
                    figures["sandbox_event_to_get_ratio"] = rate / detail["gets_per_s"]
                    details["sandbox_event_to_get_ratio"] = {"events_per_s": round(rate, 1), **detail}
            for backend in ("sqlite", "postgresql") if server else ("sqlite",):
                rates = []
                for others in (0, sizes.scale_customers):
                    db = (
                        server.new_database()
                        if server and backend == "postgresql"
                        else Path(folder) / f"scale{others}.sqlite"
                    )
                    rate, detail = _events_run(sizes, db, 1, spread=False, others=others)
                    rates.append(rate)
                key = "sandbox_events_scale_ratio_10k" + ("_postgresql" if backend == "postgresql" else "")
                figures[key] = rates[1] / rates[0]
                details[key] = {
                    "events_per_s_alone": round(rates[0], 1),
                    "events_per_s_with_others": round(rates[1], 1),
                    "other_customers_with_a_grant": sizes.scale_customers,
                }
    finally:
        if server is not None:
            server.stop()
    # The harness shows one detail per key; the main key's also says what was not measured.
    if "postgresql" in details:
        details["sandbox_events_per_s"]["postgresql"] = details.pop("postgresql")
    return figures, details


def _events_run(
    sizes: Sizes,
    db: Path | str,
    workers: int,
    *,
    spread: bool,
    poll_health: bool = False,
    others: int = 0,
    measure_gets: bool = False,
) -> tuple[float, dict[str, Any]]:
    """`spread`: each client reports for a customer of its own; else all for one customer.
    `poll_health`: meanwhile, one more client asks `GET /sandbox/health` every 10 ms; the p99 of
    its answers' latency says whether a request waiting on the database holds up the others.
    `others`: that many other customers each hold a grant of the meter's currency first.
    `measure_gets`: afterwards the same clients send as many `GET /api/products?pageSize=1`, whose
    rate is the detail `gets_per_s`."""
    from payment_kit import PaymentKit

    with running_sandbox(db, workers) as base_url:
        setup = PaymentKit(base_url=base_url, api_key=API_KEY, livemode=False)
        meter = setup.meters.create(
            name="Bench calls", event_name="bench_calls", aggregation_method="sum", unit="calls"
        )
        if others:
            other = setup.customers.retrieve("did:abt:zBenchOther", create=True)
            setup.credit_grants.create(
                customer_id=other.id, amount="100", currency_id=meter.currency_id, category="promotional"
            )
            copy_customers_with_grants(db, other.id, others - 1)
        granted = sizes.sandbox_events * 10  # credits, each customer: enough for every event
        customers = [
            setup.customers.retrieve(f"did:abt:zBenchCustomer{n}", create=True)
            for n in range(sizes.sandbox_clients if spread else 1)
        ]
        for customer in customers:
            setup.credit_grants.create(
                customer_id=customer.id, amount=str(granted), currency_id=meter.currency_id, category="promotional"
            )
        errors: list[BaseException] = []
        per_client = sizes.sandbox_events // sizes.sandbox_clients

        def report(worker: int) -> None:
            try:
                with PaymentKit(base_url=base_url, api_key=API_KEY, livemode=False) as client:
                    for n in range(per_client):
                        client.meter_events.create(
                            event_name="bench_calls",
                            payload={"customer_id": customers[worker % len(customers)].id, "value": "1"},
                            identifier=f"bench-{worker}-{n}",
                        )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=report, args=(w,)) for w in range(sizes.sandbox_clients)]
        load_done = threading.Event()
        health_ms: list[float] = []

        def poll() -> None:
            with httpx.Client(base_url=base_url, headers=AUTH, timeout=30) as http:
                while not load_done.wait(0.01):
                    asked = time.perf_counter()
                    http.get("/sandbox/health").raise_for_status()
                    health_ms.append((time.perf_counter() - asked) * 1000)

        poller = threading.Thread(target=poll) if poll_health else None
        retries_before = recorded_retries(db)
        started = time.perf_counter()
        for thread in threads + ([poller] if poller else []):
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        load_done.set()
        if poller is not None:
            poller.join()
        if errors:
            raise errors[0]
        retries = recorded_retries(db) - retries_before
        gets_per_s = _gets_per_second(base_url, sizes.sandbox_clients, per_client) if measure_gets else None
        sent = per_client * sizes.sandbox_clients
        decimal = int(meter.payment_currency.decimal)
        remaining = sum(
            int(
                httpx.get(
                    f"{base_url}/api/credit-grants/summary",
                    params={"customer_id": customer.id, "livemode": "false"},
                    headers=AUTH,
                ).json()[meter.currency_id]["remainingAmount"]
            )
            for customer in customers
        )
        expected = (granted * len(customers) - sent) * 10**decimal
        setup.close()
    if remaining != expected:
        raise AssertionError(f"balance after {sent} events is {remaining} units, expected {expected}")
    details: dict[str, Any] = {
        "events": sent,
        "clients": sizes.sandbox_clients,
        "customers": len(customers),
        "workers": workers,
        "seconds": round(elapsed, 2),
        "balance_exact": True,
    }
    if isinstance(db, str):  # PostgreSQL: the attempts its workers repeated after a conflict, during the load
        details["retries"] = retries
    if others:
        details["other_customers_with_a_grant"] = others
    if gets_per_s is not None:
        details["gets_per_s"] = round(gets_per_s, 1)
    if poll_health:
        if not health_ms:
            raise AssertionError("the health poller got no answer during the load")
        ranked = sorted(health_ms)
        details["health_p99_ms"] = ranked[min(len(ranked) - 1, int(len(ranked) * 0.99))]
        details["health"] = {
            "polls": len(ranked),
            "median_ms": round(statistics.median(ranked), 2),
            "max_ms": round(ranked[-1], 2),
            "clients_reporting_meter_events": sizes.sandbox_clients,
        }
    return sent / elapsed, details


def recorded_retries(db: Path | str) -> int:
    """The retries every worker of a sandbox on `db` has recorded so far (`Store.recorded_retries`;
    SQLite never retries)."""
    from payment_kit_sandbox.database import Store

    if not isinstance(db, str):
        return 0
    with Store(db, exclusive=False) as store, store.transaction():
        return store.recorded_retries()


def _gets_per_second(base_url: str, clients: int, per_client: int) -> float:
    """`GET /api/products?pageSize=1` per second from `clients` threads, `per_client` each."""
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            with httpx.Client(base_url=base_url, headers=AUTH, timeout=60) as http:
                for _ in range(per_client):
                    http.get("/api/products", params={"pageSize": 1, "livemode": "false"}).raise_for_status()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return clients * per_client / elapsed


def copy_customers_with_grants(db: Path | str, customer_id: str, copies: int) -> None:
    """`copies` more customers, each with a copy of `customer_id`'s grant, written straight into the
    store of a running sandbox (one transaction; the sandbox keeps nothing between requests)."""
    from payment_kit_sandbox.context import new_id
    from payment_kit_sandbox.database import Store, objects

    store = Store(str(db))
    with store.transaction():
        [customer] = store.find("customer", False, id=customer_id)
        [grant] = store.find("credit_grant", False, customer_id=customer_id)
        rows: list[dict[str, Any]] = []
        for n in range(copies):
            did = f"zBenchOther{n:08d}"
            twin = {**customer, "id": new_id("cus"), "did": did, "invoice_prefix": did[-8:].upper()}
            rows.append({"id": twin["id"], "kind": "customer", "livemode": False, "data": store._dump(twin)})
            owned = {**grant, "id": new_id("cg"), "customer_id": twin["id"]}
            rows.append({"id": owned["id"], "kind": "credit_grant", "livemode": False, "data": store._dump(owned)})
            if len(rows) >= 5000:
                store.conn.execute(objects.insert(), rows)
                rows = []
        if rows:
            store.conn.execute(objects.insert(), rows)
    store.close()


def seed_customers(db: Path, rows: int) -> None:
    """`rows` test-mode customers written straight into the store (one transaction), shaped as
    the sandbox itself creates them, each a millisecond newer than the last."""
    from payment_kit_sandbox.context import iso, new_id
    from payment_kit_sandbox.database import Store, objects
    from payment_kit_sandbox.document import load_document
    from payment_kit_sandbox.seed import seed
    from payment_kit_sandbox.skeletons import skeleton

    store = Store(str(db))
    start = time.time() - rows / 1000
    document = load_document()
    template = skeleton(document, "Customer")
    with store.transaction():
        seed(store, document)
        batch: list[dict[str, Any]] = []
        for n in range(rows):
            did = f"zBench{n:09d}"
            stamp = iso(start + n / 1000)
            customer = {
                **template,
                "id": new_id("cus"),
                "livemode": False,
                "created_at": stamp,
                "updated_at": stamp,
                "did": did,
                "name": f"Customer {n}",
                "email": f"c{n}@example.com",
                "phone": "",
                "description": "",
                "balance": "0",
                "token_balance": {},
                "delinquent": False,
                "metadata": {},
                "invoice_prefix": did[-8:].upper(),
                "next_invoice_sequence": 1,
            }
            batch.append({"id": customer["id"], "kind": "customer", "livemode": False, "data": store._dump(customer)})
            if len(batch) == 5000:
                store.conn.execute(objects.insert(), batch)
                batch = []
        if batch:
            store.conn.execute(objects.insert(), batch)
    store.close()


# The long lists (issue 27) beside the customers: figure suffix -> (stored kind, list path).
LISTS = {
    "meter_events": ("meter_event", "/api/meter-events"),
    "credit_transactions": ("credit_transaction", "/api/credit-transactions"),
    "invoices": ("invoice", "/api/invoices"),
    "subscriptions": ("subscription", "/api/subscriptions"),
}


def make_one_of_each(db: Path) -> None:
    """One of each kind in LISTS, made through the API as a client makes them (in process, over
    ASGI): a customer with a credit grant reports a meter event (a meter event and its credit
    transaction), then pays a monthly subscription through checkout (a subscription, an invoice)."""
    from payment_kit import PaymentKit
    from payment_kit.testing._bridge import SyncASGITransport
    from payment_kit_sandbox.app import SandboxConfig, create_app

    app = create_app(SandboxConfig(db=str(db), api_key=API_KEY, webhook_worker=False))
    try:
        with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox.localhost", headers=AUTH) as http:
            client = PaymentKit(base_url="http://sandbox.localhost", api_key=API_KEY, livemode=False, http_client=http)
            customer = client.customers.retrieve("did:abt:zBenchLists", create=True)
            meter = client.meters.create(name="Calls", event_name="bench_calls", aggregation_method="sum", unit="c")
            client.credit_grants.create(
                customer_id=customer.id, amount="1000", currency_id=meter.currency_id, category="promotional"
            )
            client.meter_events.create(
                event_name="bench_calls",
                payload={"customer_id": customer.id, "value": "1"},
                identifier="bench-lists-0",
                timestamp=int(time.time()),
            )
            product = client.products.create(name="Bench plan", type="service")
            price = client.prices.create(
                product_id=product.id, unit_amount="5", recurring={"interval": "month", "interval_count": 1}
            )
            session = client.checkout.sessions.create(
                line_items=[{"price_id": price.id, "quantity": 1}],
                mode="subscription",
                success_url="https://shop.example/ok",
                cancel_url="https://shop.example/cancel",
            )
            paid = http.post(
                f"/sandbox/checkout-sessions/{session.id}/complete",
                json={"customer_did": customer.did, "livemode": False},
            )
            paid.raise_for_status()
    finally:
        app.state.store.close()


def seed_lists(db: Path, rows: int) -> None:
    """`rows` test-mode rows of every kind in LISTS and of customers: one of each made through the
    API (`make_one_of_each`), then copied straight into the store with new ids, each copy a
    millisecond newer than the last (a meter event's copies with identifiers of their own)."""
    from payment_kit_sandbox.context import iso, new_id
    from payment_kit_sandbox.database import Store, objects

    make_one_of_each(db)
    store = Store(str(db))
    start = time.time() - rows / 1000
    with store.transaction():
        for kind, _ in LISTS.values():
            made = store.all(kind, False)
            prefix = made[0]["id"].split("_")[0]
            batch: list[dict[str, Any]] = []
            for n in range(rows - len(made)):
                stamp = iso(start + n / 1000)
                copy = {**made[0], "id": new_id(prefix), "created_at": stamp, "updated_at": stamp}
                if kind == "meter_event":
                    copy["identifier"] = f"bench-lists-{n + 1}"
                batch.append({"id": copy["id"], "kind": kind, "livemode": False, "data": store._dump(copy)})
                if len(batch) == 5000:
                    store.conn.execute(objects.insert(), batch)
                    batch = []
            if batch:
                store.conn.execute(objects.insert(), batch)
        customers = len(store.all("customer", False))
    store.close()
    seed_customers(db, rows - customers)


def list_latency(sizes: Sizes) -> Figures:
    """`GET <list>?page=…` with many rows of its kind vs with 100, pages spread over the whole list:
    the customers, and each list in LISTS."""
    paths = {"": "/api/customers", **{f"_{name}": path for name, (_, path) in LISTS.items()}}
    with tempfile.TemporaryDirectory(prefix="pk-bench-list-") as folder:
        small_db, large_db = Path(folder) / "small.sqlite", Path(folder) / "large.sqlite"
        started = time.perf_counter()
        seed_lists(small_db, 100)
        seed_lists(large_db, sizes.list_rows)
        seeded = time.perf_counter() - started
        with (
            running_sandbox(small_db) as small,
            running_sandbox(large_db) as large,
            httpx.Client(headers=AUTH, timeout=120) as http,
        ):

            def spread(rows: int) -> list[int]:
                last = -(-rows // LIST_PAGE_SIZE)
                return [1, max(1, last // 4), max(1, last // 2), max(1, 3 * last // 4), last]

            def latency(base_url: str, path: str, page: int) -> float:
                params = {"livemode": "false", "page": page, "pageSize": LIST_PAGE_SIZE}
                began = time.perf_counter()
                answer = http.get(f"{base_url}{path}", params=params)
                took = time.perf_counter() - began
                answer.raise_for_status()
                if len(answer.json()["list"]) != LIST_PAGE_SIZE:
                    raise AssertionError(f"page {page} of {base_url}{path} is not full")
                return took

            figures: dict[str, float] = {}
            details: dict[str, dict[str, Any]] = {}
            for suffix, path in paths.items():
                samples: dict[str, list[float]] = {"small": [], "large": [], "large_first": [], "large_last": []}
                pages = list(zip(spread(100), spread(sizes.list_rows), strict=True))
                for small_page, large_page in pages:  # warm-up: connections, SQLite caches
                    latency(small, path, small_page), latency(large, path, large_page)
                for _ in range(sizes.list_rounds):
                    for index, (small_page, large_page) in enumerate(pages):
                        samples["small"].append(latency(small, path, small_page))
                        took = latency(large, path, large_page)
                        samples["large"].append(took)
                        if index in (0, len(pages) - 1):
                            samples["large_first" if index == 0 else "large_last"].append(took)
                medians = {name: statistics.median(values) for name, values in samples.items()}
                key = f"sandbox_list_latency_ratio_100k{suffix}"
                figures[key] = medians["large"] / medians["small"]
                details[key] = {f"{name}_ms": round(value * 1e3, 2) for name, value in medians.items()}
                details[key].update(path=path, rows=sizes.list_rows, seed_seconds=round(seeded, 1))
    return figures, details


def statements_per_meter_event(sizes: Sizes) -> Figures:
    """`sandbox_sql_statements_per_meter_event`: the SQL statements one steady-state meter event runs
    (a customer with a grant, events before it, other customers each holding a grant of their own),
    counted exactly by SQLAlchemy's `before_cursor_execute` hook on the sandbox's own engine: every
    statement the sandbox sends through a cursor, `BEGIN IMMEDIATE` included (a commit is the
    driver's call, not a statement). In process, over ASGI: the hook must see the server's engine.
    The count is deterministic, so one event's statements are the detail, and the figure is the
    mean over `statement_events` events (it must come out whole)."""
    import sqlalchemy as sa

    from payment_kit import PaymentKit
    from payment_kit.testing._bridge import SyncASGITransport
    from payment_kit_sandbox.app import SandboxConfig, create_app

    with tempfile.TemporaryDirectory(prefix="pk-bench-statements-") as folder:
        # No webhook worker: its polls would be counted too (no event here has a subscriber anyway).
        config = SandboxConfig(db=str(Path(folder) / "statements.sqlite"), api_key=API_KEY, webhook_worker=False)
        app = create_app(config)
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(" ".join(statement.split()))

        try:
            with httpx.Client(transport=SyncASGITransport(app)) as http:
                client = PaymentKit(
                    base_url="http://sandbox.localhost", api_key=API_KEY, livemode=False, http_client=http
                )
                meter = client.meters.create(name="Calls", event_name="calls", aggregation_method="sum", unit="calls")
                others = [client.customers.retrieve(f"did:abt:zOther{n}", create=True) for n in range(20)]
                for other in others:
                    client.credit_grants.create(
                        customer_id=other.id, amount="1000", currency_id=meter.currency_id, category="promotional"
                    )
                customer = client.customers.retrieve("did:abt:zCounted", create=True)
                client.credit_grants.create(
                    customer_id=customer.id, amount="100000", currency_id=meter.currency_id, category="promotional"
                )

                def event(name: str) -> None:
                    client.meter_events.create(
                        event_name="calls", payload={"customer_id": customer.id, "value": "1"}, identifier=name
                    )

                for n in range(20):  # steady state: events stored before, caches warm
                    event(f"warm-{n}")
                sa.event.listen(app.state.store.engine, "before_cursor_execute", seen)
                event("counted-0")
                one = list(statements)
                statements.clear()
                for n in range(sizes.statement_events):
                    event(f"counted-{n + 1}")
                sa.event.remove(app.state.store.engine, "before_cursor_execute", seen)
        finally:
            app.state.store.close()
    per_event = len(statements) / sizes.statement_events
    if len(one) != per_event:
        raise AssertionError(f"one event ran {len(one)} statements, {sizes.statement_events} ran {per_event} each")
    details = {"events": sizes.statement_events, "backend": "sqlite", "statements": [s[:200] for s in one]}
    return {"sandbox_sql_statements_per_meter_event": per_event}, details
