"""Prices (`/api/prices`): amounts in, integer units out; lookup keys; stock."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import catalog
from ..list_queries import equal_params, page_of, search, stored_page
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
    return lookups.expand_price(ctx, catalog.update_price(ctx, catalog.find_price(ctx, ctx.path["id"]), ctx.body))


@handles("archivePrice")
def archive(ctx: Context) -> dict[str, Any]:
    return lookups.expand_price(ctx, catalog.archive_price(ctx, ctx.get(KIND, ctx.path["id"], "Price")))


@handles("deletePrice")
def delete(ctx: Context) -> dict[str, Any]:
    return catalog.delete_price(ctx, ctx.get(KIND, ctx.path["id"], "Price"))


@handles("updatePriceInventory")
def inventory(ctx: Context) -> dict[str, Any]:
    price = ctx.get(KIND, ctx.path["id"], "Price")
    return lookups.expand_price(ctx, catalog.change_stock(ctx, price, ctx.body["action"], ctx.body["quantity"]))


@handles("listPrices")
def list_(ctx: Context) -> dict[str, Any]:
    return stored_page(
        ctx,
        KIND,
        orderable=("created_at", "updated_at", "unit_amount"),
        expand=lambda p: lookups.expand_price(ctx, p),
        **equal_params(ctx, "active", "type", "currency_id", "product_id", "lookup_key"),
    )


@handles("searchPrices")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), ("id", "nickname", "lookup_key", "product_id"))
    return page_of(ctx, rows, expand=lambda p: lookups.expand_price(ctx, p))
