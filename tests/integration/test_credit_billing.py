"""Credit bought with money (issue 11), through the facade against the sandbox: credit packs
bought by checkout, payment link and one-off invoice; failed payments; refunds; subscriptions'
credit schedules; auto-recharge; metered subscriptions fed by meter events; pending debt.

Amounts are exact: the meters' credit currencies have 2 decimals (1 credit = 100 units); the
seeded test currency has 18 (a 5-token pack costs 5 × 10^18 units)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import payment_kit_client.models as m
from payment_kit import BadRequestError, PaymentKit
from payment_kit_sandbox.control import SandboxControl, SandboxError

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes

CREDIT = 100  # units per credit (2 decimals)
TOKEN = 10**18  # units per token of the seeded test currency
DAY = 86400
URLS = {"success_url": "https://example.com/ok", "cancel_url": "https://example.com/no"}


def a_meter(client: PaymentKit, tag: str, **extra: Any) -> m.MeterExpanded:
    return client.meters.create(
        name=f"Calls {tag}", event_name=f"calls_{tag}", aggregation_method="sum", unit="calls", **extra
    )


def a_pack(
    client: PaymentKit, tag: str, meter: m.MeterExpanded, credits: str = "500", price: str = "5", **config: Any
) -> m.PriceExpanded:
    """A one-time credit pack: `credits` credits of the meter's currency for `price` tokens."""
    product = client.products.create(name=f"Credits {tag}", type="credit")
    return client.prices.create(
        product_id=product.id,
        type="one_time",
        unit_amount=price,
        lookup_key=f"credits_{credits}_{tag}",
        metadata={"credit_config": {"currency_id": meter.currency_id, "credit_amount": credits, **config}},
    )


def a_plan(client: PaymentKit, tag: str, meter: m.MeterExpanded | None = None, **recurring: Any) -> m.PriceExpanded:
    product = client.products.create(name=f"Plan {tag}", type="service")
    metadata = {"meter_id": meter.id} if meter is not None else {}
    return client.prices.create(
        product_id=product.id,
        unit_amount="0.001",
        type="recurring",
        recurring={"interval": "month", "interval_count": 1, "usage_type": "licensed", **recurring},
        metadata=metadata,
    )


def a_scheduled_plan(client: PaymentKit, tag: str, meter: m.MeterExpanded, **schedule: Any) -> m.PriceExpanded:
    product = client.products.create(name=f"Credit plan {tag}", type="service")
    config = {
        "currency_id": meter.currency_id,
        "credit_amount": "100",
        "schedule": {"enabled": True, "interval_value": 1, "interval_unit": "day", **schedule},
    }
    return client.prices.create(
        product_id=product.id,
        unit_amount="0.001",
        type="recurring",
        recurring={"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        metadata={"credit_config": config},
    )


def subscribe(client: PaymentKit, customer: Any, price: m.PriceExpanded, quantity: int = 1, **fields: Any) -> Any:
    method = client.payment_currencies.retrieve(price.currency_id).payment_method_id
    return client.subscriptions.create(
        customer_id=customer.id,
        items=[{"price_id": price.id, "quantity": quantity}],
        default_payment_method_id=method,
        **fields,
    )


def buy(client: PaymentKit, control: SandboxControl, customer: Any, price_id: str, quantity: int = 1) -> dict[str, Any]:
    session = client.checkout.sessions.create(
        mode="payment", line_items=[{"price_id": price_id, "quantity": quantity}], **URLS
    )
    return control.complete_checkout(session.id, customer_did=customer.did)


def grants_of(client: PaymentKit, customer: Any, **filters: Any) -> list[Any]:
    return list(client.credit_grants.list(customer_id=customer.id, page_size=100, **filters).list)


def meta(obj: Any) -> dict[str, Any]:
    return dict(obj.to_dict().get("metadata") or {})


def use(client: PaymentKit, meter: m.MeterExpanded, customer: Any, value: str, key: str, **payload: Any) -> Any:
    return client.meter_events.create(
        event_name=meter.event_name, payload={"customer_id": customer.id, "value": value, **payload}, identifier=key
    )


def remaining(client: PaymentKit, customer: Any, meter: m.MeterExpanded) -> str | None:
    entry = client.credit_grants.summary(customer_id=customer.id).to_dict().get(meter.currency_id)
    return None if entry is None else str(entry["remainingAmount"])


# -- credit packs ------------------------------------------------------------------------------


def test_a_pack_bought_at_checkout_grants_paid_credit_linked_both_ways(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    plan = a_plan(client, tag, meter, usage_type="metered")
    pack = a_pack(
        client,
        tag,
        meter,
        priority=70,
        valid_duration_value=30,
        valid_duration_unit="days",
        applicable_prices=[plan.id],
    )
    done = buy(client, control, customer, pack.id, quantity=2)
    assert done["payment_status"] == "paid" and done["amount_total"] == str(10 * TOKEN)

    [grant] = grants_of(client, customer)
    assert grant.amount == grant.remaining_amount == str(2 * 500 * CREDIT)
    assert (grant.category, grant.status, grant.priority, grant.currency_id) == (
        "paid",
        "granted",
        70,
        meter.currency_id,
    )
    assert grant.expires_at == grant.effective_at + 30 * DAY
    assert grant.applicability_config.to_dict() == {"scope": {"prices": [plan.id]}}
    links = meta(grant)
    assert links["source"] == "purchase" and links["price_id"] == pack.id
    assert links["invoice_id"] == done["invoice_id"] and links["checkout_session_id"] == done["id"]
    assert links["payment_intent_id"] == done["payment_intent_id"]

    invoice = client.invoices.retrieve(done["invoice_id"])
    assert [g.id for g in invoice.related_credit_grants] == [grant.id]
    assert invoice.checkout_session.id == done["id"] and invoice.total == str(10 * TOKEN)
    assert remaining(client, customer, meter) == "100000"


def test_a_pack_bought_through_a_payment_link_found_by_lookup_key(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    pack = a_pack(client, tag, meter)
    assert client.prices.retrieve(f"credits_500_{tag}").id == pack.id
    link = client.payment_links.create(line_items=[{"price_id": pack.id, "quantity": 3}], lookup_key=f"buy_{tag}")
    session = control.open_payment_link(f"buy_{tag}")
    assert session["payment_link_id"] == link.id
    done = control.complete_checkout(session["id"], customer_did=customer.did)
    [grant] = grants_of(client, customer)
    assert grant.amount == str(3 * 500 * CREDIT) and meta(grant)["payment_link_id"] == link.id
    invoice = client.invoices.retrieve(done["invoice_id"])
    assert invoice.payment_link.id == link.id and [g.id for g in invoice.related_credit_grants] == [grant.id]


def test_a_pack_on_a_one_off_invoice_and_a_declined_payment_grants_nothing(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    pack = a_pack(client, tag, meter)
    paid = control.create_invoice(customer.id, [{"price_id": f"credits_500_{tag}", "quantity": 2}], pay=True)
    assert paid["status"] == "paid" and paid["billing_reason"] == "manual"
    [grant] = grants_of(client, customer)
    assert grant.amount == "100000" and meta(grant)["invoice_id"] == paid["id"] and meta(grant)["source"] == "purchase"

    assert control.fail_payments(customer.id, reason="Insufficient funds") == {
        "customer_id": customer.id,
        "failing": True,
        "reason": "Insufficient funds",
    }
    session = client.checkout.sessions.create(mode="payment", line_items=[{"price_id": pack.id, "quantity": 1}], **URLS)
    with pytest.raises(SandboxError) as declined:
        control.complete_checkout(session.id, customer_did=customer.did)
    assert declined.value.status == 402 and "declined (Insufficient funds)" in declined.value.message
    assert client.checkout.sessions.retrieve(session.id).status == "open"

    unpaid = control.create_invoice(customer.id, [{"price_id": pack.id, "quantity": 1}], pay=True)
    assert unpaid["status"] == "open" and unpaid["attempt_count"] == 1 and unpaid["amount_paid"] == "0"
    intent = client.payment_intents.retrieve(unpaid["payment_intent_id"])
    assert intent.status == "requires_payment_method" and intent.last_payment_error.message == "Insufficient funds"
    with pytest.raises(SandboxError, match="402"):
        control.pay_invoice(unpaid["id"])
    assert len(grants_of(client, customer)) == 1 and client.invoices.retrieve(unpaid["id"]).related_credit_grants == []

    assert control.fail_payments(customer.id, fail=False)["failing"] is False
    assert control.pay_invoice(unpaid["id"])["status"] == "paid"
    assert sorted(int(g.amount) for g in grants_of(client, customer)) == [50000, 100000]
    assert remaining(client, customer, meter) == "150000"


def test_a_refund_voids_the_unspent_share_and_says_so(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    pack = a_pack(client, tag, meter)
    done = buy(client, control, customer, pack.id, quantity=2)  # 1000 credits for 10 tokens
    use(client, meter, customer, "30", f"{tag}-1")  # 3000 units spent
    [grant] = grants_of(client, customer)
    assert grant.remaining_amount == "97000"

    partial = client.payment_intents.refund(done["payment_intent_id"], amount="2.5")  # a quarter
    assert partial.amount == str(25 * TOKEN // 10)
    assert meta(partial)["credit_grants_voided"] == [
        {"credit_grant_id": grant.id, "voided_amount": "25000", "spent_amount": "3000"}
    ]
    after = client.credit_grants.retrieve(grant.id)
    assert (after.status, after.remaining_amount) == ("granted", "72000")

    rest = client.refunds.create(payment_intent_id=done["payment_intent_id"], amount="7.5")
    assert meta(rest)["credit_grants_voided"] == [
        {"credit_grant_id": grant.id, "voided_amount": "72000", "spent_amount": "3000"}
    ]
    voided = client.credit_grants.retrieve(grant.id)
    assert (voided.status, voided.remaining_amount, voided.amount) == ("voided", "0", "100000")
    assert voided.voided_at is not None and voided.chain_detail.voided_reason == "refund"
    assert remaining(client, customer, meter) is None  # no usable grant: absent from the summary
    with pytest.raises(BadRequestError, match="already fully refunded"):
        client.payment_intents.refund(done["payment_intent_id"], amount="1")


# -- pending debt --------------------------------------------------------------------------------


def test_pending_debt_is_settled_first_by_a_bought_pack(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    pack = a_pack(client, tag, meter)
    event = use(client, meter, customer, "12.5", f"{tag}-debt")
    assert client.meter_events.pending_amount(customer_id=customer.id).to_dict() == {meter.currency_id: "1250"}
    assert client.meter_events.retrieve(event.id).status == "requires_action"

    buy(client, control, customer, pack.id)
    [grant] = grants_of(client, customer)
    assert grant.remaining_amount == str(50000 - 1250)
    [row] = client.credit_transactions.list(customer_id=customer.id).list
    assert (row.credit_grant_id, row.source, row.credit_amount, row.remaining_balance) == (
        grant.id,
        event.id,
        "1250",
        "48750",
    )
    assert meta(row) == {"settlement": "pending"} and row.description.endswith("(settles pending usage)")
    assert client.meter_events.retrieve(event.id).status == "completed"
    assert client.meter_events.pending_amount(customer_id=customer.id).to_dict() == {}


# -- scheduled grants ----------------------------------------------------------------------------


def test_invoice_delivery_grants_on_each_paid_invoice(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    plan = a_scheduled_plan(client, tag, meter, delivery_mode="invoice", interval_unit="month")
    sub = subscribe(client, customer, plan, quantity=2)
    [first] = grants_of(client, customer)
    assert first.amount == str(2 * 100 * CREDIT) and meta(first)["invoice_id"] == sub.latest_invoice_id
    assert meta(first)["source"] == "subscription_invoice" and meta(first)["subscription_id"] == sub.id

    control.advance_clock(seconds=client.subscriptions.retrieve(sub.id).current_period_end - control.health()["now"])
    renewed = client.subscriptions.retrieve(sub.id)
    assert renewed.latest_invoice_id != sub.latest_invoice_id
    grants = grants_of(client, customer)
    assert len(grants) == 2 and {meta(g)["invoice_id"] for g in grants} == {
        sub.latest_invoice_id,
        renewed.latest_invoice_id,
    }
    assert remaining(client, customer, meter) == "40000"

    control.fail_payments(customer.id)
    control.advance_clock(seconds=renewed.current_period_end - control.health()["now"])
    assert client.subscriptions.retrieve(sub.id).status == "past_due"
    assert len(grants_of(client, customer)) == 2  # the failed renewal granted nothing
    control.fail_payments(customer.id, fail=False)


def test_schedule_delivery_follows_the_clock_with_its_limits(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    plan = a_scheduled_plan(
        client,
        tag,
        meter,
        delivery_mode="schedule",
        first_grant_timing="immediate",
        expire_with_next_grant=True,
        max_grants_per_period=3,
        amount_per_grant="25",
    )
    use(client, meter, customer, "5", f"{tag}-early")  # 500 units owed before any credit
    sub = subscribe(client, customer, plan)
    [first] = grants_of(client, customer)
    assert first.amount == "2500" and first.remaining_amount == "2000"  # the debt was settled first
    assert meta(first)["source"] == "schedule" and first.effective_at == sub.start_date

    moved = control.advance_clock(days=1)
    assert moved["scheduled_credit_grants"] >= 1 and isinstance(moved["credit_grants_expired"], int)
    grants = {g.id: g for g in grants_of(client, customer)}
    assert grants[first.id].status == "expired"  # expire_with_next_grant
    [second] = [g for g in grants.values() if g.id != first.id]
    assert second.effective_at == sub.start_date + DAY and second.status == "granted"

    for _ in range(3):
        control.advance_clock(days=1)
    made = [g for g in grants_of(client, customer) if meta(g).get("subscription_id") == sub.id]
    assert len(made) == 3  # max_grants_per_period: days 0, 1, 2 of the period, not 3 or 4
    assert remaining(client, customer, meter) == "2500"


def test_after_trial_timing_waits_for_the_trial_to_end(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    plan = a_scheduled_plan(client, tag, meter, delivery_mode="schedule", first_grant_timing="after_trial")
    sub = subscribe(client, customer, plan, trial_period_days=2)
    assert sub.status == "trialing" and grants_of(client, customer) == []
    control.advance_clock(days=1)
    assert grants_of(client, customer) == []
    control.advance_clock(days=1)
    [grant] = grants_of(client, customer)
    assert grant.effective_at == sub.trial_end and grant.amount == "10000"


# -- auto-recharge ---------------------------------------------------------------------------------


def test_auto_recharge_buys_within_daily_limits_and_settles_debt(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    pack = a_pack(client, tag, meter)
    client.credit_grants.create(
        customer_id=customer.id, amount="10", currency_id=meter.currency_id, category="promotional", name="Welcome"
    )
    config = client.auto_recharge_configs.submit(
        customer_id=customer.id,
        currency_id=meter.currency_id,
        enabled=True,
        threshold=50,
        price_id=pack.id,
        quantity=1,
        daily_limits={"max_attempts": 2, "max_amount": 10},
    )
    assert config.enabled is True and config.threshold == "50"

    use(client, meter, customer, "20", f"{tag}-1")  # 1000 from the welcome grant, 1000 owed → recharge
    assert remaining(client, customer, meter) == "49000"
    rows = client.credit_transactions.list(customer_id=customer.id).list
    assert sorted((r.credit_amount, r.remaining_balance, meta(r)) for r in rows) == [
        ("1000", "0", {}),  # the welcome grant, drawn on first
        ("1000", "49000", {"settlement": "pending"}),  # the owed rest, settled by the recharge's grant
    ]
    [bought] = [g for g in grants_of(client, customer) if g.category == "paid"]
    assert meta(bought)["source"] == "auto_recharge"
    invoice = client.invoices.retrieve(meta(bought)["invoice_id"])
    assert (invoice.billing_reason, invoice.status, invoice.total) == ("auto_recharge", "paid", str(5 * TOKEN))
    stats = client.auto_recharge_configs.retrieve(config.id).daily_stats
    assert (stats.attempt_count, stats.total_amount) == (1, "5")

    use(client, meter, customer, "460", f"{tag}-2")  # 3000 left < 5000 → the second recharge
    assert remaining(client, customer, meter) == "53000"
    use(client, meter, customer, "500", f"{tag}-3")  # 3000 left: the daily attempt limit is reached
    assert remaining(client, customer, meter) == "3000"
    auto = client.invoices.list(customer_id=customer.id).list
    assert sum(1 for i in auto if i.billing_reason == "auto_recharge") == 2
    stats = client.auto_recharge_configs.retrieve(config.id).daily_stats
    assert (stats.attempt_count, stats.total_amount) == (2, "10")

    refused = client.credit_grants.verify_availability(
        customer_id=customer.id, currency_id=meter.currency_id, pending_amount="10000"
    )
    assert refused.can_continue is False and "3000 units" in refused.reason
    control.advance_clock(days=1)  # a new day: the limits start again
    allowed = client.credit_grants.verify_availability(
        customer_id=customer.id, currency_id=meter.currency_id, pending_amount="10000"
    )
    assert allowed.can_continue is True
    none_allowed = client.credit_grants.verify_availability(
        customer_id=customer.id, currency_id=meter.currency_id, pending_amount="10000", max_recharge_times=0
    )
    assert none_allowed.can_continue is False
    tolerated = client.credit_grants.verify_availability(
        customer_id=customer.id,
        currency_id=meter.currency_id,
        pending_amount="10000",
        max_recharge_times=0,
        max_pending_amount="7000",
    )
    assert tolerated.can_continue is True

    assert config.balance_result.sufficient is True
    control.fail_payments(customer.id)
    resubmitted = client.auto_recharge_configs.submit(customer_id=customer.id, currency_id=meter.currency_id)
    assert resubmitted.balance_result.sufficient is False and resubmitted.threshold == "50"
    assert (
        client.credit_grants.verify_availability(
            customer_id=customer.id, currency_id=meter.currency_id, pending_amount="10000"
        ).can_continue
        is False
    )
    use(client, meter, customer, "10", f"{tag}-4")  # 2000 left < 5000 → an attempt that fails
    assert remaining(client, customer, meter) == "2000"
    failed = [i for i in client.invoices.list(customer_id=customer.id, status="open").list]
    assert [(i.billing_reason, i.attempt_count) for i in failed] == [("auto_recharge", 1)]
    stats = client.auto_recharge_configs.retrieve(config.id).daily_stats
    assert (stats.attempt_count, stats.total_amount) == (1, "0")
    control.fail_payments(customer.id, fail=False)


def test_recharge_config_round_trips_with_a_checkout_url_that_opens(
    client: PaymentKit, control: SandboxControl, server: tuple[str, str], customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    pack = a_pack(client, tag, meter)
    link = client.payment_links.create(line_items=[{"price_id": pack.id, "quantity": 1}])
    other = client.payment_links.create(line_items=[{"price_id": a_plan(client, tag).id, "quantity": 1}])
    with pytest.raises(BadRequestError, match=f"payment link {other.id} does not sell the base price"):
        client.payment_currencies.update_recharge_config(
            meter.currency_id, base_price_id=pack.id, payment_link_id=other.id
        )
    client.payment_currencies.update_recharge_config(
        meter.currency_id,
        base_price_id=pack.id,
        payment_link_id=link.id,
        settings={"min_recharge_amount": 1, "max_recharge_amount": 10},
    )
    config = client.payment_currencies.get_recharge_config(meter.currency_id).recharge_config
    assert (config.base_price_id, config.payment_link_id) == (pack.id, link.id)
    assert config.checkout_url == f"{server[0]}/checkout/pay/{link.id}"
    assert config.settings.to_dict() == {"min_recharge_amount": 1, "max_recharge_amount": 10}

    session = control.open_checkout_url(config.checkout_url, customer_did=customer.did)
    control.complete_checkout(session["id"])
    [grant] = grants_of(client, customer)
    assert grant.amount == "50000" and meta(grant)["payment_link_id"] == link.id


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("/checkout/pay/plink_x", "{base}/checkout/pay/plink_x"),
        ("https://shop.example/buy", "https://shop.example/buy"),
    ],
)
def test_a_stored_checkout_url_is_shown_resolved_against_the_sandbox(
    client: PaymentKit, server: tuple[str, str], tag: str, stored: str, shown: str
) -> None:
    """PaymentKit's UI stores a relative `checkout_url`; an absolute one is the merchant's own page."""
    meter = a_meter(client, tag)
    pack = a_pack(client, tag, meter)
    client.payment_currencies.update_recharge_config(meter.currency_id, base_price_id=pack.id, checkout_url=stored)
    config = client.payment_currencies.get_recharge_config(meter.currency_id).recharge_config
    assert config.checkout_url == shown.format(base=server[0])


# -- metered subscriptions -------------------------------------------------------------------------


def test_meter_events_and_usage_records_are_invoiced_at_period_end(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = a_meter(client, tag)
    plan = a_plan(client, tag, meter, usage_type="metered")
    sub = subscribe(client, customer, plan)
    for i, value in enumerate(("3", "4")):
        event = use(client, meter, customer, value, f"{tag}-{i}", subscription_id=sub.id)
    settled = client.meter_events.retrieve(event.id)
    assert (settled.status, settled.credit_consumed, settled.credit_pending) == ("completed", "0", "0")
    assert client.credit_transactions.list(customer_id=customer.id).count == 0  # billed, not drawn on credit
    client.subscription_items.create_usage_record(subscription_item_id=sub.items[0].id, quantity=2)

    control.advance_clock(seconds=sub.current_period_end - control.health()["now"])
    invoice = client.invoices.retrieve(client.subscriptions.retrieve(sub.id).latest_invoice_id)
    assert invoice.billing_reason == "subscription_cycle" and invoice.status == "paid"
    [line] = [i for i in invoice.lines if i.price_id == plan.id]
    assert (line.quantity, line.amount) == (9, str(9 * 10**15))
    assert invoice.total == str(9 * 10**15)


# -- the walk-through ----------------------------------------------------------------------------


def test_the_credits_walk_through_runs_with_exact_balances(server: tuple[str, str]) -> None:
    base_url, api_key = server
    script = Path(__file__).parents[2] / "examples" / "credits.py"
    env = {**os.environ, "PAYMENT_KIT_BASE_URL": base_url, "PAYMENT_KIT_API_KEY": api_key}
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(line.endswith(": 500 calls, paid") for line in lines)
    assert " 5. Balance: 510 calls" in lines
    assert " 7. Three calls of 180 credits: left: 470 calls" in lines  # 510 - 540, then a 500 pack
    assert any(
        line.startswith(" 8. Run short: auto-recharge bought: 1 pack(s); today 1 attempt(s), 5 ") for line in lines
    )
    assert lines[-1] == "Credit walk-through passed."


def test_a_pack_must_grant_a_credit_currency_it_can_hold(client: PaymentKit, customer: Any, tag: str) -> None:
    meter = a_meter(client, tag)
    token = client.payment_currencies.list().list[0]
    product = client.products.create(name=f"Bad pack {tag}", type="credit")

    def create(config: dict[str, Any]) -> Any:
        return client.prices.create(
            product_id=product.id, type="one_time", unit_amount="1", metadata={"credit_config": config}
        )

    with pytest.raises(BadRequestError, match=f"credit_config.currency_id: {token.id} is a standard currency"):
        create({"currency_id": token.id, "credit_amount": "5"})
    with pytest.raises(BadRequestError, match=r"credit_config\.currency_id: no payment currency 'pc_missing'"):
        create({"currency_id": "pc_missing", "credit_amount": "5"})
    with pytest.raises(BadRequestError, match=r"credit_config.credit_amount: 0.001 has more than 2 decimal places"):
        create({"currency_id": meter.currency_id, "credit_amount": "0.001"})
    assert client.prices.list(product_id=product.id).count == 0
