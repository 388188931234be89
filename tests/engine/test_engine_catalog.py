"""Prices and currencies: amounts converted to integer units, the references a price write checks,
lookups by id, symbol or lookup key, and what still uses a price."""

from __future__ import annotations

from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import catalog

from .conftest import emitted, make_price, refused, subscribe

TIERS = [{"up_to": 10, "unit_amount": "0.5", "flat_amount": None}, {"up_to": None, "unit_amount": None}]


def test_currencies_are_found_by_id_or_symbol_and_unknown_ones_refused(ctx: Context, currency: dict[str, Any]) -> None:
    assert catalog.find_currency(ctx, currency["id"])["id"] == currency["id"]
    assert catalog.find_currency(ctx, "TBA")["id"] == currency["id"]
    with refused(404, "Payment currency not found: XYZ"):
        catalog.find_currency(ctx, "XYZ")
    assert catalog.referenced_currency(ctx, currency["id"], "currency_id") is not None
    with refused(400, "options.currency: no payment currency 'pc_nope' in this mode"):
        catalog.referenced_currency(ctx, "pc_nope", "options.currency")


def test_the_base_currency_is_the_flagged_standard_one_else_the_first_standard_one(
    ctx: Context, currency: dict[str, Any], credit: dict[str, Any]
) -> None:
    assert catalog.base_currency(ctx)["id"] == currency["id"] and currency["is_base_currency"] is True
    currency["is_base_currency"] = False
    ctx.store.save("payment_currency", currency)
    other = catalog.new_currency(ctx, payment_method_id=currency["payment_method_id"], symbol="USX", decimal=6)
    assert (other["decimal"], other["type"], other["is_base_currency"], other["locked"]) == (
        6,
        "standard",
        False,
        False,
    )
    # None flagged: the oldest standard one, passing over the credit currency made before `other`.
    assert catalog.base_currency(ctx)["id"] == currency["id"]
    ctx.store.delete("payment_currency", currency["id"])
    assert catalog.base_currency(ctx)["id"] == other["id"]


def test_a_new_price_stores_units_mirrors_its_amount_as_a_currency_option_and_becomes_the_default(
    ctx: Context, currency: dict[str, Any]
) -> None:
    first = make_price(ctx, unit_amount="1.5", nickname="basic")
    assert (first["unit_amount"], first["type"], first["billing_scheme"]) == (
        "1500000000000000000",
        "one_time",
        "per_unit",
    )
    assert first["currency_options"] == [
        {"currency_id": currency["id"], "unit_amount": "1500000000000000000", "tiers": None, "custom_unit_amount": None}
    ]
    assert first["recurring"] is None and first["nickname"] == "basic"
    assert emitted(ctx) == ["price.created"]
    product = ctx.store.get("product", first["product_id"], False)
    assert product["default_price_id"] == first["id"]
    second = catalog.new_price(ctx, product, {"unit_amount": "2", "product_id": "ignored"})
    assert second["product_id"] == product["id"]
    assert ctx.store.get("product", product["id"], False)["default_price_id"] == first["id"]


def test_tiers_and_custom_amounts_are_converted_per_field(ctx: Context) -> None:
    custom = {"minimum": "1", "maximum": "10", "preset": "2", "presets": ["2", "5"]}
    price = make_price(ctx, unit_amount="0", tiers=TIERS, tiers_mode="graduated", custom_unit_amount=custom)
    token = 10**18
    assert price["billing_scheme"] == "tiered"
    assert price["tiers"] == [
        {"up_to": 10, "unit_amount": str(token // 2), "flat_amount": None},
        {"up_to": None, "unit_amount": None, "flat_amount": None},
    ]
    assert price["custom_unit_amount"] == {
        "minimum": str(token),
        "maximum": str(10 * token),
        "preset": str(2 * token),
        "presets": [str(2 * token), str(5 * token)],
    }
    catalog.apply_price(ctx, price, {"tiers": None, "custom_unit_amount": None, "base_amount": 12})
    assert (price["tiers"], price["custom_unit_amount"], price["base_amount"]) == (None, None, "12")
    catalog.apply_price(ctx, price, {"base_amount": None})
    assert price["base_amount"] is None


def test_currency_options_convert_to_each_currencys_own_decimals(
    ctx: Context, currency: dict[str, Any], credit: dict[str, Any]
) -> None:
    cents = catalog.new_currency(ctx, payment_method_id=currency["payment_method_id"], symbol="USC", decimal=2)
    price = make_price(ctx, unit_amount="1", currency_options=[{"currency_id": cents["id"], "unit_amount": "0.25"}])
    assert price["currency_options"] == [
        {"currency_id": cents["id"], "unit_amount": "25", "tiers": None, "custom_unit_amount": None}
    ]
    with refused(400, "currency_options[0].unit_amount: 0.255 has more than 2 decimal places"):
        make_price(ctx, unit_amount="1", currency_options=[{"currency_id": cents["id"], "unit_amount": "0.255"}])
    with refused(400, "currency_options[0].currency_id: no payment currency 'pc_gone'"):
        make_price(ctx, unit_amount="1", currency_options=[{"currency_id": "pc_gone", "unit_amount": "1"}])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            {"unit_amount": "0.0000000000000000001"},
            "unit_amount: 0.0000000000000000001 has more than 18 decimal places",
        ),
        ({"unit_amount": "-1"}, "unit_amount: '-1' is not a non-negative amount"),
        ({"currency_id": "pc_gone"}, "currency_id: no payment currency 'pc_gone' in this mode"),
        ({"type": "recurring"}, "recurring: a recurring price needs recurring.interval"),
        ({"recurring": {"interval": "month", "meter_id": "mtr_gone"}}, "recurring.meter_id: no meter 'mtr_gone'"),
        ({"upsell": {"upsells_to_id": "price_gone"}}, "upsell.upsells_to_id: no price 'price_gone'"),
        ({"tiers": TIERS}, "tiers_mode: tiered prices need tiers_mode graduated or volume"),
        ({"tiers": [{"up_to": None, "unit_amount": "x"}], "tiers_mode": "volume"}, "tiers[0].unit_amount: 'x' is not"),
    ],
)
def test_a_price_write_is_refused_naming_the_field_at_fault(ctx: Context, body: dict[str, Any], problem: str) -> None:
    with refused(400, problem):
        make_price(ctx, **body)


def test_a_one_time_price_drops_its_recurring_and_a_metered_price_names_an_existing_meter(
    ctx: Context, meter: dict[str, Any]
) -> None:
    flat = make_price(ctx, unit_amount="1", type="one_time", recurring={"interval": "month"})
    assert (flat["type"], flat["recurring"]) == ("one_time", None)
    metered = make_price(ctx, recurring={"interval": "month", "usage_type": "metered", "meter_id": meter["id"]})
    assert metered["type"] == "recurring" and catalog.meter_id_of(metered) == meter["id"]
    assert catalog.meter_id_of({"recurring": None, "metadata": {"meter_id": "mtr_x"}}) == "mtr_x"
    assert catalog.meter_id_of({"recurring": {"interval": "month"}, "metadata": None}) is None


def test_a_lookup_key_names_one_price_only(ctx: Context) -> None:
    price = make_price(ctx, unit_amount="1", lookup_key="pro")
    assert catalog.find_price(ctx, "pro")["id"] == price["id"]
    assert catalog.find_price(ctx, price["id"])["id"] == price["id"]
    assert catalog.referenced_price(ctx, "pro", "price_id")["id"] == price["id"]
    catalog.apply_price(ctx, price, {"lookup_key": "pro", "nickname": "same key, same price"})
    with refused(400, f"lookup_key: 'pro' is already used by price {price['id']}"):
        make_price(ctx, unit_amount="1", lookup_key="pro")
    with refused(404, "Price not found: basic"):
        catalog.find_price(ctx, "basic")
    with refused(400, "items[0].price: no price 'basic' in this mode"):
        catalog.referenced_price(ctx, "basic", "items[0].price")
    upsell = make_price(ctx, unit_amount="2", upsell={"upsells_to_id": "pro"})
    assert upsell["upsell"] == {"upsells_to_id": "pro"}


def test_a_credit_pack_must_grant_a_credit_currency_in_amounts_it_can_hold(
    ctx: Context, currency: dict[str, Any], credit: dict[str, Any]
) -> None:
    def pack(**config: Any) -> dict[str, Any]:
        return make_price(ctx, unit_amount="1", metadata={"credit_config": config})

    granted = pack(currency_id=credit["id"], credit_amount="2.5", schedule={"amount_per_grant": "0.5"})
    assert granted["metadata"]["credit_config"]["credit_amount"] == "2.5"  # stored as given; converted when granted
    with refused(400, "metadata.credit_config.currency_id: no payment currency None"):
        pack(credit_amount="1")
    with refused(400, f"{currency['id']} is a standard currency; a credit pack grants a credit currency"):
        pack(currency_id=currency["id"], credit_amount="1")
    with refused(400, "metadata.credit_config.credit_amount: 0.001 has more than 2 decimal places"):
        pack(currency_id=credit["id"], credit_amount="0.001")
    with refused(400, "metadata.credit_config.schedule.amount_per_grant: 0.125 has more than 2"):
        pack(currency_id=credit["id"], credit_amount="1", schedule={"amount_per_grant": "0.125"})
    # Metadata that is not a credit config is left alone.
    assert make_price(ctx, unit_amount="1", metadata={"credit_config": "none"})["metadata"] == {"credit_config": "none"}


def test_a_price_in_use_names_what_uses_it(ctx: Context, buyer: dict[str, Any]) -> None:
    free = make_price(ctx, unit_amount="1")
    assert catalog.price_in_use(ctx, free["id"]) is None
    for kind, prefix in (("payment_link", "plink"), ("checkout_session", "cs")):
        holder = ctx.store.insert(kind, ctx.stamp({"line_items": [{"price_id": free["id"], "quantity": 1}]}, prefix))
        assert catalog.price_in_use(ctx, free["id"]) == f"{kind.replace('_', ' ')} {holder['id']}"
        ctx.store.delete(kind, holder["id"])
    subscribed = make_price(ctx, unit_amount="1", recurring={"interval": "month", "interval_count": 1})
    sub, _ = subscribe(ctx, buyer, subscribed)
    [item] = ctx.store.find("subscription_item", False, subscription_id=sub["id"])
    assert catalog.price_in_use(ctx, subscribed["id"]) == f"subscription item {item['id']}"


def test_an_unused_price_changes_its_terms_but_a_locked_one_only_its_nickname(ctx: Context) -> None:
    price = make_price(ctx, unit_amount="1")
    changed = catalog.update_price(ctx, price, {"unit_amount": "2", "nickname": "two"})
    assert (changed["unit_amount"], changed["nickname"]) == ("2000000000000000000", "two")
    assert ctx.store.get("price", price["id"], False)["unit_amount"] == "2000000000000000000"
    assert emitted(ctx)[-1] == "price.updated"
    changed["locked"] = True
    with refused(400, f"Price {price['id']} is locked"):
        catalog.update_price(ctx, changed, {"unit_amount": "3"})
    assert catalog.update_price(ctx, changed, {"nickname": "still"})["nickname"] == "still"
    assert ctx.store.get("price", price["id"], False)["unit_amount"] == "2000000000000000000"


def test_deleting_the_default_price_leaves_its_product_without_one(ctx: Context) -> None:
    price = make_price(ctx, unit_amount="1")
    assert ctx.store.get("product", price["product_id"], False)["default_price_id"] == price["id"]
    assert catalog.delete_price(ctx, price)["id"] == price["id"]
    assert ctx.store.get("price", price["id"], False) is None
    assert ctx.store.get("product", price["product_id"], False)["default_price_id"] is None
    assert emitted(ctx)[-1] == "price.deleted"


def test_stock_decrements_down_to_what_is_sold_and_never_to_zero(ctx: Context) -> None:
    price = make_price(ctx, unit_amount="1", quantity_available=5)
    price["quantity_sold"] = 2
    assert catalog.change_stock(ctx, price, "decrement", 3)["quantity_available"] == 2
    with refused(400, "cannot decrement by 1: the stock is 2 and 2 already sold"):
        catalog.change_stock(ctx, price, "decrement", 1)
    assert ctx.store.get("price", price["id"], False)["quantity_available"] == 2


def test_a_product_cross_sells_and_defaults_only_to_what_exists_and_is_its_own(ctx: Context) -> None:
    with refused(400, "cross_sell.cross_sells_to_id: no product 'prod_missing'"):
        catalog.new_product(ctx, {"name": "x", "type": "service", "cross_sell": {"cross_sells_to_id": "prod_missing"}})
    own = make_price(ctx, unit_amount="1")
    other = make_price(ctx, unit_amount="2")
    product = ctx.store.get("product", own["product_id"], False)
    with refused(400, f"default_price_id: price {other['id']} belongs to another product"):
        catalog.update_product(ctx, product, {"default_price_id": other["id"]})
    second = catalog.new_price(ctx, product, {"unit_amount": "3"})
    assert catalog.update_product(ctx, product, {"default_price_id": second["id"]})["default_price_id"] == second["id"]
    assert ctx.store.get("product", product["id"], False)["default_price_id"] == second["id"]


def test_a_product_is_deleted_with_its_prices_unless_one_was_paid_with(ctx: Context) -> None:
    first = make_price(ctx, unit_amount="1")
    product = ctx.store.get("product", first["product_id"], False)
    second = catalog.new_price(ctx, product, {"unit_amount": "2"})
    second["locked"] = True
    ctx.store.save("price", second)
    with refused(400, f"its price {second['id']} is used by a past payment; archive the product instead"):
        catalog.delete_product(ctx, product)
    assert ctx.store.get("price", first["id"], False) is not None
    second["locked"] = False
    ctx.store.save("price", second)
    catalog.delete_product(ctx, product)
    assert [
        ctx.store.get(kind, key, False)
        for kind, key in (("product", product["id"]), ("price", first["id"]), ("price", second["id"]))
    ] == [None] * 3
    assert emitted(ctx)[-1] == "product.deleted"


def test_a_currency_symbol_is_unique_and_its_decimal_fixed_but_its_limits_change(
    ctx: Context, currency: dict[str, Any]
) -> None:
    body = {"payment_method_id": currency["payment_method_id"], "name": "dup", "description": "", "contract": "z1dup"}
    with refused(400, f"symbol: a currency with symbol {currency['symbol']!r} already exists"):
        catalog.new_payment_currency(ctx, {**body, "symbol": currency["symbol"]})
    with refused(400, "decimal: the sandbox keeps a currency's decimal (18) once created"):
        catalog.update_currency(ctx, currency, {"decimal": 6})
    changed = catalog.update_currency(
        ctx, currency, {"decimal": 18, "name": "renamed", "minimum_payment_amount": "0.5"}
    )
    assert (changed["name"], changed["minimum_payment_amount"]) == ("renamed", "500000000000000000")
    assert ctx.store.get("payment_currency", currency["id"], False)["name"] == "renamed"


def test_a_recharge_config_names_an_existing_price_and_link(ctx: Context, currency: dict[str, Any]) -> None:
    with refused(400, "base_price_id: no price 'price_missing' in this mode"):
        catalog.set_recharge_config(ctx, currency, {"base_price_id": "price_missing"})
    price = make_price(ctx, unit_amount="1")
    with refused(400, "payment_link_id: no payment link 'plink_missing' in this mode"):
        catalog.set_recharge_config(ctx, currency, {"base_price_id": price["id"], "payment_link_id": "plink_missing"})
    assert ctx.store.get("payment_currency", currency["id"], False).get("recharge_config") is None
    config = {"base_price_id": price["id"], "payment_link_id": None}
    catalog.set_recharge_config(ctx, currency, config)
    assert ctx.store.get("payment_currency", currency["id"], False)["recharge_config"] == config
