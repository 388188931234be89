"""Auto-recharge: when consumption leaves spendable credit below the threshold, one pack is bought
as an `auto_recharge` invoice; what a config can buy, the daily attempt and amount limits (a new
UTC day starts afresh), the paying currency, and the configs that can buy nothing."""

from __future__ import annotations

from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import auto_recharge, billing, credits
from payment_kit_sandbox.engine.catalog import new_currency

from .conftest import consume, make_price

DAY = 86400


def top_up(ctx: Context, credit: dict[str, Any], cost: str = "2.5", credit_amount: str = "10") -> dict[str, Any]:
    """A pack of `credit_amount` credits for `cost` tokens of the test currency."""
    config = {"currency_id": credit["id"], "credit_amount": credit_amount}
    return make_price(ctx, unit_amount=cost, metadata={"credit_config": config})


def configure(ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], **fields: Any) -> dict[str, Any]:
    config = {
        "customer_id": buyer["id"],
        "currency_id": credit["id"],
        "enabled": True,
        "threshold": "5",
        "price_id": fields.pop("price_id", None) or top_up(ctx, credit)["id"],
        "quantity": 1,
        "daily_limits": {"max_attempts": 0, "max_amount": "0"},
        "daily_stats": {"attempt_count": 0, "total_amount": "0"},
        **fields,
    }
    return ctx.store.insert("auto_recharge_config", ctx.stamp(config, "arc"))


def recharges(ctx: Context, buyer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        i for i in ctx.store.find("invoice", False, customer_id=buyer["id"]) if i["billing_reason"] == "auto_recharge"
    ]


def test_consumption_below_the_threshold_buys_one_pack(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    config = configure(ctx, buyer, credit)
    credits.grant(ctx, customer=buyer, currency=credit, amount=800, category="paid")  # 8 credits
    consume(ctx, buyer, meter, credit, "3")  # 5 left: not below the threshold of 5
    assert recharges(ctx, buyer) == []
    event = consume(ctx, buyer, meter, credit, "0.01")  # 4.99 left
    [invoice] = recharges(ctx, buyer)
    assert (invoice["status"], invoice["total"]) == ("paid", str(25 * 10**17))
    assert invoice["metadata"] == {"auto_recharge_config_id": config["id"], "meter_event_id": event["id"]}
    assert invoice["description"] == f"Auto-recharge of {credit['id']}"
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 499 + 1000
    stored = ctx.store.get("auto_recharge_config", config["id"], False)
    assert stored["daily_stats"] == {"attempt_count": 1, "total_amount": "2.5"}


def test_a_disabled_or_missing_config_buys_nothing(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any]
) -> None:
    consume(ctx, buyer, meter, credit, "1")  # no config at all
    config = configure(ctx, buyer, credit, enabled=False)
    consume(ctx, buyer, meter, credit, "1")
    assert recharges(ctx, buyer) == []
    assert auto_recharge.capacity(ctx, config, None) == 0 and auto_recharge.recharge(ctx, config) is None
    assert auto_recharge.capacity(ctx, None, 3) == 0


def test_a_config_whose_price_is_no_pack_or_whose_customer_is_gone_buys_nothing(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    plain = make_price(ctx, unit_amount="1")
    for broken in (
        configure(ctx, buyer, credit, price_id=plain["id"]),
        configure(ctx, buyer, credit, price_id="price_gone"),
        configure(ctx, buyer, credit, currency_id="pc_gone"),
        configure(ctx, buyer, credit, customer_id="cus_gone"),
    ):
        assert auto_recharge.recharge(ctx, broken) is None
    assert auto_recharge.capacity(ctx, configure(ctx, buyer, credit, price_id=plain["id"]), 1) == 0
    assert recharges(ctx, buyer) == []


def test_capacity_is_bounded_by_attempts_and_amount_left_today(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    unlimited = configure(ctx, buyer, credit, quantity=2)
    assert auto_recharge.capacity(ctx, unlimited, None) == 2000  # one recharge of 2 packs
    assert auto_recharge.capacity(ctx, unlimited, 4) == 8000
    by_attempts = configure(ctx, buyer, credit, daily_limits={"max_attempts": 3, "max_amount": "0"})
    assert auto_recharge.capacity(ctx, by_attempts, 5) == 3000
    by_amount = configure(ctx, buyer, credit, daily_limits={"max_attempts": 0, "max_amount": "6"})
    assert auto_recharge.capacity(ctx, by_amount, 5) == 2000  # 6 tokens buy two packs of 2.5
    free = configure(ctx, buyer, credit, price_id=top_up(ctx, credit, cost="0")["id"], daily_limits={"max_amount": "1"})
    assert auto_recharge.capacity(ctx, free, 4) == 4000  # a free pack is never limited by amount


def test_todays_attempts_count_and_a_new_utc_day_starts_afresh(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    config = configure(ctx, buyer, credit, daily_limits={"max_attempts": 2, "max_amount": "0"})
    assert auto_recharge.recharge(ctx, config) is not None
    assert auto_recharge.recharge(ctx, config) is not None
    assert config["daily_stats"] == {"attempt_count": 2, "total_amount": "5"}
    assert auto_recharge.capacity(ctx, config, 1) == 0
    assert auto_recharge.recharge(ctx, config) is None  # refused by the limit: no invoice, nothing counted
    assert len(recharges(ctx, buyer)) == 2 and config["daily_stats"]["attempt_count"] == 2
    ctx.set_clock_offset(DAY)
    assert auto_recharge.capacity(ctx, config, 5) == 2000
    assert auto_recharge.recharge(ctx, config) is not None
    assert config["daily_stats"] == {"attempt_count": 1, "total_amount": "2.5"}


def test_a_failed_payment_counts_as_an_attempt_but_not_as_spent(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any]
) -> None:
    config = configure(ctx, buyer, credit)
    billing.mark_payments_failing(ctx, buyer["id"], "card declined")
    assert auto_recharge.capacity(ctx, config, 1) == 0
    invoice = auto_recharge.recharge(ctx, config)
    assert invoice is not None and invoice["status"] == "open"
    assert config["daily_stats"] == {"attempt_count": 1, "total_amount": "0"}
    assert credits.balance(ctx, buyer["id"], credit["id"]) == 0


def test_a_recharge_may_pay_in_another_currency_the_pack_is_priced_in(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], currency: dict[str, Any]
) -> None:
    cents = new_currency(ctx, payment_method_id=currency["payment_method_id"], symbol="USC", decimal=2)
    pack = make_price(
        ctx,
        unit_amount="2.5",
        currency_options=[{"currency_id": cents["id"], "unit_amount": "0.99"}],
        metadata={"credit_config": {"currency_id": credit["id"], "credit_amount": "10"}},
    )
    config = configure(
        ctx, buyer, credit, price_id=pack["id"], recharge_currency_id=cents["id"], daily_limits={"max_amount": "2"}
    )
    assert auto_recharge.capacity(ctx, config, 5) == 2000  # 2.00 buys two at 0.99
    invoice = auto_recharge.recharge(ctx, config)
    assert (invoice["currency_id"], invoice["total"]) == (cents["id"], "99")
    assert config["daily_stats"]["total_amount"] == "0.99"


@pytest.mark.parametrize(("threshold", "bought"), [("0", 0), ("0.01", 1)])
def test_the_threshold_is_a_decimal_of_the_credit_currency(
    ctx: Context, buyer: dict[str, Any], credit: dict[str, Any], meter: dict[str, Any], threshold: str, bought: int
) -> None:
    configure(ctx, buyer, credit, threshold=threshold)
    credits.grant(ctx, customer=buyer, currency=credit, amount=100, category="paid")
    consume(ctx, buyer, meter, credit, "1")  # exactly 0 left
    assert len(recharges(ctx, buyer)) == bought
