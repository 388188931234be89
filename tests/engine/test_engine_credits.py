"""Credits beyond spending order: grants that start later or expire, debt left by usage the grants
could not cover (and settled by the next grant), grants limited to some prices, the clock's sync,
and exact decimal sums."""

from __future__ import annotations

from typing import Any

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import credits

from .conftest import consume, emitted, recurring_price, subscribe

HOUR = 3600


def give(ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], amount: int, **extra: Any) -> dict[str, Any]:
    return credits.grant(ctx, customer=buyer, currency=credit, amount=amount, category="promotional", **extra)


def spend(
    ctx: Context, buyer: dict[str, Any], meter: dict[str, Any], credit: dict[str, Any], value: str, **payload: Any
) -> dict[str, Any]:
    """Report usage and answer the event as it stands once settled."""
    event = consume(ctx, buyer, meter, credit, value, **payload)
    return ctx.store.get("meter_event", event["id"], False)


def ledger(ctx: Context, event: dict[str, Any]) -> list[dict[str, Any]]:
    return ctx.store.find("credit_transaction", False, meter_event_id=event["id"])


def test_usage_beyond_the_balance_is_owed_and_the_next_grant_settles_it(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    first = give(ctx, buyer, credit, 150)
    ctx.events.clear()
    event = spend(ctx, buyer, meter, credit, "4")  # 400 units; 150 there
    assert (event["status"], event["credit_consumed"], event["credit_pending"]) == ("requires_action", "150", "250")
    assert emitted(ctx) == ["customer.credit_grant.depleted", "customer.credit.insufficient"]
    assert ctx.store.get("credit_grant", first["id"], False)["status"] == "depleted"
    assert credits.outstanding(ctx, buyer["id"], credit["id"]) == 250
    ctx.events.clear()
    give(ctx, buyer, credit, 100)  # pays part of the debt; still short, but says nothing new
    assert "customer.credit.insufficient" not in emitted(ctx)
    give(ctx, buyer, credit, 1000)
    settled = ctx.store.get("meter_event", event["id"], False)
    assert (settled["status"], settled["credit_consumed"], settled["credit_pending"], settled["attempt_count"]) == (
        "completed",
        "400",
        "0",
        3,
    )
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 850
    rows = sorted(ledger(ctx, event), key=lambda t: (int(t["credit_amount"]), bool(t["metadata"])))
    assert [(t["credit_amount"], t["metadata"]) for t in rows] == [
        ("100", {"settlement": "pending"}),
        ("150", {}),
        ("150", {"settlement": "pending"}),
    ]
    assert rows[0]["description"] == "1 call of calls (settles pending usage)"
    assert rows[1]["description"] == "1.5 call of calls" and rows[1]["quantity"] == "1.5"


def test_a_grant_starting_later_waits_pending_then_the_clock_makes_it_usable(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    ctx.events.clear()
    later = give(ctx, buyer, credit, 500, effective_at=ctx.now() + HOUR)
    assert later["status"] == "pending" and emitted(ctx) == []
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 0
    owed = spend(ctx, buyer, meter, credit, "2")
    assert credits.sync(ctx) == {"credit_grants_expired": 0, "credit_grants_activated": 0}
    ctx.set_clock_offset(HOUR)
    assert credits.advance_grants(ctx) == {"credit_grants_expired": 0, "credit_grants_activated": 1}
    assert ctx.store.get("credit_grant", later["id"], False)["status"] == "granted"
    assert ctx.store.get("meter_event", owed["id"], False)["status"] == "completed"
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 300


def test_expiry_ends_a_grant_now_or_when_it_said_and_zero_means_never(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    never = give(ctx, buyer, credit, 100, expires_at=0)
    due = give(ctx, buyer, credit, 100, expires_at=ctx.now() + 60)
    early = give(ctx, buyer, credit, 100, expires_at=ctx.now() + 3 * HOUR)
    credits.expire(ctx, early)  # ended by hand before its time: it expires now
    assert (early["status"], early["expires_at"], early["remaining_amount"]) == ("expired", ctx.now(), "100")
    ctx.set_clock_offset(HOUR)
    assert credits.sync(ctx)["credit_grants_expired"] == 1
    stored = ctx.store.get("credit_grant", due["id"], False)
    assert (stored["status"], stored["expires_at"]) == ("expired", due["expires_at"])  # its own time is kept
    credits.expire(ctx, never)
    assert never["expires_at"] == ctx.now()
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 0


def test_a_grant_limited_to_some_prices_pays_only_usage_under_them(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    plan = recurring_price(ctx)
    sub, _ = subscribe(ctx, buyer, plan)
    elsewhere = give(ctx, buyer, credit, 1000, applicability_config={"scope": {"prices": ["price_other"]}})
    assert credits.price_ids_of(ctx, sub["id"]) == {plan["id"]} and credits.price_ids_of(ctx, None) == set()
    outside = spend(ctx, buyer, meter, credit, "1")  # no subscription: no price, so a limited grant cannot pay
    assert outside["status"] == "requires_action"
    on_plan = spend(ctx, buyer, meter, credit, "1", subscription_id=sub["id"])
    assert on_plan["status"] == "requires_action"
    scoped = give(ctx, buyer, credit, 1000, applicability_config={"scope": {"prices": [plan["id"]]}})
    # The new grant settles the subscription's usage only; the other stays owed.
    assert ctx.store.get("meter_event", on_plan["id"], False)["status"] == "completed"
    assert ctx.store.get("meter_event", outside["id"], False)["status"] == "requires_action"
    assert [g["id"] for g in credits.usable_grants(ctx, buyer["id"], credit["id"], {plan["id"]})] == [scoped["id"]]
    assert ctx.store.get("credit_grant", elsewhere["id"], False)["remaining_amount"] == "1000"


def test_an_empty_grant_is_passed_over_and_a_free_event_completes(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    give(ctx, buyer, credit, 0, priority=100)
    funded = give(ctx, buyer, credit, 300)
    event = spend(ctx, buyer, meter, credit, "1")
    assert [t["credit_grant_id"] for t in ledger(ctx, event)] == [funded["id"]]
    free = spend(ctx, buyer, meter, credit, "0")
    assert (free["status"], ledger(ctx, free)) == ("completed", [])


def test_settling_debt_touches_only_that_customers_events_with_a_known_meter(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    other = dict(buyer, id="cus_other")
    theirs = spend(ctx, other, meter, credit, "1")
    mine = spend(ctx, buyer, meter, credit, "1")
    credits.retry_outstanding(ctx, buyer["id"], "pc_gone")  # an unknown currency: nothing to do
    ctx.store.delete("meter", meter["id"])
    give(ctx, buyer, credit, 1000)  # the meter is gone: the debt cannot be settled
    assert ctx.store.get("meter_event", mine["id"], False)["status"] == "requires_action"
    ctx.store.insert("meter", meter)
    give(ctx, buyer, credit, 1)
    assert ctx.store.get("meter_event", mine["id"], False)["status"] == "completed"
    assert ctx.store.get("meter_event", theirs["id"], False)["status"] == "requires_action"


def test_a_handler_marked_current_sees_grants_synced_to_the_clock(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    grant = give(ctx, buyer, credit, 100, expires_at=ctx.now() + 60)
    ctx.set_clock_offset(60)

    @credits.current
    def handler(inner: Context) -> str:
        return inner.store.get("credit_grant", grant["id"], False)["status"]

    assert handler(ctx) == "expired" and handler.__name__ == "handler"


def test_joined_records_are_the_stored_ones_or_a_placeholder_of_the_schema(ctx: Context, buyer: dict[str, Any]) -> None:
    assert credits.joined(ctx, "customer", buyer["id"])["did"] == "zBuyer0001"
    assert credits.joined(ctx, "customer", "cus_gone") is None
    assert credits.joined(ctx, "customer", None) is None
    placeholder = credits.joined(ctx, "customer", "cus_gone", "Customer")
    assert (placeholder["id"], placeholder["livemode"]) == ("cus_gone", False)
    assert credits.joined(ctx, "customer", None, "Customer")["id"] == ""


def test_decimal_sums_are_exact_and_plain() -> None:
    assert credits.decimal_sum(["0.1", "0.2"]) == "0.3"
    assert credits.decimal_sum(["1.50", "2.50"]) == "4"
    assert credits.decimal_sum(["1E+2", "0.000000000000000001"]) == "100.000000000000000001"
    assert credits.decimal_sum([]) == "0" and credits.decimal_sum(["-1", "1"]) == "0"
    assert credits.unix("1970-01-02T00:00:00.000Z") == 86400
