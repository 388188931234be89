"""Subscriptions over time: billing periods on the calendar, usage aggregated and billed exactly,
starting (trial, automatic or invoiced collection, checkout), the prices a subscription can take,
renewals paid or past due, cancellation with its usage and refunds, pauses and resumes, and the
clock step that moves every subscription of both modes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import billing, customers, subscriptions

from .conftest import emitted, make_price, recurring_price, refused, subscribe

DAY = 86400
HOUR = 3600


def at(*date: int) -> int:
    return int(datetime(*date, tzinfo=UTC).timestamp())


def invoices_of(ctx: Context, sub: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(ctx.store.find("invoice", False, subscription_id=sub["id"]), key=lambda i: i["number"])


def items_billed(ctx: Context, invoice: dict[str, Any]) -> list[tuple[int, str]]:
    """(quantity, amount) of each line of an invoice."""
    return sorted((i["quantity"], i["amount"]) for i in ctx.store.find("invoice_item", False, invoice_id=invoice["id"]))


def stored(ctx: Context, sub: dict[str, Any]) -> dict[str, Any]:
    return ctx.store.get("subscription", sub["id"], False)


def usage(ctx: Context, sub: dict[str, Any], quantity: str, timestamp: int) -> dict[str, Any]:
    [item] = subscriptions.items_of(ctx, sub)
    record = {"subscription_item_id": item["id"], "quantity": quantity, "timestamp": timestamp, "billed": False}
    return ctx.store.insert("usage_record", ctx.stamp(record, "mbur"))


# -- periods -----------------------------------------------------------------------------------


def test_months_keep_their_day_or_end_on_the_last_day_of_a_shorter_month() -> None:
    assert subscriptions.add_interval(at(2025, 1, 31), "month", 1) == at(2025, 2, 28)
    assert subscriptions.add_interval(at(2024, 1, 31), "month", 1) == at(2024, 2, 29)
    assert subscriptions.add_interval(at(2025, 1, 31), "month", 3) == at(2025, 4, 30)
    assert subscriptions.add_interval(at(2024, 2, 29), "year", 1) == at(2025, 2, 28)
    assert subscriptions.add_interval(at(2025, 11, 15), "month", 2) == at(2026, 1, 15)
    assert subscriptions.add_interval(100, "hour", 2) == 100 + 2 * HOUR
    assert subscriptions.add_interval(100, "week", 1) == 100 + 7 * DAY
    with refused(400, "a billing period from", "reaches past the year 9999"):
        subscriptions.add_interval(at(9999, 6, 1), "year", 1)


def test_a_period_ends_at_the_first_boundary_after_its_start_counted_from_the_anchor() -> None:
    monthly = {"interval": "month", "interval_count": 1}
    jan_31 = at(2025, 1, 31)
    assert subscriptions.period_end_after(jan_31, at(2025, 1, 1), monthly) == jan_31  # the anchor is still ahead
    assert subscriptions.period_end_after(jan_31, jan_31, monthly) == at(2025, 2, 28)
    # From the anchor, not from the last period's end: after Feb 28 comes Mar 31, not Mar 28.
    assert subscriptions.period_end_after(jan_31, at(2025, 2, 28), monthly) == at(2025, 3, 31)
    daily = {"interval": "day", "interval_count": 2}
    assert subscriptions.period_end_after(0, 5 * DAY, daily) == 6 * DAY
    assert subscriptions.period_end_after(0, 6 * DAY, daily) == 8 * DAY


# -- usage -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "expected"),
    [(None, "9.5"), ("sum", "9.5"), ("max", "6"), ("last_during_period", "1.5"), ("last_ever", "1.5")],
)
def test_usage_records_aggregate_per_the_price(
    ctx: Context, buyer: dict[str, Any], how: str | None, expected: str
) -> None:
    price = recurring_price(ctx, recurring={"usage_type": "metered", "aggregate_usage": how})
    sub, _ = subscribe(ctx, buyer, price)
    [item] = subscriptions.items_of(ctx, sub)
    start = sub["current_period_start"]
    usage(ctx, sub, "99", start - 10)  # before the period: only `last_ever` may see it, and a later one wins
    for offset, quantity in ((0, "2"), (2, "1.5"), (1, "6")):
        usage(ctx, sub, quantity, start + offset)
    usage(ctx, sub, "50", start + 100)  # after the window asked for
    assert subscriptions.aggregate(ctx, item, price, start, start + 100) == Decimal(expected)
    assert subscriptions.aggregate(ctx, item, price, start + 50, start + 60) == (
        Decimal("1.5") if how == "last_ever" else 0
    )


def test_latest_usage_record_wins_among_equal_timestamps(ctx: Context, buyer: dict[str, Any]) -> None:
    price = recurring_price(ctx, recurring={"usage_type": "metered", "aggregate_usage": "last_during_period"})
    sub, _ = subscribe(ctx, buyer, price)
    [item] = subscriptions.items_of(ctx, sub)
    start = sub["current_period_start"]
    usage(ctx, sub, "3", start)
    usage(ctx, sub, "4", start)
    assert subscriptions.aggregate(ctx, item, price, start, start + 1) == 4


def test_meter_usage_needs_a_meter_and_skips_canceled_events(
    ctx: Context, buyer: dict[str, Any], meter: dict[str, Any]
) -> None:
    price = recurring_price(ctx, recurring={"usage_type": "metered", "meter_id": meter["id"]})
    sub, _ = subscribe(ctx, buyer, price)
    start = sub["current_period_start"]
    for value, status in (("2", "completed"), ("40", "canceled")):
        payload = {"customer_id": buyer["id"], "value": value, "subscription_id": sub["id"]}
        event = {"event_name": "calls", "payload": payload, "status": status, "timestamp": start}
        ctx.store.insert("meter_event", ctx.stamp(event, "mevt"))
    assert subscriptions.meter_usage(ctx, sub, price, start, start + 1) == 2
    unmetered = recurring_price(ctx, recurring={"usage_type": "metered"})
    assert subscriptions.meter_usage(ctx, sub, unmetered, start, start + 1) == 0


def test_usage_is_a_whole_number_when_it_can_be() -> None:
    assert subscriptions.as_number(Decimal("3.0")) == 3 and isinstance(subscriptions.as_number(Decimal("3.0")), int)
    assert subscriptions.as_number(Decimal("2.5")) == 2.5


@pytest.mark.parametrize(
    ("transform", "quantity", "billed"),
    [(None, "2.2", 3), ({"divide_by": 10, "round": "up"}, "21", 3), ({"divide_by": 10, "round": "down"}, "29", 2)],
)
def test_billed_units_round_up_or_per_the_transform(transform: Any, quantity: str, billed: int) -> None:
    assert subscriptions._billed_units({"transform_quantity": transform}, Decimal(quantity)) == billed


def test_fractional_usage_of_a_per_unit_price_is_billed_exactly_rounding_half_up(
    ctx: Context, currency: dict[str, Any]
) -> None:
    price = {"unit_amount": "3", "currency_id": currency["id"], "billing_scheme": "per_unit"}
    line = subscriptions._line(price, currency["id"], Decimal("2.5"), {"id": "si_x"}, (0, 1))
    assert (line["quantity"], line["amount"]) == (3, 8)  # 7.5 → 8
    whole = subscriptions._line(price, currency["id"], Decimal("2"), {"id": "si_x"}, (0, 1))
    assert "amount" not in whole and whole["quantity"] == 2  # priced by the invoice as 2 × 3
    tiered = subscriptions._line(
        {**price, "billing_scheme": "tiered"}, currency["id"], Decimal("2.5"), {"id": "si_x"}, (0, 1)
    )
    assert "amount" not in tiered


# -- starting ------------------------------------------------------------------------------------


def test_a_subscription_needs_a_recurring_price(ctx: Context, buyer: dict[str, Any]) -> None:
    with refused(400, "items: a subscription needs at least one recurring price"):
        subscribe(ctx, buyer, make_price(ctx, unit_amount="1"))


def test_an_automatically_charged_start_bills_and_pays_the_first_period(ctx: Context, buyer: dict[str, Any]) -> None:
    heard: list[str] = []
    hooked = dataclasses.replace(
        ctx, wiring=dataclasses.replace(ctx.wiring, on_subscription_started=(lambda _, s: heard.append(s["id"]),))
    )
    price = recurring_price(hooked)
    hooked.events.clear()
    sub, invoice = subscribe(hooked, buyer, price, quantity=3, metadata={"plan": "pro"})
    assert heard == [sub["id"]]
    assert (sub["status"], sub["metadata"], sub["latest_invoice_id"]) == ("active", {"plan": "pro"}, invoice["id"])
    assert sub["current_period_end"] == subscriptions.add_interval(sub["start_date"], "month", 1)
    assert sub["pending_invoice_item_interval"] == {"interval": "month", "interval_count": 1}
    assert (invoice["status"], invoice["total"], invoice["billing_reason"]) == ("paid", "3000", "subscription_create")
    assert (invoice["period_start"], invoice["period_end"]) == (sub["current_period_start"], sub["current_period_end"])
    assert ctx.store.get("price", price["id"], False)["locked"] is True
    assert [e for e in emitted(hooked) if e.startswith("customer.subscription")] == [
        "customer.subscription.created",
        "customer.subscription.started",
    ]


def test_without_a_payment_method_the_first_invoice_waits_open(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, invoice = subscribe(ctx, buyer, recurring_price(ctx), default_payment_method_id=None)
    assert (sub["status"], invoice["status"], invoice["amount_remaining"]) == ("active", "open", "1000")
    assert subscriptions.collect(sub) is False


def test_an_invoiced_subscription_is_due_in_its_days_until_due(ctx: Context, buyer: dict[str, Any]) -> None:
    _, default = subscribe(ctx, buyer, recurring_price(ctx), collection_method="send_invoice")
    assert (default["status"], default["due_date"] - ctx.now()) == ("open", 30 * DAY)
    _, week = subscribe(ctx, buyer, recurring_price(ctx), collection_method="send_invoice", days_until_due=7)
    assert (week["due_date"] - ctx.now(), week["collection_method"]) == (7 * DAY, "send_invoice")


def test_a_trial_bills_nothing_until_it_ends(ctx: Context, buyer: dict[str, Any]) -> None:
    price = recurring_price(ctx)
    ctx.events.clear()
    sub, invoice = subscribe(ctx, buyer, price, trial_period_days=14)
    assert invoice is None and invoices_of(ctx, sub) == []
    assert (sub["status"], sub["trial_end"], sub["current_period_end"]) == (
        "trialing",
        sub["start_date"] + 14 * DAY,
        sub["trial_end"],
    )
    assert sub["billing_cycle_anchor"] == sub["trial_end"]
    assert emitted(ctx) == ["customer.subscription.created", "customer.subscription.trial_start"]
    past, _ = subscribe(ctx, buyer, recurring_price(ctx), trial_end=ctx.now())
    assert (past["status"], past["trial_end"]) == ("active", None)  # a trial ending now is no trial


def test_a_future_billing_cycle_anchor_ends_the_first_period_there(ctx: Context, buyer: dict[str, Any]) -> None:
    anchor = ctx.now() + 5 * DAY
    sub, invoice = subscribe(ctx, buyer, recurring_price(ctx), billing_cycle_anchor=anchor)
    assert (sub["current_period_end"], invoice["period_end"]) == (anchor, anchor)


def test_a_checkout_start_is_paid_already_with_the_sessions_discount(ctx: Context, buyer: dict[str, Any]) -> None:
    session = {"id": "cs_1", "total_details": {"amount_discount": "250"}}
    sub, invoice = subscribe(ctx, buyer, recurring_price(ctx), default_payment_method_id=None, checkout_session=session)
    assert sub["default_payment_method_id"] == billing.method_of(ctx, sub["currency_id"])["id"]
    assert (invoice["status"], invoice["total"], invoice["checkout_session_id"]) == ("paid", "750", "cs_1")
    _, by_id = subscribe(ctx, buyer, recurring_price(ctx), checkout_session="cs_2")
    assert (by_id["total"], by_id["checkout_session_id"]) == ("1000", "cs_2")


# -- what a subscription can take ------------------------------------------------------------------


def test_a_usable_price_is_active_recurring_on_the_interval_and_in_the_currency(
    ctx: Context, currency: dict[str, Any]
) -> None:
    monthly = recurring_price(ctx, lookup_key="monthly")
    every = {"interval": "month", "interval_count": 1}
    assert subscriptions.usable_price(ctx, "monthly", "price", currency_id=currency["id"], recurring=every) == monthly
    with refused(400, "items[0].price: no price 'nope'"):
        subscriptions.usable_price(ctx, "nope", "items[0].price")
    one_time = make_price(ctx, unit_amount="1")
    with refused(400, f"price: price {one_time['id']} is not recurring (type one_time)"):
        subscriptions.usable_price(ctx, one_time["id"], "price")
    two_yearly = recurring_price(ctx, interval="year", recurring={"interval_count": 2})
    with refused(400, f"price {two_yearly['id']} bills every 2 years, but the subscription bills every 1 month"):
        subscriptions.usable_price(ctx, two_yearly["id"], "price", recurring=every)
    with refused(400, f"price {monthly['id']} has no amount in currency pc_other"):
        subscriptions.usable_price(ctx, monthly["id"], "price", currency_id="pc_other")
    monthly["active"] = False
    ctx.store.save("price", monthly)
    with refused(400, f"price: price {monthly['id']} is archived"):
        subscriptions.usable_price(ctx, monthly["id"], "price")


def test_an_ended_subscription_refuses_changes_and_metadata_merges(ctx: Context) -> None:
    for status in ("canceled", "incomplete_expired"):
        assert subscriptions.ended({"status": status})
        with refused(400, f"Subscription sub_1 is {status}: it cannot change"):
            subscriptions.refuse_if_ended({"id": "sub_1", "status": status}, "it cannot change")
    subscriptions.refuse_if_ended({"id": "sub_1", "status": "past_due"}, "x")
    assert subscriptions.merge_metadata({"a": 1, "b": 2, "c": 3}, {"b": None, "c": "", "d": 4}) == {"a": 1, "d": 4}
    assert subscriptions.merge_metadata(None, {"a": 1}) == {"a": 1}


def test_locking_a_price_twice_saves_it_once(ctx: Context) -> None:
    price = make_price(ctx, unit_amount="1")
    subscriptions.lock_price(ctx, price)
    ctx.store.save("price", {**price, "locked": False, "nickname": "changed behind its back"})
    subscriptions.lock_price(ctx, price)  # already locked in hand: nothing written
    assert ctx.store.get("price", price["id"], False)["locked"] is False


# -- renewals ------------------------------------------------------------------------------------


def test_a_paid_renewal_starts_the_next_period(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx))
    end = sub["current_period_end"]
    ctx.events.clear()
    invoice = subscriptions.renew(ctx, sub, end)
    assert (invoice["status"], invoice["billing_reason"], invoice["total"]) == ("paid", "subscription_cycle", "1000")
    assert (sub["status"], sub["current_period_start"], sub["current_period_end"]) == (
        "active",
        end,
        subscriptions.add_interval(end, "month", 1),
    )
    assert [e for e in emitted(ctx) if e.startswith("customer.subscription")] == [
        "customer.subscription.renewed",
        "customer.subscription.updated",
    ]


def test_a_failed_renewal_goes_past_due_once_and_a_later_payment_settles_it(
    ctx: Context, buyer: dict[str, Any]
) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="day"))
    billing.mark_payments_failing(ctx, buyer["id"], "no funds")
    ctx.events.clear()
    first = subscriptions.renew(ctx, sub, sub["current_period_end"])
    assert (sub["status"], first["status"]) == ("past_due", "open")
    assert "customer.subscription.past_due" in emitted(ctx)
    ctx.events.clear()
    second = subscriptions.renew(ctx, sub, sub["current_period_end"])
    assert "customer.subscription.renew_failed" in emitted(ctx) and "customer.subscription.past_due" not in emitted(ctx)
    billing.mark_payments_failing(ctx, buyer["id"], None)
    billing.pay_invoice(ctx, first, buyer)  # the hook runs, but the second invoice is still owed
    assert stored(ctx, sub)["status"] == "past_due"
    billing.pay_invoice(ctx, second, buyer)
    assert stored(ctx, sub)["status"] == "active"


def test_an_invoice_paid_elsewhere_leaves_a_subscription_in_good_standing_alone(
    ctx: Context, buyer: dict[str, Any]
) -> None:
    sub, invoice = subscribe(ctx, buyer, recurring_price(ctx))
    ctx.events.clear()
    subscriptions.invoice_paid(ctx, invoice)
    subscriptions.invoice_paid(ctx, {"subscription_id": None})
    assert stored(ctx, sub)["status"] == "active" and ctx.events == []


def test_an_invoiced_subscription_stays_active_while_its_invoice_is_open(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx), collection_method="send_invoice")
    invoice = subscriptions.renew(ctx, sub, sub["current_period_end"])
    assert (sub["status"], invoice["status"]) == ("active", "open")


def test_a_trial_ending_bills_the_first_period_but_not_the_trials_usage(ctx: Context, buyer: dict[str, Any]) -> None:
    metered = recurring_price(ctx, recurring={"usage_type": "metered"})
    sub, _ = subscribe(ctx, buyer, metered, trial_period_days=7)
    usage(ctx, sub, "5", sub["start_date"] + 1)
    ctx.events.clear()
    invoice = subscriptions.renew(ctx, sub, sub["trial_end"])
    assert items_billed(ctx, invoice) == []  # usage during a trial is free; a metered item bills at period end
    assert sub["status"] == "active"
    assert [e for e in emitted(ctx) if e.startswith("customer.subscription")][:3] == [
        "customer.subscription.trial_end",
        "customer.subscription.started",
        "customer.subscription.renewed",
    ]


def test_a_renewal_bills_the_finished_periods_usage_once(ctx: Context, buyer: dict[str, Any]) -> None:
    metered = recurring_price(ctx, recurring={"usage_type": "metered"})
    sub, first = subscribe(ctx, buyer, metered)
    assert items_billed(ctx, first) == []
    start, end = sub["current_period_start"], sub["current_period_end"]
    record = usage(ctx, sub, "2.5", start + 1)
    invoice = subscriptions.renew(ctx, sub, end)
    assert items_billed(ctx, invoice) == [(3, "2500")]  # 2.5 × 1000 exactly, though 3 units are shown
    assert ctx.store.get("usage_record", record["id"], False)["billed"] is True
    later = subscriptions.renew(ctx, sub, sub["current_period_end"])
    assert items_billed(ctx, later) == [(0, "0")]  # a metered item with no usage still gets its line


# -- ending, refunds, pauses ------------------------------------------------------------------------


def test_cancelling_bills_the_unfinished_periods_usage_and_ends_it(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx, recurring={"usage_type": "metered"}))
    start = sub["current_period_start"]
    usage(ctx, sub, "4", start + 10)
    ctx.events.clear()
    details = {"reason": "too_expensive"}
    subscriptions.cancel_now(ctx, sub, start + 20, details)
    final = invoices_of(ctx, sub)[-1]
    assert (final["billing_reason"], final["period_start"], final["period_end"]) == (
        "subscription_cancel",
        start,
        start + 20,
    )
    assert items_billed(ctx, final) == [(4, "4000")]
    assert (sub["status"], sub["canceled_at"], sub["ended_at"], sub["cancel_at"]) == (
        "canceled",
        start + 20,
        start + 20,
        start + 20,
    )
    assert sub["cancelation_details"] == details and subscriptions.ended(sub)
    assert emitted(ctx)[-1] == "customer.subscription.deleted"


def test_cancelling_without_usage_or_in_a_trial_bills_nothing(ctx: Context, buyer: dict[str, Any]) -> None:
    quiet, _ = subscribe(ctx, buyer, recurring_price(ctx, recurring={"usage_type": "metered"}))
    subscriptions.cancel_now(ctx, quiet, quiet["current_period_start"] + 5)
    assert [i["billing_reason"] for i in invoices_of(ctx, quiet)] == ["subscription_create"]
    trial, _ = subscribe(ctx, buyer, recurring_price(ctx, recurring={"usage_type": "metered"}), trial_period_days=3)
    usage(ctx, trial, "9", trial["start_date"])
    subscriptions.cancel_now(ctx, trial, trial["start_date"] + 5)
    assert invoices_of(ctx, trial) == [] and trial["status"] == "canceled"
    assert "cancelation_details" not in trial or trial["cancelation_details"] is None


def test_refunding_the_last_payment_on_cancel(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, invoice = subscribe(ctx, buyer, recurring_price(ctx))
    subscriptions.refund_on_cancel(ctx, sub, "last", ctx.now(), "admin")
    [refund] = ctx.store.find("refund", False, invoice_id=invoice["id"])
    assert (refund["amount"], refund["reason"], refund["description"]) == (
        "1000",
        "requested_by_admin",
        f"Canceled {sub['id']}",
    )


def test_a_proration_after_the_period_or_with_nothing_paid_refunds_nothing(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, invoice = subscribe(ctx, buyer, recurring_price(ctx))
    subscriptions.refund_on_cancel(ctx, sub, "proration", sub["current_period_end"], "customer")
    assert ctx.store.find("refund", False, invoice_id=invoice["id"]) == []
    unpaid, _ = subscribe(ctx, buyer, recurring_price(ctx), default_payment_method_id=None)
    subscriptions.refund_on_cancel(ctx, unpaid, "last", ctx.now(), "customer")
    ctx.store.delete("payment_intent", invoice["payment_intent_id"])
    subscriptions.refund_on_cancel(ctx, sub, "last", ctx.now(), "customer")
    assert ctx.store.all("refund", False) == []


def test_resuming_within_the_period_keeps_it(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx))
    sub.update(status="paused", pause_collection={"behavior": "void", "resumes_at": None})
    ctx.events.clear()
    subscriptions.resume(ctx, sub, sub["current_period_start"] + DAY)
    assert (sub["status"], sub["pause_collection"]) == ("active", None)
    assert emitted(ctx) == ["customer.subscription.resumed", "customer.subscription.updated"]
    assert len(invoices_of(ctx, sub)) == 1


def test_resuming_after_the_period_starts_a_fresh_one_now_and_a_trial_resumes_trialing(
    ctx: Context, buyer: dict[str, Any]
) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="day"))
    sub["status"] = "paused"
    later = sub["current_period_end"] + 5 * DAY + 7
    subscriptions.resume(ctx, sub, later)
    assert (sub["status"], sub["billing_cycle_anchor"], sub["current_period_start"], sub["current_period_end"]) == (
        "active",
        later,
        later,
        later + DAY,
    )
    assert len(invoices_of(ctx, sub)) == 2  # the missed days are not billed after the fact
    trial, _ = subscribe(ctx, buyer, recurring_price(ctx), trial_period_days=10)
    trial["status"] = "paused"
    subscriptions.resume(ctx, trial, trial["start_date"] + DAY)
    assert trial["status"] == "trialing"


# -- the clock step ------------------------------------------------------------------------------


def test_the_clock_renews_every_period_that_ended(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="day"))
    ctx.set_clock_offset(3 * DAY + 60)
    summary = subscriptions.advance_subscriptions(ctx)
    assert summary == {
        "subscriptions_renewed": 3,
        "trials_ended": 0,
        "subscriptions_canceled": 0,
        "subscriptions_resumed": 0,
    }
    assert len(invoices_of(ctx, sub)) == 4
    assert stored(ctx, sub)["current_period_end"] == sub["start_date"] + 4 * DAY


def test_the_clock_ends_trials_in_both_modes(ctx: Context, buyer: dict[str, Any]) -> None:
    live = dataclasses.replace(ctx, livemode=True)
    live_buyer = customers.ensure_customer(live, "zLive")
    live_sub, _ = subscribe(live, live_buyer, recurring_price(live), trial_period_days=1)
    test_sub, _ = subscribe(ctx, buyer, recurring_price(ctx), trial_period_days=1)
    ctx.set_clock_offset(DAY + 1)
    summary = subscriptions.advance_subscriptions(ctx)
    assert (summary["trials_ended"], summary["subscriptions_renewed"]) == (2, 2)
    assert stored(ctx, test_sub)["status"] == "active"
    assert live.store.get("subscription", live_sub["id"], True)["status"] == "active"


def test_the_clock_cancels_at_cancel_at_and_leaves_ended_or_incomplete_ones(
    ctx: Context, buyer: dict[str, Any]
) -> None:
    scheduled, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="day"))
    scheduled["cancel_at"] = scheduled["current_period_end"]
    ctx.store.save("subscription", scheduled)
    incomplete, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="day"))
    ctx.store.save("subscription", {**incomplete, "status": "incomplete"})
    ctx.set_clock_offset(5 * DAY)
    summary = subscriptions.advance_subscriptions(ctx)
    assert (summary["subscriptions_canceled"], summary["subscriptions_renewed"]) == (1, 0)
    ended = stored(ctx, scheduled)
    assert (ended["status"], ended["canceled_at"]) == ("canceled", scheduled["current_period_end"])
    assert stored(ctx, incomplete)["current_period_end"] == incomplete["current_period_end"]
    assert subscriptions.advance_subscriptions(ctx)["subscriptions_canceled"] == 0


def test_the_clock_cancels_a_past_due_subscription_after_days_until_cancel(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="week"), days_until_cancel=2)
    billing.mark_payments_failing(ctx, buyer["id"], "no funds")
    ctx.set_clock_offset(7 * DAY + 1)
    assert subscriptions.advance_subscriptions(ctx)["subscriptions_renewed"] == 1
    assert stored(ctx, sub)["status"] == "past_due"
    ctx.set_clock_offset(9 * DAY)  # the unpaid invoice is 2 days old only at 9 days + 1 second
    assert subscriptions.advance_subscriptions(ctx)["subscriptions_canceled"] == 0
    ctx.set_clock_offset(9 * DAY + 1)
    assert subscriptions.advance_subscriptions(ctx)["subscriptions_canceled"] == 1
    ended = stored(ctx, sub)
    assert (ended["status"], ended["cancelation_details"]["reason"], ended["cancelation_details"]["requested_by"]) == (
        "canceled",
        "payment_failed",
        "system",
    )


def test_the_clock_resumes_a_pause_that_ran_out_and_keeps_others_paused(ctx: Context, buyer: dict[str, Any]) -> None:
    timed, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="week"))
    resumes = timed["start_date"] + DAY
    ctx.store.save("subscription", {**timed, "status": "paused", "pause_collection": {"resumes_at": resumes}})
    indefinite, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="week"))
    ctx.store.save("subscription", {**indefinite, "status": "paused", "pause_collection": {"resumes_at": None}})
    ctx.set_clock_offset(10 * DAY)
    summary = subscriptions.advance_subscriptions(ctx)
    assert (summary["subscriptions_resumed"], summary["subscriptions_renewed"]) == (1, 1)
    assert stored(ctx, timed)["status"] == "active" and stored(ctx, indefinite)["status"] == "paused"


def test_an_advance_that_would_renew_too_often_is_refused(ctx: Context, buyer: dict[str, Any]) -> None:
    sub, _ = subscribe(ctx, buyer, recurring_price(ctx, interval="hour"))
    ctx.set_clock_offset((subscriptions.MAX_RENEWALS + 2) * HOUR)
    with refused(400, f"seconds: subscription {sub['id']} would renew more than {subscriptions.MAX_RENEWALS} times"):
        subscriptions.advance_subscriptions(ctx)
