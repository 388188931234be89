"""The SDK under faults: a loopback server (tests/faults.py) resets connections, answers
HTML error pages, rate-limits, stalls, cuts answers short and mislabels them, alone or in
front of the sandbox. Every call either succeeds through retries or raises the right typed
error within its time budget; no write applies twice; no connection is left open.

Retry waits are shortened (the transport's `sleep` hook) so the run stays quick; the
waits the SDK asked for are recorded where a test checks them."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from faults import FAULTS, NOT_TRANSIENT, TRANSIENT, FaultServer, Seen
from waiting import wait_for, wait_until

from payment_kit import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncPaymentKit,
    InternalServerError,
    PaymentKit,
    RateLimitError,
)
from payment_kit_sandbox.app import SandboxConfig
from payment_kit_sandbox.server import start_in_thread

TIMEOUT = 0.5  # the client's timeout where the server answers at once; a `slow` answer comes after 1 s
# In front of the sandbox, an answer may wait its turn (64 in flight, three suites at once on two
# cores), so the timeout is wider there. An answer that did come later than the timeout is a
# timeout the client saw, and explains a retry as a fault does.
SANDBOX_TIMEOUT = 1.0
SANDBOX_ASYNC_TIMEOUT = 5.0
EXPECTED: dict[str, type[Exception]] = {
    "reset_before": APIConnectionError,
    "reset_after": APIConnectionError,
    "cut_off": APIConnectionError,
    "html_500": InternalServerError,
    "html_502": InternalServerError,
    "html_503": InternalServerError,
    "html_502_after": InternalServerError,
    "rate_limited": RateLimitError,
    "slow": APITimeoutError,
    "truncated_json": APIResponseValidationError,
    "wrong_type": APIResponseValidationError,
}


def always(fault: str) -> Callable[[Seen], str | None]:
    return lambda seen: fault


def first_only(fault: str) -> Callable[[Seen], str | None]:
    calls = iter(range(1_000_000))
    return lambda seen: fault if next(calls) == 0 else None


def wait_until_closed(fs: FaultServer, within: float = 3.0) -> None:
    wait_for(
        lambda: fs.open_connections, lambda n: n == 0, timeout=within, message="connections left open by the client"
    )


def sync_client(base_url: str, sleeps: list[float], **options: Any) -> PaymentKit:
    client = PaymentKit(base_url=base_url, api_key="k", livemode=False, **{"timeout": TIMEOUT, **options})
    client._transport.sleep = sleeps.append
    return client


def async_client(base_url: str, sleeps: list[float], **options: Any) -> AsyncPaymentKit:
    client = AsyncPaymentKit(base_url=base_url, api_key="k", livemode=False, timeout=TIMEOUT, **options)

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    client._transport.sleep = record
    return client


# -- each fault, alone ------------------------------------------------------------------------


def check_persistent_failure(fault: str, error: Exception, fs: FaultServer, sleeps: list[float], took: float) -> None:
    assert isinstance(error, EXPECTED[fault]), f"{fault}: {type(error).__name__}: {error}"
    if fault in ("html_500", "html_502", "html_503", "html_502_after"):
        assert "upstream trouble" in str(error) and "<" not in str(error)  # readable, not markup
    attempts = 1 if fault in NOT_TRANSIENT else 3  # max_retries=2
    assert len(fs.seen) == attempts, f"{fault}: {len(fs.seen)} attempts"
    if fault == "rate_limited":
        assert sleeps == [1.0, 1.0]  # Retry-After honoured
    # Each attempt ends within the timeout (waits are not slept here).
    assert took < attempts * TIMEOUT + 1.5, f"{fault} took {took:.2f} s"


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_that_persists_raises_the_typed_error_in_time(fault: str) -> None:
    sleeps: list[float] = []
    with FaultServer(plan=always(fault)) as fs:
        with sync_client(fs.base_url, sleeps, max_retries=2) as client:
            started = time.monotonic()
            with pytest.raises(Exception) as caught:
                client.products.list()
            check_persistent_failure(fault, caught.value, fs, sleeps, time.monotonic() - started)
        wait_until_closed(fs)


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_that_persists_raises_the_typed_error_in_time_async(fault: str) -> None:
    sleeps: list[float] = []
    with FaultServer(plan=always(fault)) as fs:
        async with async_client(fs.base_url, sleeps, max_retries=2) as client:
            started = time.monotonic()
            with pytest.raises(Exception) as caught:
                await client.products.list()
            check_persistent_failure(fault, caught.value, fs, sleeps, time.monotonic() - started)
        await asyncio.to_thread(wait_until_closed, fs)


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_is_retried_to_success(fault: str) -> None:
    sleeps: list[float] = []
    with FaultServer(plan=first_only(fault)) as fs:
        with sync_client(fs.base_url, sleeps, max_retries=2) as client:
            assert client.products.list().count == 0
            assert [s.fault for s in fs.seen] == [fault, None]
        wait_until_closed(fs)


@pytest.mark.parametrize("fault", NOT_TRANSIENT)
def test_a_malformed_success_is_never_retried(fault: str) -> None:
    """A 200 means the server acted: the SDK reports the bad body instead of sending again."""
    with FaultServer(plan=first_only(fault)) as fs, sync_client(fs.base_url, [], max_retries=5) as client:
        with pytest.raises(APIResponseValidationError, match="Unexpected answer to GET /api/products"):
            client.products.list()
        assert len(fs.seen) == 1


def test_ten_thousand_calls_leave_the_open_file_count_flat() -> None:
    """One client, 10,000 calls, with a reset and a 503 every 500 calls along the way."""

    def plan(seen: Seen) -> str | None:
        n = len(fs.seen)
        return "reset_before" if n % 500 == 499 else "html_503" if n % 500 == 249 else None

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    # A generous deadline: an attempt cut by it on a busy machine would open one connection more.
    with FaultServer(plan=plan) as fs, sync_client(fs.base_url, [], max_retries=2, timeout=30) as client:
        for _ in range(1_000):
            client.products.list()
        before = open_files()
        for _ in range(9_000):
            client.products.list()
        # The server side closes the reset connections after the client has moved on: wait for it.
        wait_until(
            lambda: fs.open_connections <= 1 and open_files() <= before,
            timeout=3,
            message=f"the open file count to fall back to {before} once the server closed its connections",
        )
        after = open_files()
        assert after <= before, f"open files grew from {before} to {after}"
        assert fs.open_connections <= 1
        resets = fs.faults_of().count("reset_before")
        assert resets == 20 and fs.connections_made <= resets + 1


# -- against the sandbox: exactly-once through retries ------------------------------------------

EVENTS = 500
FAULT_RATE = 0.2


def faulty_meter_events(rng: random.Random) -> Callable[[Seen], str | None]:
    """20 % of meter-event writes meet a transient fault; everything else passes."""

    def plan(seen: Seen) -> str | None:
        if seen.method == "POST" and seen.path.startswith("/api/meter-events") and rng.random() < FAULT_RATE:
            return rng.choice(TRANSIENT)
        return None

    return plan


def check_exactly_once(
    client: PaymentKit, fs: FaultServer, meter: Any, customer: Any, identifiers: set[str], timeout: float
) -> None:
    """Every identifier charged once, and the proxy saw no attempt the faults do not explain."""
    events = list(client.meter_events.list(event_name=meter.event_name, page_size=100).auto_paging_iter())
    assert len(events) == EVENTS and {e.identifier for e in events} == identifiers
    rows = list(client.credit_transactions.list(customer_id=customer.id, page_size=100).auto_paging_iter())
    assert len(rows) == EVENTS and len({r.source for r in rows}) == EVENTS
    summary = client.credit_grants.summary(customer_id=customer.id)[meter.currency_id]
    assert summary.remaining_amount == str(100 * 1000 - 100 * EVENTS)  # 1000 credits granted, 1 spent per event

    attempts: dict[str, list[Seen]] = defaultdict(list)
    for seen in fs.seen:
        if seen.method == "POST" and seen.path.startswith("/api/meter-events"):
            attempts[json.loads(seen.body)["identifier"]].append(seen)
    assert set(attempts) == identifiers
    for identifier, sent in attempts.items():
        assert len({s.headers["idempotency-key"] for s in sent}) == 1, f"{identifier}: the key changed on retry"
        # Every attempt but the last met a fault (or an answer later than the timeout); the last
        # one succeeded. Nothing was sent twice.
        # (The proxy starts its watch after the client does, later still on a loaded machine: an
        # answer after half the timeout counts as late, and so does one the client stopped waiting
        # for before the proxy had it.)
        retried = [s.fault is not None or s.answered_after is None or s.answered_after > timeout / 2 for s in sent[:-1]]
        assert all(retried) and sent[-1].fault is None, identifier
    faults = Counter(s.fault for sent in attempts.values() for s in sent if s.fault)
    assert set(faults) == set(TRANSIENT), f"not every fault kind was exercised: {faults}"


def setup_meter(client: PaymentKit) -> tuple[Any, Any]:
    tag = uuid.uuid4().hex[:12]
    customer = client.customers.retrieve(f"did:abt:z{tag}", create=True)
    meter = client.meters.create(name=f"Faults {tag}", event_name=f"faults_{tag}", aggregation_method="sum", unit="u")
    client.credit_grants.create(customer_id=customer.id, amount="1000", currency_id=meter.currency_id, category="paid")
    return meter, customer


@pytest.fixture
def server() -> Iterator[tuple[str, str]]:
    """A sandbox of their own: these tests write thousands of objects."""
    with start_in_thread(SandboxConfig(api_key="sk_faults")) as sandbox:
        yield sandbox.base_url, sandbox.api_key


@pytest.mark.sandbox_only
def test_500_events_through_20_percent_faults_are_charged_exactly_once(server: tuple[str, str]) -> None:
    base_url, api_key = server
    plan = faulty_meter_events(random.Random(14))
    with FaultServer(plan=plan, upstream=base_url, slow_seconds=SANDBOX_TIMEOUT + 0.5) as fs:
        client = PaymentKit(
            base_url=fs.base_url, api_key=api_key, livemode=False, timeout=SANDBOX_TIMEOUT, max_retries=10
        )
        # The SDK's own backoff between retries, kept real (the retry does wait) but 100 times shorter.
        client._transport.sleep = lambda seconds: time.sleep(seconds / 100)
        with client:
            meter, customer = setup_meter(client)
            identifiers = {f"evt_{meter.event_name}_{n}" for n in range(EVENTS)}
            for identifier in sorted(identifiers):
                payload = {"customer_id": customer.id, "value": "1"}
                client.meter_events.create(event_name=meter.event_name, payload=payload, identifier=identifier)
        # Read back directly, with the default timeout: a page of 100 rows may take longer than the
        # reporting client's one-second deadline on a busy machine, and the reading is not under test.
        with PaymentKit(base_url=base_url, api_key=api_key, livemode=False) as direct:
            check_exactly_once(direct, fs, meter, customer, identifiers, SANDBOX_TIMEOUT)
        wait_until_closed(fs)


@pytest.mark.sandbox_only
async def test_async_64_in_flight_through_faults_sends_nothing_twice(server: tuple[str, str]) -> None:
    base_url, api_key = server
    plan = faulty_meter_events(random.Random(64))
    with FaultServer(plan=plan, upstream=base_url, slow_seconds=SANDBOX_ASYNC_TIMEOUT + 0.5) as fs:
        with PaymentKit(base_url=fs.base_url, api_key=api_key, livemode=False, timeout=10) as setup:
            meter, customer = await asyncio.to_thread(setup_meter, setup)
        client = AsyncPaymentKit(
            base_url=fs.base_url, api_key=api_key, livemode=False, timeout=SANDBOX_ASYNC_TIMEOUT, max_retries=10
        )

        async def short_sleep(seconds: float) -> None:
            await asyncio.sleep(seconds / 100)  # the SDK's backoff, kept real but 100 times shorter

        client._transport.sleep = short_sleep
        identifiers = {f"evt_{meter.event_name}_{n}" for n in range(EVENTS)}
        in_flight, most = 0, 0
        gate = asyncio.Semaphore(64)

        async def report(identifier: str) -> None:
            nonlocal in_flight, most
            async with gate:
                in_flight += 1
                most = max(most, in_flight)
                payload = {"customer_id": customer.id, "value": "1"}
                await client.meter_events.create(event_name=meter.event_name, payload=payload, identifier=identifier)
                in_flight -= 1

        async with client:
            await asyncio.gather(*(report(i) for i in sorted(identifiers)))
        assert most == 64
        with PaymentKit(base_url=base_url, api_key=api_key, livemode=False) as direct:
            await asyncio.to_thread(check_exactly_once, direct, fs, meter, customer, identifiers, SANDBOX_ASYNC_TIMEOUT)
        await asyncio.to_thread(wait_until_closed, fs)


@pytest.mark.sandbox_only
async def test_the_async_client_sends_each_request_once(server: tuple[str, str]) -> None:
    """With no faults at all, 64 concurrent writes reach the server as exactly 64 requests."""
    base_url, api_key = server
    with FaultServer(upstream=base_url) as fs:
        async with AsyncPaymentKit(base_url=fs.base_url, api_key=api_key, livemode=False) as client:
            tag = uuid.uuid4().hex[:8]
            batch = {"batch": tag}
            made = await asyncio.gather(
                *(client.products.create(name=f"once {n}", type="service", metadata=batch) for n in range(64))
            )
        posts = [s for s in fs.seen if s.method == "POST"]
        assert len(posts) == 64 and len({s.headers["idempotency-key"] for s in posts}) == 64
        assert len({p.id for p in made}) == 64
        async with AsyncPaymentKit(base_url=base_url, api_key=api_key, livemode=False) as direct:
            stored = await direct.products.list(metadata={"batch": tag}, page_size=100)
        assert stored.count == 64
        await asyncio.to_thread(wait_until_closed, fs)
