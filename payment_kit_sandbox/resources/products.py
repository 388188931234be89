"""Products (`/api/products`), created alone or with their prices."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import catalog
from ..list_queries import filter_equal, filter_metadata, page_of, search
from ..refusals import bad_request
from ..skeletons import skeleton

KIND = "product"
EDITABLE = (
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


def expand(ctx: Context, product: dict[str, Any]) -> dict[str, Any]:
    own = [
        lookups.expand_price(ctx, p, with_product=False)
        for p in ctx.store.find("price", ctx.livemode, product_id=product["id"])
    ]
    default = next((p for p in own if p["id"] == product.get("default_price_id")), None)
    return {**product, "object": "product", "prices": own, "default_price": default}


def _check_refs(ctx: Context, body: dict[str, Any]) -> None:
    target = (body.get("cross_sell") or {}).get("cross_sells_to_id")
    if target and ctx.store.get(KIND, target, ctx.livemode) is None:
        raise bad_request(f"cross_sell.cross_sells_to_id: no product {target!r} in this mode")


@handles("createProduct")
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    _check_refs(ctx, body)
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
            **{k: body[k] for k in EDITABLE if k in body},
        },
        "prod",
    )
    ctx.store.insert(KIND, product)
    for price_body in body.get("prices") or []:
        catalog.new_price(ctx, product, price_body)
    ctx.emit("product.created", KIND, product)
    return expand(ctx, ctx.store.get(KIND, product["id"], ctx.livemode) or product)


@handles("retrieveProduct")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Product"))


@handles("updateProduct")
def update(ctx: Context) -> dict[str, Any]:
    product = ctx.get(KIND, ctx.path["id"], "Product")
    body = ctx.body
    _check_refs(ctx, body)
    default = body.get("default_price_id")
    if default is not None:
        price = lookups.referenced_price(ctx, default, "default_price_id")
        if price["product_id"] != product["id"]:
            raise bad_request(f"default_price_id: price {default} belongs to another product")
    product.update({k: v for k, v in body.items() if k in (*EDITABLE, "default_price_id")})
    ctx.emit("product.updated", KIND, product)
    return expand(ctx, ctx.store.save(KIND, ctx.touch(product)))


@handles("archiveProduct")
def archive(ctx: Context) -> dict[str, Any]:
    product = ctx.get(KIND, ctx.path["id"], "Product")
    if not product["active"]:
        raise bad_request(f"Product {product['id']} is already archived")
    product["active"] = False
    ctx.emit("product.updated", KIND, product)
    return ctx.store.save(KIND, ctx.touch(product))


@handles("deleteProduct")
def delete(ctx: Context) -> dict[str, Any]:
    product = ctx.get(KIND, ctx.path["id"], "Product")
    own = ctx.store.find("price", ctx.livemode, product_id=product["id"])
    for price in own:
        user = catalog.price_in_use(ctx, price["id"])
        if user or price.get("locked"):
            raise bad_request(
                f"Product {product['id']} cannot be deleted: its price {price['id']} is used by "
                f"{user or 'a past payment'}; archive the product instead"
            )
    for price in own:
        ctx.store.delete("price", price["id"])
    ctx.store.delete(KIND, product["id"])
    ctx.emit("product.deleted", KIND, product)
    return product


@handles("listProducts")
def list_(ctx: Context) -> dict[str, Any]:
    rows = filter_metadata(ctx, filter_equal(ctx, ctx.store.all(KIND, ctx.livemode), "active"))
    for field in ("name", "description"):
        if ctx.param(field):
            rows = [p for p in rows if str(ctx.param(field)).lower() in str(p.get(field) or "").lower()]
    return page_of(ctx, rows, orderable=("created_at", "updated_at", "name"), expand=lambda p: expand(ctx, p))


@handles("searchProducts")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), ("id", "name", "description", "statement_descriptor"))
    return page_of(ctx, rows, expand=lambda p: expand(ctx, p))
