"""What is sold: prices (amounts in integer units, lookup keys, tiers) and
payment currencies, with the lookups the other rules name them by.

A write names a price by id or lookup key and a currency by id; an unknown
one is a 400 naming the field (`referenced_*`), an unknown path id a 404
(`find_*`)."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..refusals import bad_request, not_found
from ..skeletons import skeleton
from .money import to_units

__all__ = [
    "apply_price",
    "base_currency",
    "find_currency",
    "find_price",
    "meter_id_of",
    "new_currency",
    "new_price",
    "price_in_use",
    "referenced_currency",
    "referenced_price",
]

PRICE = "price"
CURRENCY = "payment_currency"
PRICE_FIELDS = (
    "type",
    "billing_scheme",
    "recurring",
    "tiers_mode",
    "transform_quantity",
    "lookup_key",
    "nickname",
    "active",
    "quantity_available",
    "quantity_limit_per_checkout",
    "tax_behavior",
    "upsell",
    "pricing_type",
    "base_currency",
    "dynamic_pricing_config",
    "metadata",
)


def find_currency(ctx: Context, key: str) -> dict[str, Any]:
    """A currency by id or by symbol (PaymentKit's findByPkOrSymbol)."""
    currency = ctx.store.get(CURRENCY, key, ctx.livemode) or ctx.store.first(CURRENCY, ctx.livemode, symbol=key)
    if currency is None:
        raise not_found("Payment currency", key)
    return currency


def referenced_currency(ctx: Context, currency_id: str, field: str) -> dict[str, Any]:
    """A currency named by a write: 400 naming the field when it does not exist."""
    currency = ctx.store.get(CURRENCY, currency_id, ctx.livemode)
    if currency is None:
        raise bad_request(f"{field}: no payment currency {currency_id!r} in this mode")
    return currency


def base_currency(ctx: Context) -> dict[str, Any]:
    currencies = [c for c in ctx.store.all(CURRENCY, ctx.livemode) if c["type"] == "standard"]
    return next((c for c in currencies if c.get("is_base_currency")), currencies[0])


def new_currency(ctx: Context, **fields: Any) -> dict[str, Any]:
    currency = ctx.stamp(
        {
            **skeleton(ctx.document, "PaymentCurrency"),
            "active": True,
            "locked": False,
            "is_base_currency": False,
            "logo": "",
            "decimal": 18,
            "minimum_payment_amount": "0",
            "maximum_payment_amount": "0",
            "metadata": {},
            "type": "standard",
            **fields,
        },
        "pc",
    )
    return ctx.store.insert(CURRENCY, currency)


def find_price(ctx: Context, key: str) -> dict[str, Any]:
    """A price by id or by lookup key."""
    price = ctx.store.get(PRICE, key, ctx.livemode) or ctx.store.first(PRICE, ctx.livemode, lookup_key=key)
    if price is None:
        raise not_found("Price", key)
    return price


def referenced_price(ctx: Context, price_id: str, field: str) -> dict[str, Any]:
    price = ctx.store.get(PRICE, price_id, ctx.livemode) or ctx.store.first(PRICE, ctx.livemode, lookup_key=price_id)
    if price is None:
        raise bad_request(f"{field}: no price {price_id!r} in this mode")
    return price


def _units(ctx: Context, body: dict[str, Any], currency: dict[str, Any], field: str) -> dict[str, Any]:
    """The amount fields of a price (or a currency option) converted to the currency's units."""
    decimal = currency["decimal"]
    out: dict[str, Any] = {}
    if "unit_amount" in body:
        out["unit_amount"] = to_units(body["unit_amount"], decimal, f"{field}unit_amount")
    if body.get("tiers") is not None:
        out["tiers"] = [
            {
                "up_to": tier.get("up_to"),
                "unit_amount": to_units(tier["unit_amount"], decimal, f"{field}tiers[{i}].unit_amount")
                if tier.get("unit_amount") is not None
                else None,
                "flat_amount": tier.get("flat_amount"),
            }
            for i, tier in enumerate(body["tiers"])
        ]
    elif "tiers" in body:
        out["tiers"] = None
    custom = body.get("custom_unit_amount")
    if custom is not None:
        out["custom_unit_amount"] = {
            "minimum": to_units(custom["minimum"], decimal, f"{field}custom_unit_amount.minimum"),
            "maximum": to_units(custom["maximum"], decimal, f"{field}custom_unit_amount.maximum"),
            "preset": to_units(custom["preset"], decimal, f"{field}custom_unit_amount.preset"),
            "presets": [to_units(p, decimal, f"{field}custom_unit_amount.presets") for p in custom["presets"]],
        }
    elif "custom_unit_amount" in body:
        out["custom_unit_amount"] = None
    return out


def apply_price(ctx: Context, price: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Write a create or update body onto a price, checking what it refers to."""
    for field in PRICE_FIELDS:
        if field in body:
            price[field] = body[field]
    if "currency_id" in body:
        price["currency_id"] = referenced_currency(ctx, body["currency_id"], "currency_id")["id"]
    currency = ctx.store.get("payment_currency", price["currency_id"], ctx.livemode) or {"decimal": 0}
    price.update(_units(ctx, body, currency, ""))
    if "base_amount" in body:
        price["base_amount"] = str(body["base_amount"]) if body["base_amount"] is not None else None
    if "currency_options" in body:
        options = []
        for i, option in enumerate(body["currency_options"]):
            option_currency = referenced_currency(ctx, option["currency_id"], f"currency_options[{i}].currency_id")
            options.append(
                {
                    "currency_id": option_currency["id"],
                    "unit_amount": "0",
                    "tiers": None,
                    "custom_unit_amount": None,
                    **_units(ctx, option, option_currency, f"currency_options[{i}]."),
                }
            )
        price["currency_options"] = options
    if price["type"] == "recurring" and not price.get("recurring"):
        raise bad_request("recurring: a recurring price needs recurring.interval and recurring.interval_count")
    if price["type"] == "one_time":
        price["recurring"] = None
    meter_id = (price.get("recurring") or {}).get("meter_id")
    if meter_id and ctx.store.get("meter", meter_id, ctx.livemode) is None:
        raise bad_request(f"recurring.meter_id: no meter {meter_id!r} in this mode")
    _check_credit_config(ctx, (price.get("metadata") or {}).get("credit_config"))
    upsell = (price.get("upsell") or {}).get("upsells_to_id")
    if upsell:
        referenced_price(ctx, upsell, "upsell.upsells_to_id")
    key = price.get("lookup_key")
    if key:
        clash = ctx.store.first(PRICE, ctx.livemode, lookup_key=key)
        if clash is not None and clash["id"] != price.get("id"):
            raise bad_request(f"lookup_key: {key!r} is already used by price {clash['id']}")
    if price.get("tiers") and not price.get("tiers_mode"):
        raise bad_request("tiers_mode: tiered prices need tiers_mode graduated or volume")
    if price.get("tiers"):
        price["billing_scheme"] = "tiered"
    return price


def _check_credit_config(ctx: Context, config: Any) -> None:
    """A credit pack must grant a credit currency of this mode, in amounts that currency can hold."""
    if not isinstance(config, dict):
        return
    where = "metadata.credit_config"
    currency = ctx.store.get("payment_currency", str(config.get("currency_id") or ""), ctx.livemode)
    if currency is None:
        raise bad_request(f"{where}.currency_id: no payment currency {config.get('currency_id')!r} in this mode")
    if currency.get("type") != "credit":
        raise bad_request(
            f"{where}.currency_id: {currency['id']} is a {currency.get('type')} currency;"
            " a credit pack grants a credit currency"
        )
    decimal = int(currency.get("decimal") or 0)
    to_units(str(config.get("credit_amount")), decimal, f"{where}.credit_amount")
    per_grant = (config.get("schedule") or {}).get("amount_per_grant")
    if per_grant is not None:
        to_units(str(per_grant), decimal, f"{where}.schedule.amount_per_grant")


def meter_id_of(price: dict[str, Any]) -> str | None:
    """The meter a metered price bills: `recurring.meter_id`, else `metadata.meter_id`."""
    found = (price.get("recurring") or {}).get("meter_id") or (price.get("metadata") or {}).get("meter_id")
    return str(found) if found else None


def new_price(ctx: Context, product: dict[str, Any], body: dict[str, Any], created_via: str = "api") -> dict[str, Any]:
    price = ctx.stamp(
        {
            **skeleton(ctx.document, "Price"),
            "product_id": product["id"],
            "active": True,
            "locked": False,
            "type": "recurring" if body.get("recurring") else "one_time",
            "billing_scheme": "per_unit",
            "unit_amount": "0",
            "currency_id": base_currency(ctx)["id"],
            "currency_options": [],
            "metadata": {},
            "created_via": created_via,
            "quantity_available": 0,
            "quantity_sold": 0,
            "quantity_limit_per_checkout": 0,
            "pricing_type": "fixed",
        },
        "price",
    )
    apply_price(ctx, price, {k: v for k, v in body.items() if k != "product_id"})
    if not price["currency_options"]:
        price["currency_options"] = [
            {
                "currency_id": price["currency_id"],
                "unit_amount": price["unit_amount"],
                "tiers": price["tiers"],
                "custom_unit_amount": price["custom_unit_amount"],
            }
        ]
    ctx.store.insert(PRICE, price)
    ctx.emit("price.created", PRICE, price)
    if not product.get("default_price_id"):
        product["default_price_id"] = price["id"]
        ctx.store.save("product", product)
    return price


def price_in_use(ctx: Context, price_id: str) -> str | None:
    """What still uses a price (a subscription item, a checkout session or a payment link), if anything."""
    for item in ctx.store.all("subscription_item", ctx.livemode):
        if item["price_id"] == price_id:
            return f"subscription item {item['id']}"
    for kind in ("checkout_session", "payment_link"):
        for obj in ctx.store.all(kind, ctx.livemode):
            if any(line.get("price_id") == price_id for line in obj.get("line_items") or []):
                return f"{kind.replace('_', ' ')} {obj['id']}"
    return None
