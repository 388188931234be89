"""Test clocks (issue 28): time moves only for the objects made on a clock. Several pipelines
share one sandbox; one advancing its clock 32 days moves none of the others' objects, and a
clock's renewals are the sandbox clock's renewals."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest

from payment_kit import BadRequestError, NotFoundError, PaymentKit
from payment_kit.testing import Sandbox
from payment_kit_sandbox.control import TEST_CLOCK_HEADER, SandboxControl, SandboxError

pytestmark = pytest.mark.sandbox_only

DAY = 86400
MONTHLY = {"interval": "month", "interval_count": 1}
URLS = {"success_url": "https://example.com/ok", "cancel_url": "https://example.com/no"}


def plan(client: PaymentKit, tag: str) -> tuple[str, str]:
    """A monthly plan of a licensed price and a metered one: (licensed price id, metered price id)."""
    product = client.products.create(name=f"Clocked {tag}", type="service")
    licensed = client.prices.create(
        product_id=product.id, unit_amount="1", type="recurring", recurring={**MONTHLY, "usage_type": "licensed"}
    )
    metered = client.prices.create(
        product_id=product.id,
        unit_amount="0.01",
        type="recurring",
        recurring={**MONTHLY, "usage_type": "metered", "aggregate_usage": "sum"},
    )
    return licensed.id, metered.id


def subscribe_by_checkout(client: PaymentKit, control: SandboxControl, prices: tuple[str, str], did: str) -> Any:
    """A subscription as a shop makes it: a checkout session, paid by the customer's wallet."""
    session = client.checkout.sessions.create(
        mode="subscription", line_items=[{"price_id": p, "quantity": 1} for p in prices], **URLS
    )
    done = control.complete_checkout(session.id, customer_did=did)
    return client.subscriptions.retrieve(done["subscription_id"])


def metered_item(sub: Any, metered_price: str) -> str:
    return str(next(item.id for item in sub.items if item.price_id == metered_price))


def cycle_invoices(client: PaymentKit, subscription_id: str) -> int:
    """How many renewal invoices a subscription has."""
    invoices = client.invoices.list(subscription_id=subscription_id, page_size=100)
    return sum(1 for i in invoices if i.billing_reason == "subscription_cycle")


def test_a_pipeline_advancing_its_clock_moves_no_other_pipelines_objects(
    client: PaymentKit, control: SandboxControl, tag: str
) -> None:
    """Two pipelines in parallel, each on its own clock, and a third on none. The first advances
    32 days; the others' wall-clock usage records, checkouts and renewals behave as if no time had
    passed, while the first renewed."""
    prices = plan(client, tag)
    advanced = threading.Event()

    def pipeline(name: str, advances: bool) -> dict[str, Any]:
        clock = control.create_test_clock(name=f"{name} {tag}") if name != "none" else None
        mine = client.with_options(default_headers=control.test_clock_header(clock["id"])) if clock else client
        did = f"did:abt:z{name}{tag}"
        sub = subscribe_by_checkout(mine, control, prices, did)
        started = (sub.current_period_start, sub.current_period_end)
        if advances:
            assert clock is not None
            moved = control.advance_test_clock(clock["id"], days=32)
            advanced.set()
            assert moved["summary"]["subscriptions_renewed"] == 1
            assert moved["frozen_time"] == moved["previous_frozen_time"] + 32 * DAY
        else:
            assert advanced.wait(60)
        # A real client stamps usage with its machine's time, and knows nothing of clocks (no header);
        # the advancing pipeline's machine time lies a month before its clock, so it lets the clock stamp.
        # (Objects on no clock keep the sandbox clock, which other tests of this shared sandbox move.)
        wall = int(time.time()) if clock else int(control.health()["now"])
        stamped = {} if advances else {"timestamp": wall}
        record = client.subscription_items.create_usage_record(
            subscription_item_id=metered_item(sub, prices[1]), quantity=3, **stamped
        )
        again = subscribe_by_checkout(mine, control, prices, did)  # a second checkout, on the same clock
        now = client.subscriptions.retrieve(sub.id)
        return {"clock": clock, "started": started, "record": record, "sub": now, "again": again}

    with ThreadPoolExecutor(3) as pool:
        first, second, third = pool.map(lambda args: pipeline(*args), [("a", True), ("b", False), ("none", False)])

    # The advancing pipeline's subscription renewed: its period starts 1 month later, a renewal was invoiced.
    assert first["sub"].current_period_start == first["started"][1]
    assert cycle_invoices(client, first["sub"].id) == 1
    assert first["record"].timestamp == first["clock"]["frozen_time"] + 32 * DAY
    for other in (second, third):
        sub = other["sub"]
        assert (sub.current_period_start, sub.current_period_end) == other["started"]
        assert sub.status == "active"
        assert cycle_invoices(client, sub.id) == 0
        assert other["record"].quantity == 3 and not other["record"].billed
        assert other["again"].current_period_start >= other["started"][0]
        assert other["again"].current_period_start < other["started"][0] + DAY
    assert second["clock"] is not None and third["clock"] is None
    assert control.retrieve_test_clock(second["clock"]["id"])["frozen_time"] == second["clock"]["frozen_time"]


def test_wall_clock_usage_after_a_32_day_advance_is_refused_without_clocks_and_accepted_with_them() -> None:
    """Issue 28's scenario, on a sandbox of its own: one pipeline moves the sandbox clock 32 days,
    another then reports usage stamped with its machine's time and is refused; with test clocks
    the same two steps succeed."""
    for with_clocks in (False, True):
        with Sandbox() as sandbox:
            client = sandbox.client
            prices = plan(client, "scenario")
            first_clock = sandbox.create_test_clock() if with_clocks else None
            first = (
                client.with_options(default_headers=sandbox.test_clock_header(first_clock["id"]))
                if first_clock
                else client
            )
            subscribe_by_checkout(first, sandbox, prices, "did:abt:zfirstpipeline")
            other = subscribe_by_checkout(client, sandbox, prices, "did:abt:zotherpipeline")
            if first_clock:
                sandbox.advance_test_clock(first_clock["id"], days=32)
            else:
                sandbox.advance_clock(days=32)
            item = metered_item(other, prices[1])
            report = {"subscription_item_id": item, "quantity": 1, "timestamp": int(time.time())}
            if with_clocks:
                assert client.subscription_items.create_usage_record(**report).quantity == 1
            else:
                with pytest.raises(BadRequestError, match=r"timestamp: \d+ is outside the current billing period"):
                    client.subscription_items.create_usage_record(**report)


def renewal_story(on_clock: bool) -> dict[str, Any]:
    """One subscription's first 65 days on a fresh sandbox, moved by a test clock or by the sandbox
    clock: its invoices and the events of its objects, with times made relative to its start."""
    with Sandbox() as sandbox:
        client = sandbox.client
        prices = plan(client, "story")
        clock = sandbox.create_test_clock() if on_clock else None
        mine = client.with_options(default_headers=sandbox.test_clock_header(clock["id"])) if clock else client
        sub = subscribe_by_checkout(mine, sandbox, prices, "did:abt:zstory")
        start = sub.current_period_start
        item = metered_item(sub, prices[1])
        seen_before = {e["id"] for e in sandbox.iter_events()}
        for days, usage in ((32, 7), (33, 5)):
            mine.subscription_items.create_usage_record(subscription_item_id=item, quantity=usage)
            if clock:
                sandbox.advance_test_clock(clock["id"], days=days)
            else:
                sandbox.advance_clock(days=days)
        invoices = sorted(
            (
                (i.billing_reason, i.status, i.total, i.period_start - start, i.period_end - start)
                for i in client.invoices.list(subscription_id=sub.id, page_size=100)
            ),
            key=lambda row: (row[3], row[0]),
        )
        events = [
            (e["type"], e["created"] - start)
            for e in reversed(list(sandbox.iter_events()))
            if e["id"] not in seen_before and not e["type"].startswith(("product.", "price."))
        ]
        final = client.subscriptions.retrieve(sub.id)
        return {
            "invoices": invoices,
            "events": events,
            "period": (final.current_period_start - start, final.current_period_end - start),
        }


def test_a_clocks_renewals_make_the_invoices_and_events_the_sandbox_clock_makes() -> None:
    by_clock, by_sandbox = renewal_story(on_clock=True), renewal_story(on_clock=False)
    assert len(by_clock["invoices"]) == 3  # the first period, then two renewals
    assert by_clock["invoices"] == by_sandbox["invoices"]
    assert [t for t, _ in by_clock["events"]] == [t for t, _ in by_sandbox["events"]]
    assert "invoice.paid" in [t for t, _ in by_clock["events"]]
    # The sandbox clock runs on with real time between requests; a test clock stands still.
    for (_, on_clock), (_, on_sandbox) in zip(by_clock["events"], by_sandbox["events"], strict=True):
        assert abs(on_clock - on_sandbox) <= 5
    assert by_clock["period"] == by_sandbox["period"]


def test_a_clocks_objects_follow_it_without_the_header(client: PaymentKit, control: SandboxControl, tag: str) -> None:
    """Objects made on a clock keep its time in requests that name them and carry no header: a
    customer by id or DID, its meter events and credit grants; the sandbox clock leaves them be."""
    start = 1_900_000_000  # a clock need not stand at real time
    clock = control.create_test_clock(frozen_time=start, name=f"follow {tag}")
    assert control.retrieve_test_clock(clock["id"]) == clock
    on_clock = client.with_options(default_headers=control.test_clock_header(clock["id"]))
    customer = on_clock.customers.retrieve(f"did:abt:zfollow{tag}", create=True)
    meter = client.meters.create(name=f"follow {tag}", event_name=f"follow_{tag}", aggregation_method="sum", unit="c")
    # No header: the grant names the customer, so it is made on the customer's clock.
    grant = client.credit_grants.create(
        customer_id=customer.id,
        amount="10",
        currency_id=meter.currency_id,
        category="promotional",
        expires_at=start + 10 * DAY,
    )
    assert grant.created_at.date().isoformat() == "2030-03-17"  # 1_900_000_000 is 2030-03-17
    event = client.meter_events.create(
        event_name=meter.event_name, payload={"customer_id": customer.id, "value": "1"}, identifier=f"f-{tag}"
    )
    assert event.created_at.date().isoformat() == "2030-03-17"
    assert client.customers.retrieve(customer.did).created_at.date().isoformat() == "2030-03-17"

    control.advance_clock(days=11)  # the sandbox clock: not this clock's objects
    assert client.credit_grants.retrieve(grant.id).status == "granted"
    moved = control.advance_test_clock(clock["id"], days=11)
    assert moved["summary"]["credit_grants_expired"] == 1
    assert client.credit_grants.retrieve(grant.id).status == "expired"
    granted = control.events(type="customer.credit_grant.granted", limit=20)["list"]
    assert [e["created"] for e in granted if e["object_id"] == grant.id] == [start]  # events carry the clock's time


def test_a_clocks_checkout_sessions_expire_with_it(client: PaymentKit, control: SandboxControl, tag: str) -> None:
    product = client.products.create(name=f"Once {tag}", type="good")
    price = client.prices.create(product_id=product.id, unit_amount="2")
    clock = control.create_test_clock()
    on_clock = client.with_options(default_headers=control.test_clock_header(clock["id"]))
    clocked = on_clock.checkout.sessions.create(
        mode="payment", line_items=[{"price_id": price.id, "quantity": 1}], **URLS
    )
    unclocked = client.checkout.sessions.create(
        mode="payment", line_items=[{"price_id": price.id, "quantity": 1}], **URLS
    )
    assert clocked.expires_at == clock["frozen_time"] + DAY
    control.advance_test_clock(clock["id"], days=2)
    assert client.checkout.sessions.retrieve(clocked.id).status == "expired"
    assert client.checkout.sessions.retrieve(unclocked.id).status == "open"
    with pytest.raises(SandboxError, match="expired"):
        control.complete_checkout(clocked.id, customer_did=f"did:abt:zlate{tag}")


def test_test_clock_refusals_name_the_problem(client: PaymentKit, control: SandboxControl, tag: str) -> None:
    clock = control.create_test_clock(frozen_time=1_900_000_000)
    other = control.create_test_clock()
    for call, status, message in (
        (
            lambda: control.create_test_clock(frozen_time=1_900_000_000_000),
            400,
            "frozen_time: 1900000000000 is outside",
        ),
        (lambda: control.call("POST", "/sandbox/test-clocks", {"frozen": 1}), 400, "frozen: a test clock takes"),
        (lambda: control.create_test_clock(name="x" * 201), 400, "name: text of at most 200"),
        (lambda: control.retrieve_test_clock(f"clock_missing{tag}"), 404, f"clock_missing{tag}"),
        (lambda: control.advance_test_clock(clock["id"]), 400, "exactly one of days, seconds or to"),
        (lambda: control.advance_test_clock(clock["id"], days=1, seconds=1), 400, "exactly one of"),
        (lambda: control.advance_test_clock(clock["id"], seconds=0), 400, "only moves forward"),
        (lambda: control.advance_test_clock(clock["id"], to=1_800_000_000), 400, "only moves forward"),
        (lambda: control.advance_test_clock(clock["id"], days=100 * 366 + 400), 400, "is outside"),
        (lambda: control.call("POST", f"/sandbox/test-clocks/{clock['id']}/advance", {"days": "1"}), 400, "whole"),
        (lambda: control.list_test_clocks(starting_after=f"clock_missing{tag}"), 400, "is not a test clock"),
    ):
        with pytest.raises(SandboxError) as refused:
            call()
        assert refused.value.status == status and message in refused.value.message, refused.value

    on_clock = client.with_options(default_headers=control.test_clock_header(clock["id"]))
    customer = on_clock.customers.retrieve(f"did:abt:zrefusal{tag}", create=True)
    with pytest.raises(BadRequestError, match=f"{TEST_CLOCK_HEADER.lower()}: no test clock 'clock_nope{tag}'"):
        client.with_options(default_headers={TEST_CLOCK_HEADER: f"clock_nope{tag}"}).products.create(
            name="x", type="service"
        )
    on_other = client.with_options(default_headers=control.test_clock_header(other["id"]))
    with pytest.raises(BadRequestError, match=f"names objects on test clock {clock['id']}, not on {other['id']}"):
        on_other.customers.update(customer.id, name="moved")
    global_advance = control._http.post(
        "/sandbox/clock/advance",
        params={"livemode": "false"},
        json={"seconds": 1},
        headers=control.test_clock_header(clock["id"]),
    )
    assert global_advance.status_code == 400 and "advance a test clock with POST" in global_advance.json()["error"]

    assert control.delete_test_clock(clock["id"]) == {"id": clock["id"], "object": "test_clock", "deleted": True}
    with pytest.raises(SandboxError, match="not found"):
        control.advance_test_clock(clock["id"], days=1)
    # Its objects stay, readable, and no longer move: a write for them is refused, naming the clock.
    assert client.customers.retrieve(customer.id).id == customer.id
    for named in (customer.id, customer.did, f"did:abt:{customer.did}"):
        with pytest.raises(BadRequestError, match=f"objects of test clock {clock['id']}, which was deleted"):
            client.customers.update(named, name="after")


def test_test_clocks_are_listed_newest_first_a_page_at_a_time(control: SandboxControl, tag: str) -> None:
    made = [control.create_test_clock(name=f"page {tag} {n}")["id"] for n in range(3)]
    first = control.list_test_clocks(limit=2)
    assert [c["id"] for c in first["list"]] == made[::-1][:2] and first["has_more"]
    rest = control.list_test_clocks(limit=100, starting_after=first["list"][-1]["id"])
    assert rest["list"][0]["id"] == made[0] and rest["count"] == first["count"]
    assert all("livemode" not in c for c in first["list"])


def test_a_customer_on_no_clock_gets_nothing_on_a_clock(client: PaymentKit, control: SandboxControl, tag: str) -> None:
    """A customer belongs to at most one clock, and what is made for it follows that one."""
    customer = client.customers.retrieve(f"did:abt:zunclocked{tag}", create=True)
    clock = control.create_test_clock()
    on_clock = client.with_options(default_headers=control.test_clock_header(clock["id"]))
    meter = client.meters.create(name=f"mixed {tag}", event_name=f"mixed_{tag}", aggregation_method="sum", unit="c")
    with pytest.raises(BadRequestError, match=f"customer {customer.id} is on no test clock, not on {clock['id']}"):
        on_clock.credit_grants.create(
            customer_id=customer.id, amount="1", currency_id=meter.currency_id, category="promotional"
        )
    assert client.credit_grants.list(customer_id=customer.id).count == 0  # nothing half-made

    # A session made on one clock, paid by a customer of another: the request names both clocks.
    other = control.create_test_clock()
    on_other = client.with_options(default_headers=control.test_clock_header(other["id"]))
    payer = on_other.customers.retrieve(f"did:abt:zotherclock{tag}", create=True)
    product = client.products.create(name=f"Mixed {tag}", type="good")
    price = client.prices.create(product_id=product.id, unit_amount="1")
    session = on_clock.checkout.sessions.create(
        mode="payment", line_items=[{"price_id": price.id, "quantity": 1}], **URLS
    )
    with pytest.raises(SandboxError, match="names objects on different test clocks"):
        control.complete_checkout(session.id, customer_did=f"did:abt:{payer.did}")
    assert client.checkout.sessions.retrieve(session.id).status == "open"


def test_the_catalog_made_on_a_clock_is_the_whole_accounts(
    client: PaymentKit, control: SandboxControl, tag: str
) -> None:
    """Products and prices belong to no clock, as in Stripe: a pipeline on no clock that sells a
    price another pipeline made on its clock stays on no clock."""
    clock = control.create_test_clock(frozen_time=1_900_000_000)
    on_clock = client.with_options(default_headers=control.test_clock_header(clock["id"]))
    product = on_clock.products.create(name=f"Shared {tag}", type="good")
    price = on_clock.prices.create(product_id=product.id, unit_amount="3")
    assert product.created_at.date().isoformat() == "2030-03-17"  # made at the clock's time all the same
    session = client.checkout.sessions.create(
        mode="payment", line_items=[{"price_id": price.id, "quantity": 1}], **URLS
    )
    now = int(control.health()["now"])
    assert now <= session.expires_at <= now + DAY + 5  # the sandbox clock's day, not the test clock's
    done = control.complete_checkout(session.id, customer_did=f"did:abt:zshared{tag}")
    customer = client.customers.retrieve(done["customer_id"])
    assert customer.created_at.year < 2030
    control.advance_test_clock(clock["id"], days=1)  # moves nothing of theirs
    assert client.checkout.sessions.retrieve(session.id).status == "complete"


def test_nul_in_what_a_request_names_is_no_id_once_clocks_exist(
    client: PaymentKit, control: SandboxControl, tag: str
) -> None:
    """Once a clock exists, a request's strings are looked up as objects on clocks; a NUL (which
    PostgreSQL's text cannot hold) is looked up as nothing, never a 500."""
    control.create_test_clock()
    product = client.products.create(name=f"nul\x00{tag}", type="service")
    assert product.name == f"nul\x00{tag}"
    with pytest.raises(NotFoundError):
        client.customers.retrieve(f"cus_\x00{tag}")
    assert client.invoices.list(customer_id=f"cus_\x00{tag}").count == 0
    clock = control.create_test_clock()
    on_clock = client.with_options(default_headers=control.test_clock_header(clock["id"]))
    customer = on_clock.customers.retrieve(f"did:abt:znul\x00{tag}", create=True)  # its DID joins no clock
    assert customer.did == f"znul\x00{tag}" and customer.created_at.date() == date.fromtimestamp(clock["frozen_time"])
