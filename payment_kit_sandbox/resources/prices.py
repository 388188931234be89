"""Prices (`/api/prices`): amounts in, integer units out; lookup keys; stock."""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..engine.money import to_units
from ..engine.shapes import skeleton
from ..errors import bad_request, not_found
from . import payment_currencies
from ._common import filter_equal, page_of, search

KIND = "price"
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


def find(ctx: Context, key: str) -> dict[str, Any]:
    """A price by id or by lookup key."""
    price = ctx.store.get(KIND, key, ctx.livemode) or ctx.store.first(KIND, ctx.livemode, lookup_key=key)
    if price is None:
        raise not_found("Price", key)
    return price


def referenced(ctx: Context, price_id: str, field: str) -> dict[str, Any]:
    price = ctx.store.get(KIND, price_id, ctx.livemode) or ctx.store.first(KIND, ctx.livemode, lookup_key=price_id)
    if price is None:
        raise bad_request(f"{field}: no price {price_id!r} in this mode")
    return price


def expand(ctx: Context, price: dict[str, Any], with_product: bool = True) -> dict[str, Any]:
    options = []
    for option in price.get("currency_options") or []:
        options.append({**option, "currency": ctx.store.get("payment_currency", option["currency_id"], ctx.livemode)})
    meter_id = (price.get("recurring") or {}).get("meter_id")
    out = {
        **price,
        "object": "price",
        "currency": ctx.store.get("payment_currency", price["currency_id"], ctx.livemode),
        "currency_options": options,
        "meter": ctx.store.get("meter", meter_id, ctx.livemode) if meter_id else None,
    }
    if with_product:
        out["product"] = ctx.store.get("product", price["product_id"], ctx.livemode)
    return out


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


def apply(ctx: Context, price: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Write a create or update body onto a price, checking what it refers to."""
    for field in PRICE_FIELDS:
        if field in body:
            price[field] = body[field]
    if "currency_id" in body:
        price["currency_id"] = payment_currencies.referenced(ctx, body["currency_id"], "currency_id")["id"]
    currency = ctx.store.get("payment_currency", price["currency_id"], ctx.livemode) or {"decimal": 0}
    price.update(_units(ctx, body, currency, ""))
    if "base_amount" in body:
        price["base_amount"] = str(body["base_amount"]) if body["base_amount"] is not None else None
    if "currency_options" in body:
        options = []
        for i, option in enumerate(body["currency_options"]):
            option_currency = payment_currencies.referenced(
                ctx, option["currency_id"], f"currency_options[{i}].currency_id"
            )
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
    upsell = (price.get("upsell") or {}).get("upsells_to_id")
    if upsell:
        referenced(ctx, upsell, "upsell.upsells_to_id")
    key = price.get("lookup_key")
    if key:
        clash = ctx.store.first(KIND, ctx.livemode, lookup_key=key)
        if clash is not None and clash["id"] != price.get("id"):
            raise bad_request(f"lookup_key: {key!r} is already used by price {clash['id']}")
    if price.get("tiers") and not price.get("tiers_mode"):
        raise bad_request("tiers_mode: tiered prices need tiers_mode graduated or volume")
    if price.get("tiers"):
        price["billing_scheme"] = "tiered"
    return price


def new_price(ctx: Context, product: dict[str, Any], body: dict[str, Any], created_via: str = "api") -> dict[str, Any]:
    price = ctx.stamp(
        {
            **skeleton("Price"),
            "product_id": product["id"],
            "active": True,
            "locked": False,
            "type": "recurring" if body.get("recurring") else "one_time",
            "billing_scheme": "per_unit",
            "unit_amount": "0",
            "currency_id": payment_currencies.base_currency(ctx)["id"],
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
    apply(ctx, price, {k: v for k, v in body.items() if k != "product_id"})
    if not price["currency_options"]:
        price["currency_options"] = [
            {
                "currency_id": price["currency_id"],
                "unit_amount": price["unit_amount"],
                "tiers": price["tiers"],
                "custom_unit_amount": price["custom_unit_amount"],
            }
        ]
    ctx.store.insert(KIND, price)
    ctx.emit("price.created", KIND, price)
    if not product.get("default_price_id"):
        product["default_price_id"] = price["id"]
        ctx.store.save("product", product)
    return price


def in_use(ctx: Context, price_id: str) -> str | None:
    """What still uses a price (a subscription item, a checkout session or a payment link), if anything."""
    for item in ctx.store.all("subscription_item", ctx.livemode):
        if item["price_id"] == price_id:
            return f"subscription item {item['id']}"
    for kind in ("checkout_session", "payment_link"):
        for obj in ctx.store.all(kind, ctx.livemode):
            if any(line.get("price_id") == price_id for line in obj.get("line_items") or []):
                return f"{kind.replace('_', ' ')} {obj['id']}"
    return None


@handles("createPrice")
def create(ctx: Context) -> dict[str, Any]:
    product = ctx.store.get("product", ctx.body["product_id"], ctx.livemode)
    if product is None:
        raise bad_request(f"product_id: no product {ctx.body['product_id']!r} in this mode")
    return expand(ctx, new_price(ctx, product, ctx.body))


@handles("retrievePrice")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, find(ctx, ctx.path["id"]))


@handles("updatePrice")
def update(ctx: Context) -> dict[str, Any]:
    price = find(ctx, ctx.path["id"])
    if price.get("locked") and any(k in ctx.body for k in ("unit_amount", "currency_id", "recurring", "tiers", "type")):
        raise bad_request(
            f"Price {price['id']} is locked (it has been used): only its metadata, nickname and stock can change"
        )
    apply(ctx, price, ctx.body)
    ctx.emit("price.updated", KIND, price)
    return expand(ctx, ctx.store.save(KIND, ctx.touch(price)))


@handles("archivePrice")
def archive(ctx: Context) -> dict[str, Any]:
    price = ctx.get(KIND, ctx.path["id"], "Price")
    if not price["active"]:
        raise bad_request(f"Price {price['id']} is already archived")
    price["active"] = False
    ctx.emit("price.updated", KIND, price)
    return expand(ctx, ctx.store.save(KIND, ctx.touch(price)))


@handles("deletePrice")
def delete(ctx: Context) -> dict[str, Any]:
    price = ctx.get(KIND, ctx.path["id"], "Price")
    user = in_use(ctx, price["id"])
    if user or price.get("locked"):
        raise bad_request(
            f"Price {price['id']} cannot be deleted: it is used by {user or 'a past payment'}; archive it"
        )
    ctx.store.delete(KIND, price["id"])
    product = ctx.store.get("product", price["product_id"], ctx.livemode)
    if product and product.get("default_price_id") == price["id"]:
        product["default_price_id"] = None
        ctx.store.save("product", product)
    ctx.emit("price.deleted", KIND, price)
    return price


@handles("updatePriceInventory")
def inventory(ctx: Context) -> dict[str, Any]:
    price = ctx.get(KIND, ctx.path["id"], "Price")
    quantity = ctx.body["quantity"]
    stock = int(price["quantity_available"])
    if ctx.body["action"] == "increment":
        price["quantity_available"] = stock + quantity
    else:
        sold = int(price.get("quantity_sold") or 0)
        # The stock cannot drop below what is sold, nor to 0, which would mean "no limit".
        floor = max(sold, 1)
        if stock == 0 or stock - quantity < floor:
            raise bad_request(
                f"quantity: cannot decrement by {quantity}: the stock is {stock or 'unlimited'}"
                f" and {sold} already sold (a stock of 0 would mean no limit)"
            )
        price["quantity_available"] = stock - quantity
    return expand(ctx, ctx.store.save(KIND, ctx.touch(price)))


@handles("listPrices")
def list_(ctx: Context) -> dict[str, Any]:
    rows = filter_equal(
        ctx, ctx.store.all(KIND, ctx.livemode), "active", "type", "currency_id", "product_id", "lookup_key"
    )
    return page_of(ctx, rows, orderable=("created_at", "updated_at", "unit_amount"), expand=lambda p: expand(ctx, p))


@handles("searchPrices")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), ("id", "nickname", "lookup_key", "product_id"))
    return page_of(ctx, rows, expand=lambda p: expand(ctx, p))
