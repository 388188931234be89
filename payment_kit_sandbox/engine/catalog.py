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
from . import lifecycle
from .money import to_units

__all__ = [
    "apply_price",
    "archive_price",
    "archive_product",
    "base_currency",
    "change_stock",
    "delete_price",
    "delete_product",
    "find_currency",
    "find_price",
    "meter_id_of",
    "new_currency",
    "new_payment_currency",
    "new_price",
    "new_product",
    "price_in_use",
    "referenced_currency",
    "referenced_price",
    "set_recharge_config",
    "update_currency",
    "update_price",
    "update_product",
]

PRICE = "price"
PRODUCT = "product"
CURRENCY = "payment_currency"
# What a price fixes once used: changing these afterwards would rewrite what was paid.
PRICE_TERMS = ("unit_amount", "currency_id", "recurring", "tiers", "type")
PRODUCT_FIELDS = (
    "name",
    "type",
    "description",
    "active",
    "images",
    "features",
    "unit_label",
    "statement_descriptor",
    "nft_factory",
    "tax_code",
    "cross_sell",
    "vendor_config",
    "metadata",
)
# Payment methods whose currencies are tokens with a contract address (a sandbox rule: PaymentKit's
# typings make every create field optional, `Partial<PaymentCurrency>`); stripe and bitcoin have none.
CONTRACT_CHAINS = ("arcblock", "ethereum", "base")
CURRENCY_SETTINGS = ("active", "maximum_precision", "type", "vault_config", "recharge_config", "token_config")
CURRENCY_LIMITS = ("minimum_payment_amount", "maximum_payment_amount")
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


# -- prices ---------------------------------------------------------------------------------------


def update_price(ctx: Context, price: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A locked (used) price keeps its terms: only its metadata, nickname and stock can change."""
    if price.get("locked") and any(k in body for k in PRICE_TERMS):
        raise bad_request(
            f"Price {price['id']} is locked (it has been used): only its metadata, nickname and stock can change"
        )
    apply_price(ctx, price, body)
    return lifecycle.changed(ctx, PRICE, price, "price.updated")


def archive_price(ctx: Context, price: dict[str, Any]) -> dict[str, Any]:
    """An archived price stays, inactive, for what already uses it; archiving it twice is a 400."""
    return lifecycle.archived(ctx, PRICE, price, "Price", "price.updated")


def _used_by(ctx: Context, price: dict[str, Any]) -> str | None:
    """What keeps a price from being deleted: a current user, or a past payment (it is locked)."""
    user = price_in_use(ctx, price["id"])
    return user or ("a past payment" if price.get("locked") else None)


def delete_price(ctx: Context, price: dict[str, Any]) -> dict[str, Any]:
    """Only a price nothing uses, nor ever paid with, can be deleted; its product loses it as default."""
    user = _used_by(ctx, price)
    if user:
        raise bad_request(f"Price {price['id']} cannot be deleted: it is used by {user}; archive it")
    ctx.store.delete(PRICE, price["id"])
    product = ctx.store.get(PRODUCT, price["product_id"], ctx.livemode)
    if product and product.get("default_price_id") == price["id"]:
        product["default_price_id"] = None
        ctx.store.save(PRODUCT, product)
    ctx.emit("price.deleted", PRICE, price)
    return price


def change_stock(ctx: Context, price: dict[str, Any], action: str, quantity: int) -> dict[str, Any]:
    """Stock grows freely but never drops below what is sold, nor to 0, which would mean "no limit"."""
    stock = int(price["quantity_available"])
    if action == "increment":
        price["quantity_available"] = stock + quantity
    else:
        sold = int(price.get("quantity_sold") or 0)
        floor = max(sold, 1)
        if stock == 0 or stock - quantity < floor:
            raise bad_request(
                f"quantity: cannot decrement by {quantity}: the stock is {stock or 'unlimited'}"
                f" and {sold} already sold (a stock of 0 would mean no limit)"
            )
        price["quantity_available"] = stock - quantity
    return lifecycle.changed(ctx, PRICE, price)


# -- products -------------------------------------------------------------------------------------


def _check_cross_sell(ctx: Context, body: dict[str, Any]) -> None:
    target = (body.get("cross_sell") or {}).get("cross_sells_to_id")
    if target and ctx.store.get(PRODUCT, target, ctx.livemode) is None:
        raise bad_request(f"cross_sell.cross_sells_to_id: no product {target!r} in this mode")


def new_product(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A product is created with its prices, the first becoming its default, and announced after them."""
    _check_cross_sell(ctx, body)
    product = ctx.stamp(
        {
            **skeleton(ctx.document, "Product"),
            "active": True,
            "locked": False,
            "description": "",
            "images": [],
            "features": [],
            "metadata": {},
            "created_via": "api",
            **{k: body[k] for k in PRODUCT_FIELDS if k in body},
        },
        "prod",
    )
    lifecycle.added(ctx, PRODUCT, product)
    for price_body in body.get("prices") or []:
        new_price(ctx, product, price_body)
    ctx.emit("product.created", PRODUCT, product)
    return ctx.store.get(PRODUCT, product["id"], ctx.livemode) or product


def update_product(ctx: Context, product: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A product's default price must be one of its own prices."""
    _check_cross_sell(ctx, body)
    default = body.get("default_price_id")
    if default is not None:
        price = referenced_price(ctx, default, "default_price_id")
        if price["product_id"] != product["id"]:
            raise bad_request(f"default_price_id: price {default} belongs to another product")
    product.update({k: v for k, v in body.items() if k in (*PRODUCT_FIELDS, "default_price_id")})
    return lifecycle.changed(ctx, PRODUCT, product, "product.updated")


def archive_product(ctx: Context, product: dict[str, Any]) -> dict[str, Any]:
    """An archived product stays, inactive, with its prices; archiving it twice is a 400."""
    return lifecycle.archived(ctx, PRODUCT, product, "Product", "product.updated")


def delete_product(ctx: Context, product: dict[str, Any]) -> dict[str, Any]:
    """A product goes with its prices, and only when none of them is used or was ever paid with."""
    own = ctx.store.find(PRICE, ctx.livemode, product_id=product["id"])
    for price in own:
        user = _used_by(ctx, price)
        if user:
            raise bad_request(
                f"Product {product['id']} cannot be deleted: its price {price['id']} is used by "
                f"{user}; archive the product instead"
            )
    for price in own:
        ctx.store.delete(PRICE, price["id"])
    return lifecycle.removed(ctx, PRODUCT, product, "product.deleted")


# -- payment currencies ---------------------------------------------------------------------------


def currency_settings(body: dict[str, Any], decimal: int) -> dict[str, Any]:
    """The rest of what payment-js' `Partial<PaymentCurrency>` lets a write set (limits are decimals in)."""
    out = {k: body[k] for k in CURRENCY_SETTINGS if k in body}
    out.update({k: to_units(body[k], decimal, k) for k in CURRENCY_LIMITS if k in body})
    return out


def new_payment_currency(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A currency belongs to an existing payment method and has a symbol no other currency of the mode has."""
    method = ctx.store.get("payment_method", body["payment_method_id"], ctx.livemode)
    if method is None:
        raise bad_request(f"payment_method_id: no payment method {body['payment_method_id']!r} in this mode")
    if method["type"] in CONTRACT_CHAINS and not body.get("contract"):
        raise bad_request(
            f"contract: required for a currency of a {method['type']} payment method (a token's contract address); "
            "only a currency that is not on a chain (a stripe method's) may leave it out"
        )
    symbol = body.get("symbol") or body["name"].upper()[:8]
    if ctx.store.first(CURRENCY, ctx.livemode, symbol=symbol):
        raise bad_request(f"symbol: a currency with symbol {symbol!r} already exists")
    return new_currency(
        ctx,
        payment_method_id=method["id"],
        name=body["name"],
        description=body.get("description") or "",
        contract=body.get("contract") or "",
        logo=body.get("logo") or "",
        symbol=symbol,
        decimal=body.get("decimal", 18),
        metadata=body.get("metadata") or {},
        **currency_settings(body, body.get("decimal", 18)),
    )


def update_currency(ctx: Context, currency: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A currency keeps its decimal once created: stored amounts are integers in its smallest unit."""
    if "decimal" in body and body["decimal"] != currency["decimal"]:
        raise bad_request(f"decimal: the sandbox keeps a currency's decimal ({currency['decimal']}) once created")
    plain = {k: v for k, v in body.items() if k not in CURRENCY_LIMITS}
    limits = currency_settings({k: body[k] for k in CURRENCY_LIMITS if k in body}, currency["decimal"])
    currency.update({**plain, **limits})
    return lifecycle.changed(ctx, CURRENCY, currency)


def set_recharge_config(ctx: Context, currency: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A recharge config names an existing base price, and a payment link only if that link sells it."""
    if ctx.store.get(PRICE, config["base_price_id"], ctx.livemode) is None:
        raise bad_request(f"base_price_id: no price {config['base_price_id']!r} in this mode")
    link_id = config.get("payment_link_id")
    if link_id:
        link = ctx.store.get("payment_link", link_id, ctx.livemode)
        if link is None:
            raise bad_request(f"payment_link_id: no payment link {link_id!r} in this mode")
        if config["base_price_id"] not in {line["price_id"] for line in link["line_items"]}:
            raise bad_request(
                f"payment_link_id: payment link {link_id} does not sell the base price {config['base_price_id']}"
            )
    currency["recharge_config"] = config
    return lifecycle.changed(ctx, CURRENCY, currency)
