"""Meters, meter events, credit grants and credit transactions, through the
facade, against the sandbox (and the credit engine's events, directly)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sandbox_calls import sandbox_get, sandbox_post

import payment_kit_client.models as m
from payment_kit import AsyncPaymentKit, BadRequestError, NotFoundError, PaymentKit

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes or loopback receivers

HOUR = 3600
DAY = 86400
BASE = 1_699_999_200  # a whole hour, for events reported with explicit timestamps


# -- helpers -----------------------------------------------------------------------------------


def now(server: tuple[str, str]) -> int:
    """The sandbox clock (which other tests may have moved on)."""
    return int(sandbox_get(server, "/sandbox/health").raise_for_status().json()["now"])


def advance(server: tuple[str, str], seconds: int) -> dict[str, Any]:
    answer: dict[str, Any] = (
        sandbox_post(server, "/sandbox/clock/advance", {"seconds": seconds}).raise_for_status().json()
    )
    return answer


def make_meter(client: PaymentKit, tag: str, **extra: Any) -> m.MeterExpanded:
    return client.meters.create(
        name=f"API Calls {tag}", event_name=f"api_calls_{tag}", aggregation_method="sum", unit="calls", **extra
    )


def report(client: PaymentKit, meter: m.MeterExpanded, customer: Any, value: str, key: str, **extra: Any) -> Any:
    return client.meter_events.create(
        event_name=meter.event_name,
        payload={"customer_id": customer.id, "value": value},
        identifier=key,
        **extra,
    )


def give(client: PaymentKit, meter: m.MeterExpanded, customer: Any, amount: str, **extra: Any) -> m.CreditGrantExpanded:
    return client.credit_grants.create(
        customer_id=customer.id, amount=amount, currency_id=meter.currency_id, category="promotional", **extra
    )


# -- the seed README's credit flow -------------------------------------------------------------


def test_the_seed_readme_credit_flow(client: PaymentKit, server: tuple[str, str], customer: Any, tag: str) -> None:
    meter = client.meters.create(
        name="API Calls",
        event_name=f"api_calls_{tag}",
        aggregation_method="sum",
        unit="calls",
        description="Track API usage",
    )
    assert meter.id.startswith("mtr_") and meter.status == "active" and meter.object_ == "meter"
    currency = meter.payment_currency
    assert currency.id == meter.currency_id and currency.type_ == "credit" and currency.decimal == 2
    assert currency.symbol == "calls"

    grant = client.credit_grants.create(
        customer_id=customer.id,
        amount="1000",
        currency_id=meter.currency_id,
        category="promotional",
        name="New user bonus credits",
        expires_at=now(server) + 30 * DAY,
    )
    assert grant.id.startswith("cg_") and grant.status == "granted"
    assert grant.amount == grant.remaining_amount == "100000"  # 1000 credits with 2 decimals, in units
    assert grant.customer.id == customer.id and grant.payment_currency.id == meter.currency_id
    assert grant.payment_method.id == grant.payment_currency.payment_method_id and grant.priority == 50

    event = client.meter_events.create(
        event_name=f"api_calls_{tag}",
        payload={"customer_id": customer.id, "value": "10"},
        identifier=f"unique_{tag}",
        timestamp=now(server),
    )
    # Answered as PaymentKit answers it (recorded, not yet settled); settled by the next read.
    assert event.id.startswith("mevt_") and event.status == "pending" and event.object_ == "meter_event"
    assert event.meter.id == meter.id and event.customer.id == customer.id

    summary = client.credit_grants.summary(customer_id=customer.id)
    entry = summary[meter.currency_id]
    assert entry.remaining_amount == "99000" and entry.total_amount == "100000" and entry.grant_count == 1
    assert entry.payment_currency.id == meter.currency_id and entry.meter.id == meter.id
    assert client.credit_grants.summary(customer_id=customer.did)[meter.currency_id].remaining_amount == "99000"

    transactions = client.credit_transactions.list(customer_id=customer.id, page=1, page_size=20)
    assert transactions.count == 1
    row = transactions.list[0]
    assert row.id.startswith("ctxn_") and row.object_ == "credit_transaction"
    assert (row.quantity, row.credit_amount, row.remaining_balance) == ("10", "1000", "99000")
    assert row.credit_grant.id == grant.id and row.meter.id == meter.id and row.meter_event.id == event.id
    assert row.source == event.id and row.meter_event_name == f"api_calls_{tag}" and row.meter_unit == "calls"

    settled = client.meter_events.retrieve(event.id)
    assert settled.status == "completed" and settled.credit_consumed == "1000" and settled.credit_pending == "0"
    assert settled.processed_at is not None and settled.attempt_count == 1
    assert client.meter_events.pending_amount(customer_id=customer.id).additional_keys == []


# -- meters ------------------------------------------------------------------------------------


def test_meter_lookup_update_and_status(client: PaymentKit, customer: Any, tag: str) -> None:
    meter = make_meter(client, tag, decimal=6, metadata={"team": tag})
    assert meter.payment_currency.decimal == 6
    assert client.meters.retrieve(meter.id).id == meter.id
    assert client.meters.retrieve(meter.event_name).id == meter.id  # by event name too
    with pytest.raises(NotFoundError, match="Meter not found: nope_"):
        client.meters.retrieve(f"nope_{tag}")

    updated = client.meters.update(meter.id, name=f"Renamed {tag}", unit="requests", metadata={"team": "x"})
    assert (updated.name, updated.unit, updated.metadata["team"]) == (f"Renamed {tag}", "requests", "x")
    assert updated.event_name == meter.event_name and updated.payment_currency.id == meter.currency_id

    off = client.meters.deactivate(meter.id)
    assert off.status == "inactive"
    with pytest.raises(BadRequestError, match="already inactive"):
        client.meters.deactivate(meter.id)
    with pytest.raises(BadRequestError, match=f"event_name: meter {meter.id} .* is inactive"):
        report(client, meter, customer, "1", f"off_{tag}")
    assert client.meter_events.list(meter_id=meter.id).count == 0
    assert client.meters.activate(meter.event_name).status == "active"
    with pytest.raises(BadRequestError, match="already active"):
        client.meters.activate(meter.id)
    assert report(client, meter, customer, "1", f"on_{tag}").event_name == meter.event_name


def test_meter_refusals(client: PaymentKit, tag: str) -> None:
    meter = make_meter(client, tag)
    with pytest.raises(BadRequestError, match=f"event_name: 'api_calls_{tag}' is already the event name of meter"):
        make_meter(client, tag)
    base = next(c for c in client.payment_currencies.list() if c.type_ == "standard")
    with pytest.raises(BadRequestError, match="not a credit currency"):
        client.meters.create(name="x", event_name=f"std_{tag}", unit="u", currency_id=base.id)
    with pytest.raises(BadRequestError, match="currency_id: no payment currency 'pc_missing'"):
        client.meters.create(name="x", event_name=f"missing_{tag}", unit="u", currency_id="pc_missing")
    with pytest.raises(BadRequestError, match="decimal"):
        client.meters.create(name="x", event_name=f"both_{tag}", unit="u", currency_id=meter.currency_id, decimal=2)
    # payment-js types `sum` as the only aggregation a meter is created with: refused before sending.
    with pytest.raises(TypeError, match="MeterCreateAggregationMethod"):
        client.meters.create(name="x", event_name=f"agg_{tag}", unit="u", aggregation_method="max")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        client.meters.update("mtr_missing", name="x")
    shared = client.meters.create(name="Shared", event_name=f"shared_{tag}", unit="u", currency_id=meter.currency_id)
    assert shared.currency_id == meter.currency_id  # a second meter may spend the same credit


def test_meter_list_filters_and_pages(client: PaymentKit, tag: str) -> None:
    made = [make_meter(client, f"{tag}_{i}") for i in range(3)]
    assert [x.id for x in client.meters.list(event_name=f"api_calls_{tag}_1")] == [made[1].id]
    found = client.meters.list(q=tag, order="created_at:ASC")
    assert [x.id for x in found] == [x.id for x in made] and found.count == 3
    page = client.meters.list(q=tag, page_size=2)
    assert page.count == 3 and len(page.list) == 2
    assert [x.id for x in page.auto_paging_iter()] == [x.id for x in reversed(made)]
    assert all(x.payment_currency is not None for x in page.list)
    with pytest.raises(BadRequestError, match="order: cannot sort by 'unit'"):
        client.meters.list(order="unit:ASC")


def test_livemode_partitions_meters_and_credit(client: PaymentKit, customer: Any, tag: str) -> None:
    meter = make_meter(client, tag)
    grant = give(client, meter, customer, "5")
    live = client.with_options(livemode=True)
    with pytest.raises(NotFoundError):
        live.meters.retrieve(meter.event_name)
    with pytest.raises(NotFoundError):
        live.credit_grants.retrieve(grant.id)
    assert meter.id not in [x.id for x in live.meters.list(q=tag)]
    twin = live.meters.create(name="live twin", event_name=meter.event_name, unit="calls")
    assert twin.livemode is True and twin.currency_id != meter.currency_id  # event names are unique per mode
    with pytest.raises(BadRequestError, match=re.escape("payload.customer_id: no customer")):
        live.meter_events.create(
            event_name=meter.event_name, payload={"customer_id": customer.id, "value": "1"}, identifier=f"l_{tag}"
        )
    with pytest.raises(NotFoundError, match="Customer not found"):
        live.credit_grants.summary(customer_id=customer.id)
    assert live.credit_grants.list(customer_id=customer.id).count == 0


# -- meter events ------------------------------------------------------------------------------


def test_meter_event_refusals_and_idempotency(client: PaymentKit, customer: Any, tag: str) -> None:
    meter = make_meter(client, tag)
    give(client, meter, customer, "100")
    with pytest.raises(BadRequestError, match=f"event_name: no meter has the event name 'ghost_{tag}'"):
        client.meter_events.create(
            event_name=f"ghost_{tag}", payload={"customer_id": customer.id, "value": "1"}, identifier=f"g_{tag}"
        )
    with pytest.raises(BadRequestError, match=re.escape("payload.customer_id: no customer 'cus_missing'")):
        client.meter_events.create(
            event_name=meter.event_name, payload={"customer_id": "cus_missing", "value": "1"}, identifier=f"c_{tag}"
        )
    with pytest.raises(BadRequestError, match=re.escape("payload.value: 0.001 has more than 2 decimal places")):
        report(client, meter, customer, "0.001", f"v_{tag}")
    with pytest.raises(BadRequestError, match=re.escape("payload.value")):
        report(client, meter, customer, "-1", f"n_{tag}")
    with pytest.raises(BadRequestError, match=re.escape("payload.subscription_id: no subscription 'sub_missing'")):
        client.meter_events.create(
            event_name=meter.event_name,
            payload={"customer_id": customer.id, "value": "1", "subscription_id": "sub_missing"},
            identifier=f"s_{tag}",
        )
    with pytest.raises(BadRequestError, match="identifier"):
        report(client, meter, customer, "1", "x" * 256)
    assert client.meter_events.list(meter_id=meter.id).count == 0  # nothing was recorded

    by_did = client.meter_events.create(
        event_name=meter.event_name, payload={"customer_id": customer.did, "value": "1.5"}, identifier=f"once_{tag}"
    )
    assert by_did.customer.id == customer.id and by_did.payload.customer_id == customer.id
    again = report(client, meter, customer, "99", f"once_{tag}")
    assert again.id == by_did.id and again.payload.value == "1.5" and again.status == "completed"
    assert client.meter_events.list(meter_id=meter.id).count == 1
    assert client.credit_grants.summary(customer_id=customer.id)[meter.currency_id].remaining_amount == "9850"
    with pytest.raises(NotFoundError, match="Meter event not found"):
        client.meter_events.retrieve("mevt_missing")


def test_consumption_order_shortfall_and_repayment(
    client: PaymentKit, server: tuple[str, str], customer: Any, tag: str
) -> None:
    meter = make_meter(client, tag)
    t = now(server)
    plain = give(client, meter, customer, "5", name="plain")
    late = give(client, meter, customer, "5", name="late", expires_at=t + 20 * DAY)
    soon = give(client, meter, customer, "5", name="soon", expires_at=t + 2 * DAY)
    first = give(client, meter, customer, "5", name="first", priority=100, expires_at=t + 30 * DAY)
    product = client.products.create(name=f"scoped {tag}", type="service")
    price = client.prices.create(product_id=product.id, unit_amount="1")
    scoped = give(client, meter, customer, "50", priority=1000, applicability_config={"scope": {"prices": [price.id]}})

    report(client, meter, customer, "17", f"a_{tag}")
    rows = client.credit_transactions.list(customer_id=customer.id, order="created_at:ASC").list
    # Highest priority first, then the soonest expiry, then no expiry last; a grant kept for
    # other prices is not touched by usage billed under none.
    assert [(r.credit_grant_id, r.credit_amount) for r in rows] == [
        (first.id, "500"),
        (soon.id, "500"),
        (late.id, "500"),
        (plain.id, "200"),
    ]
    statuses = {g.id: g.status for g in client.credit_grants.list(customer_id=customer.id)}
    assert statuses == {
        first.id: "depleted",
        soon.id: "depleted",
        late.id: "depleted",
        plain.id: "granted",
        scoped.id: "granted",
    }

    assert client.credit_grants.update(scoped.id, expired=True).success is True

    short = report(client, meter, customer, "10", f"b_{tag}")
    short = client.meter_events.retrieve(short.id)
    assert (short.status, short.credit_consumed, short.credit_pending) == ("requires_action", "300", "700")
    assert client.meter_events.pending_amount(customer_id=customer.id)[meter.currency_id] == "700"
    assert client.meter_events.pending_amount(customer_id=customer.did, currency_id=meter.currency_id).additional_keys
    assert client.meter_events.pending_amount(currency_id="pc_other").additional_keys == []
    check = client.credit_grants.verify_availability(customer_id=customer.id, currency_id=meter.currency_id)
    assert check.can_continue is False and "insufficient credit" in check.reason
    tolerant = client.credit_grants.verify_availability(
        customer_id=customer.id, currency_id=meter.currency_id, max_pending_amount="1000"
    )
    assert tolerant.can_continue is True

    topup = give(client, meter, customer, "10")
    assert topup.remaining_amount == "300"  # new credit first pays what was waiting
    repaid = client.meter_events.retrieve(short.id)
    assert (repaid.status, repaid.credit_consumed, repaid.credit_pending) == ("completed", "1000", "0")
    assert repaid.attempt_count == 2
    assert client.meter_events.pending_amount(customer_id=customer.id).additional_keys == []
    summary = client.credit_grants.summary(customer_id=customer.id)[meter.currency_id]
    assert summary.remaining_amount == "300" and summary.grant_count == 1
    assert client.credit_grants.verify_availability(
        customer_id=customer.did, currency_id=meter.currency_id
    ).can_continue
    need_more = client.credit_grants.verify_availability(
        customer_id=customer.id, currency_id=meter.currency_id, pending_amount="301"
    )
    assert need_more.can_continue is False
    exactly = client.credit_grants.verify_availability(
        customer_id=customer.id, currency_id=meter.currency_id, pending_amount="300"
    )
    assert exactly.can_continue is True


def test_meter_event_lists_and_stats(client: PaymentKit, customer: Any, tag: str) -> None:
    meter = make_meter(client, tag)
    other = client.customers.retrieve(f"did:abt:zother{tag}", create=True)
    give(client, meter, customer, "100")
    stamps = [BASE + 60, BASE + 120, BASE + HOUR + 5, BASE + DAY]
    made = [
        report(client, meter, customer, value, f"{tag}_{i}", timestamp=at)
        for i, (value, at) in enumerate(zip(["1", "2.5", "4", "8"], stamps, strict=True))
    ]
    report(client, meter, other, "16", f"{tag}_other", timestamp=BASE)

    assert client.meter_events.list(meter_id=meter.id).count == 5
    assert client.meter_events.list(event_name=meter.event_name, customer_id=customer.id).count == 4
    assert client.meter_events.list(meter_id=meter.event_name, customer_id=other.did).count == 1
    window = client.meter_events.list(meter_id=meter.id, start=BASE + 60, end=BASE + HOUR + 5, order="timestamp:ASC")
    assert [e.id for e in window] == [e.id for e in made[:3]]
    assert [e.id for e in client.meter_events.list(q=f"{tag}_2")] == [made[2].id]
    paged = client.meter_events.list(meter_id=meter.id, page_size=2, page=3)
    assert paged.count == 5 and len(paged.list) == 1

    hourly = client.meter_events.stats(
        meter_id=meter.id, start=BASE, end=BASE + DAY - 1, customer_id=customer.id, granularity="hour"
    )
    assert [(r.event_count, r.total_value) for r in hourly] == [(2, "3.5"), (1, "4")]
    assert hourly.count == 2 and hourly.list[0].date.endswith(":00")
    daily = client.meter_events.stats(meter_id=meter.event_name, start=BASE, end=BASE + 2 * DAY)
    assert [(r.event_count, r.total_value) for r in daily] == [(4, "23.5"), (1, "8")]
    minutes = client.meter_events.stats(meter_id=meter.id, start=BASE, end=BASE + 200, granularity="minute")
    assert [r.event_count for r in minutes] == [1, 1, 1]
    with pytest.raises(BadRequestError, match=r"end: \d+ is before start"):
        client.meter_events.stats(meter_id=meter.id, start=BASE, end=BASE - 1)
    with pytest.raises(NotFoundError, match="Meter not found"):
        client.meter_events.stats(meter_id="mtr_missing", start=BASE, end=BASE)


# -- credit grants -----------------------------------------------------------------------------


def test_grant_refusals(client: PaymentKit, server: tuple[str, str], customer: Any, tag: str) -> None:
    meter = make_meter(client, tag)
    with pytest.raises(BadRequestError, match="customer_id: no customer 'cus_missing'"):
        client.credit_grants.create(
            customer_id="cus_missing", amount="1", currency_id=meter.currency_id, category="paid"
        )
    with pytest.raises(BadRequestError, match="currency_id: no payment currency 'pc_missing'"):
        client.credit_grants.create(customer_id=customer.id, amount="1", currency_id="pc_missing", category="paid")
    base = next(c for c in client.payment_currencies.list() if c.type_ == "standard")
    with pytest.raises(BadRequestError, match="not a credit currency"):
        client.credit_grants.create(customer_id=customer.id, amount="1", currency_id=base.id, category="paid")
    with pytest.raises(BadRequestError, match=re.escape("amount: 1.001 has more than 2 decimal places")):
        give(client, meter, customer, "1.001")
    with pytest.raises(BadRequestError, match="amount: a grant must give more than 0"):
        give(client, meter, customer, "0")
    with pytest.raises(BadRequestError, match="expires_at"):
        give(client, meter, customer, "1", expires_at=now(server) - 10)
    with pytest.raises(BadRequestError, match="expires_at"):
        give(client, meter, customer, "1", effective_at=now(server) + DAY, expires_at=now(server) + HOUR)
    with pytest.raises(BadRequestError, match=r"applicability_config.scope.prices\[0\]: no price 'price_missing'"):
        give(client, meter, customer, "1", applicability_config={"scope": {"prices": ["price_missing"]}})
    with pytest.raises(BadRequestError, match="category"):
        client.credit_grants.create(
            customer_id=customer.id,
            amount="1",
            currency_id=meter.currency_id,
            category="gift",  # type: ignore[arg-type]
        )
    assert client.credit_grants.list(customer_id=customer.id).count == 0
    with pytest.raises(NotFoundError, match="Credit grant not found"):
        client.credit_grants.retrieve("cg_missing")
    with pytest.raises(NotFoundError):
        client.credit_grants.update("cg_missing", metadata={})


def test_grant_lifecycle_on_the_clock(client: PaymentKit, server: tuple[str, str], customer: Any, tag: str) -> None:
    meter = make_meter(client, tag)
    t = now(server)
    later = give(client, meter, customer, "7", effective_at=t + HOUR, expires_at=t + 3 * HOUR)
    assert later.status == "pending" and later.effective_at == t + HOUR
    never = give(client, meter, customer, "3", expires_at=0)
    assert never.expires_at == 0 and never.status == "granted"
    assert client.credit_grants.summary(customer_id=customer.id)[meter.currency_id].remaining_amount == "300"

    moved = advance(server, HOUR + 1)
    assert moved["credit_grants_activated"] >= 1
    assert client.credit_grants.retrieve(later.id).status == "granted"
    assert client.credit_grants.summary(customer_id=customer.id)[meter.currency_id].remaining_amount == "1000"

    advance(server, 2 * HOUR)
    gone = client.credit_grants.retrieve(later.id)
    assert gone.status == "expired" and gone.remaining_amount == "700"
    assert client.credit_grants.summary(customer_id=customer.id)[meter.currency_id].grant_count == 1
    assert client.credit_grants.retrieve(never.id).status == "granted"  # expires_at 0 never expires


def test_grant_update_and_expire(client: PaymentKit, customer: Any, tag: str) -> None:
    meter = make_meter(client, tag)
    grant = give(client, meter, customer, "2", metadata={"a": "1", "b": "2"})
    done = client.credit_grants.update(grant.id, metadata={"a": "9"})
    assert done.success is True
    assert client.credit_grants.retrieve(grant.id).metadata.to_dict() == {"a": "9"}  # replaced, not merged

    assert client.credit_grants.update(grant.id, expired=True).success is True
    expired = client.credit_grants.retrieve(grant.id)
    assert expired.status == "expired" and expired.expires_at is not None
    with pytest.raises(BadRequestError, match=f"Credit grant {grant.id} is expired; only pending or granted"):
        client.credit_grants.update(grant.id, expired=True, metadata={"c": "3"})
    assert client.credit_grants.retrieve(grant.id).metadata.to_dict() == {"a": "9"}  # the refusal changed nothing
    assert meter.currency_id not in client.credit_grants.summary(customer_id=customer.id)

    used = give(client, meter, customer, "1")
    report(client, meter, customer, "1", f"use_{tag}")
    assert client.credit_grants.retrieve(used.id).status == "depleted"
    with pytest.raises(BadRequestError, match="is depleted"):
        client.credit_grants.update(used.id, expired=True)


def test_grant_lists_holders_and_stats(client: PaymentKit, server: tuple[str, str], customer: Any, tag: str) -> None:
    meter = make_meter(client, tag)
    other = client.customers.retrieve(f"did:abt:zholder{tag}", create=True)
    t0 = now(server)
    a = give(client, meter, customer, "10", name=f"welcome {tag}")
    b = client.credit_grants.create(
        customer_id=customer.id, amount="20", currency_id=meter.currency_id, category="paid", priority=10
    )
    c = give(client, meter, other, "5")
    pending = give(client, meter, other, "1", effective_at=t0 + DAY)
    report(client, meter, customer, "4", f"spend_{tag}")
    t1 = now(server)

    mine = client.credit_grants.list(customer_id=customer.did, order="created_at:ASC")
    assert [g.id for g in mine] == [a.id, b.id] and all(g.customer.id == customer.id for g in mine)
    in_currency = client.credit_grants.list(currency_id=meter.currency_id, status="granted,pending")
    assert {g.id for g in in_currency} == {a.id, b.id, c.id, pending.id}
    assert [g.id for g in client.credit_grants.list(currency_id=meter.currency_id, status="pending")] == [pending.id]
    assert [g.id for g in client.credit_grants.list(q=f"welcome {tag}")] == [a.id]
    by_priority = client.credit_grants.list(currency_id=meter.currency_id, order="priority:ASC")
    assert by_priority.list[0].id == b.id
    paged = client.credit_grants.list(currency_id=meter.currency_id, page_size=3)
    assert paged.count == 4 and len(paged.list) == 3
    with pytest.raises(BadRequestError, match="status"):
        client.credit_grants.list(status="granted,spent")
    with pytest.raises(BadRequestError, match="order: cannot sort by 'amount'"):
        client.credit_grants.list(order="amount:DESC")

    holders = client.credit_grants.holders(currency_id=meter.currency_id)
    # a (the default priority 50) paid for the usage before b (priority 10).
    assert [(h.customer_id, h.balance, h.grant_count) for h in holders.holders] == [
        (customer.id, "2600", 2),
        (other.id, "500", 1),
    ]
    assert holders.currency.id == meter.currency_id and holders.currency.decimal == 2
    assert (holders.paging.total, holders.paging.total_pages, holders.paging.page_size) == (2, 1, 20)
    second = client.credit_grants.holders(currency_id=meter.currency_id, page=2, page_size=1)
    assert [h.customer_id for h in second.holders] == [other.id] and second.paging.total_pages == 2
    with pytest.raises(NotFoundError, match="Payment currency not found"):
        client.credit_grants.holders(currency_id="pc_missing")

    stats = client.credit_grants.stats(currency_id=meter.currency_id, start_date=t0, end_date=t1)
    assert stats.stats.grant_count == 4 and stats.stats.currency.id == meter.currency_id
    assert (stats.stats.total_granted, stats.stats.total_remaining, stats.stats.total_consumed) == (
        "3600",
        "3200",
        "400",
    )
    assert sum(d.grant_count for d in stats.daily_stats) == 4
    paid = client.credit_grants.stats(currency_id=meter.currency_id, start_date=t0, end_date=t1, category="paid")
    assert (paid.stats.grant_count, paid.stats.total_granted) == (1, "2000")
    shifted = client.credit_grants.stats(
        currency_id=meter.currency_id, start_date=t0, end_date=t1, timezone_offset=-840
    )
    assert sum(d.grant_count for d in shifted.daily_stats) == 4
    with pytest.raises(BadRequestError, match="end_date"):
        client.credit_grants.stats(currency_id=meter.currency_id, start_date=t1 + 10, end_date=t0)


def test_verify_availability_refusals(client: PaymentKit, customer: Any, tag: str) -> None:
    meter = make_meter(client, tag)
    empty = client.credit_grants.verify_availability(customer_id=customer.id, currency_id=meter.currency_id)
    assert empty.can_continue is False and "insufficient credit" in empty.reason
    unknown = client.credit_grants.verify_availability(customer_id="cus_missing", currency_id=meter.currency_id)
    assert unknown.can_continue is False and "no customer" in unknown.reason
    with pytest.raises(BadRequestError, match="currency_id: no payment currency"):
        client.credit_grants.verify_availability(customer_id=customer.id, currency_id="pc_missing")
    with pytest.raises(BadRequestError, match="must not be negative"):
        client.credit_grants.verify_availability(
            customer_id=customer.id, currency_id=meter.currency_id, pending_amount="-1"
        )

    pack = client.products.create(name=f"credits {tag}", type="credit")
    top_up = client.prices.create(
        product_id=pack.id,
        unit_amount="1",
        metadata={"credit_config": {"credit_amount": "100", "currency_id": meter.currency_id}},
    )
    client.auto_recharge_configs.submit(
        customer_id=customer.id, currency_id=meter.currency_id, enabled=True, price_id=top_up.id
    )
    # An enabled auto-recharge tops the balance up, unless the caller allows no recharge.
    assert client.credit_grants.verify_availability(customer_id=customer.id, currency_id=meter.currency_id).can_continue
    no_recharge = client.credit_grants.verify_availability(
        customer_id=customer.id, currency_id=meter.currency_id, max_recharge_times=0
    )
    assert no_recharge.can_continue is False


# -- credit transactions -----------------------------------------------------------------------


def test_credit_transactions_filters_and_summary(
    client: PaymentKit, server: tuple[str, str], customer: Any, tag: str
) -> None:
    meter = make_meter(client, tag)
    other_meter = client.meters.create(
        name="Tokens", event_name=f"tokens_{tag}", unit="tokens", currency_id=meter.currency_id
    )
    first = give(client, meter, customer, "3", priority=90)
    second = give(client, meter, customer, "100")
    t0 = now(server)
    report(client, meter, customer, "5", f"x_{tag}")
    event = report(client, other_meter, customer, "0.25", f"y_{tag}")

    rows = client.credit_transactions.list(customer_id=customer.id, order="created_at:ASC")
    assert [(r.credit_grant_id, r.quantity) for r in rows] == [(first.id, "3"), (second.id, "2"), (second.id, "0.25")]
    assert client.credit_transactions.list(credit_grant_id=second.id).count == 2
    assert client.credit_transactions.list(meter_id=other_meter.id).list[0].meter_event_name == f"tokens_{tag}"
    assert client.credit_transactions.list(source=event.id).count == 1
    assert client.credit_transactions.list(customer_id=customer.id, start=t0, end=now(server) + 1).count == 3
    assert client.credit_transactions.list(customer_id=customer.id, end=t0 - 1).count == 0
    assert [r.meter_event_name for r in client.credit_transactions.list(q=f"tokens_{tag}")] == [f"tokens_{tag}"]

    one = client.credit_transactions.retrieve(rows.list[0].id)
    assert one.credit_grant.payment_currency.id == meter.currency_id and one.payment_method is not None
    assert one.customer.id == customer.id and one.payment_currency.decimal == 2 and one.subscription is None
    with pytest.raises(NotFoundError, match="Credit transaction not found"):
        client.credit_transactions.retrieve("ctxn_missing")

    total = client.credit_transactions.summary(customer_id=customer.id)
    assert (total.total_quantity, total.total_credit_amount, total.transaction_count) == ("5.25", "525", 3)
    assert total.filters.customer_id == customer.id and total.filters.meter_id is None
    by_meter = client.credit_transactions.summary(meter_id=meter.id, currency_id=meter.currency_id, start=t0)
    assert (by_meter.total_quantity, by_meter.transaction_count) == ("5", 2)
    assert by_meter.filters.meter_event_name == meter.event_name and by_meter.filters.start_time is not None


# -- async -------------------------------------------------------------------------------------


async def test_async_credit_flow(aclient: AsyncPaymentKit, tag: str) -> None:
    customer = await aclient.customers.retrieve(f"did:abt:zasync{tag}", create=True)
    meter = await aclient.meters.create(name="async", event_name=f"async_{tag}", unit="calls", decimal=0)
    await aclient.credit_grants.create(
        customer_id=customer.id, amount="50", currency_id=meter.currency_id, category="paid"
    )
    await aclient.meter_events.create(
        event_name=meter.event_name, payload={"customer_id": customer.id, "value": "20"}, identifier=f"as_{tag}"
    )
    summary = await aclient.credit_grants.summary(customer_id=customer.id)
    assert summary[meter.currency_id].remaining_amount == "30"
    page = await aclient.credit_transactions.list(customer_id=customer.id)
    assert [r.credit_amount async for r in page.auto_paging_iter()] == ["20"]
    assert (await aclient.meters.retrieve(meter.event_name)).id == meter.id


# -- the engine's webhook events ---------------------------------------------------------------


def test_the_engine_emits_grant_and_insufficiency_events() -> None:
    from payment_kit_sandbox.app import wire
    from payment_kit_sandbox.context import Context
    from payment_kit_sandbox.database import Store
    from payment_kit_sandbox.document import load_document
    from payment_kit_sandbox.lookups import ensure_customer
    from payment_kit_sandbox.seed import seed

    wired = wire(load_document())
    with Store() as store, store.transaction():
        seed(store, wired.wiring.document)
        ctx = Context(op=None, store=store, livemode=False, wiring=wired.wiring)
        person = ensure_customer(ctx, "did:abt:zengine")

        def call(operation: str, body: dict[str, Any]) -> Any:
            answer = Context(op=None, store=store, livemode=False, wiring=wired.wiring, body=body, events=ctx.events)
            return wired.handlers[operation](answer)

        meter = call("createMeter", {"name": "e", "event_name": "e", "unit": "u"})
        call(
            "createCreditGrant",
            {"customer_id": person["id"], "amount": "1", "currency_id": meter["currency_id"], "category": "paid"},
        )
        call(
            "createMeterEvent",
            {"event_name": "e", "payload": {"customer_id": person["id"], "value": "3"}, "identifier": "i"},
        )
    assert [e["type"] for e in ctx.events] == [
        "customer.created",
        "customer.credit_grant.granted",
        "customer.credit_grant.depleted",
        "customer.credit.insufficient",
    ]
    assert ctx.events[-1]["object"]["credit_pending"] == "200"
