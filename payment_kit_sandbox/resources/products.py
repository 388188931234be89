"""Products (`/api/products`), created alone or with their prices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import catalog
from ..list_queries import equal_params, keep_all, metadata_keep, page_of, search, stored_page

KIND = "product"


def expand(ctx: Context, product: dict[str, Any]) -> dict[str, Any]:
    own = [
        lookups.expand_price(ctx, p, with_product=False)
        for p in ctx.store.find("price", ctx.livemode, product_id=product["id"])
    ]
    default = next((p for p in own if p["id"] == product.get("default_price_id")), None)
    return {**product, "object": "product", "prices": own, "default_price": default}


@handles("createProduct")
def create(ctx: Context) -> dict[str, Any]:
    return expand(ctx, catalog.new_product(ctx, ctx.body))


@handles("retrieveProduct")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Product"))


@handles("updateProduct")
def update(ctx: Context) -> dict[str, Any]:
    return expand(ctx, catalog.update_product(ctx, ctx.get(KIND, ctx.path["id"], "Product"), ctx.body))


@handles("archiveProduct")
def archive(ctx: Context) -> dict[str, Any]:
    return catalog.archive_product(ctx, ctx.get(KIND, ctx.path["id"], "Product"))


@handles("deleteProduct")
def delete(ctx: Context) -> dict[str, Any]:
    return catalog.delete_product(ctx, ctx.get(KIND, ctx.path["id"], "Product"))


@handles("listProducts")
def list_(ctx: Context) -> dict[str, Any]:
    def contains(field: str) -> Callable[[dict[str, Any]], bool] | None:
        """`name` / `description`: a case-insensitive part of the product's."""
        needle = str(ctx.param(field) or "").lower()
        return (lambda p: needle in str(p.get(field) or "").lower()) if needle else None

    return stored_page(
        ctx,
        KIND,
        orderable=("created_at", "updated_at", "name"),
        expand=lambda p: expand(ctx, p),
        keep=keep_all(metadata_keep(ctx), contains("name"), contains("description")),
        **equal_params(ctx, "active"),
    )


@handles("searchProducts")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), ("id", "name", "description", "statement_descriptor"))
    return page_of(ctx, rows, expand=lambda p: expand(ctx, p))
