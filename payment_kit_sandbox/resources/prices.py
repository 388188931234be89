"""Prices (`/api/prices`): amounts in, integer units out; lookup keys; stock."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import catalog
from ..list_queries import filter_equal, page_of, search
from ..refusals import bad_request

KIND = "price"


@handles("createPrice")
def create(ctx: Context) -> dict[str, Any]:
    product = ctx.store.get("product", ctx.body["product_id"], ctx.livemode)
    if product is None:
        raise bad_request(f"product_id: no product {ctx.body['product_id']!r} in this mode")
    return lookups.expand_price(ctx, catalog.new_price(ctx, product, ctx.body))


@handles("retrievePrice")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_price(ctx, catalog.find_price(ctx, ctx.path["id"]))


@handles("updatePrice")
def update(ctx: Context) -> dict[str, Any]:
    price = catalog.find_price(ctx, ctx.path["id"])
    if price.get("locked") and any(k in ctx.body for k in ("unit_amount", "currency_id", "recurring", "tiers", "type")):
        raise bad_request(
            f"Price {price['id']} is locked (it has been used): only its metadata, nickname and stock can change"
        )
    catalog.apply_price(ctx, price, ctx.body)
    ctx.emit("price.updated", KIND, price)
    return lookups.expand_price(ctx, ctx.store.save(KIND, ctx.touch(price)))


@handles("archivePrice")
def archive(ctx: Context) -> dict[str, Any]:
    price = ctx.get(KIND, ctx.path["id"], "Price")
    if not price["active"]:
        raise bad_request(f"Price {price['id']} is already archived")
    price["active"] = False
    ctx.emit("price.updated", KIND, price)
    return lookups.expand_price(ctx, ctx.store.save(KIND, ctx.touch(price)))


@handles("deletePrice")
def delete(ctx: Context) -> dict[str, Any]:
    price = ctx.get(KIND, ctx.path["id"], "Price")
    user = catalog.price_in_use(ctx, price["id"])
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
    return lookups.expand_price(ctx, ctx.store.save(KIND, ctx.touch(price)))


@handles("listPrices")
def list_(ctx: Context) -> dict[str, Any]:
    rows = filter_equal(
        ctx, ctx.store.all(KIND, ctx.livemode), "active", "type", "currency_id", "product_id", "lookup_key"
    )
    return page_of(
        ctx, rows, orderable=("created_at", "updated_at", "unit_amount"), expand=lambda p: lookups.expand_price(ctx, p)
    )


@handles("searchPrices")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), ("id", "nickname", "lookup_key", "product_id"))
    return page_of(ctx, rows, expand=lambda p: lookups.expand_price(ctx, p))
