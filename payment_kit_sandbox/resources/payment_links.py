"""Payment links (`/api/payment-links`), and the sandbox-only route that opens a
checkout session from one as its hosted page does (`/sandbox/payment-links/{id}/open`)."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles, sandbox_route
from ..engine import checkout
from ..list_queries import page_of
from ..refusals import bad_request, not_found
from ..skeletons import skeleton

KIND = "payment_link"
MODE_HINT = " (a payment link's mode follows its first price)"
# What a link passes on to each checkout session it opens.
SESSION_SETTINGS = (
    "allow_promotion_codes",
    "consent_collection",
    "custom_fields",
    "custom_text",
    "customer_creation",
    "invoice_creation",
    "payment_method_types",
    "phone_number_collection",
    "billing_address_collection",
    "submit_type",
    "subscription_data",
    "nft_mint_settings",
    "cross_sell_behavior",
    "payment_intent_data",
    "enable_subscription_grouping",
    "metadata",
)


def find(ctx: Context, key: str) -> dict[str, Any]:
    """By `plink_` id or by lookup key."""
    link = ctx.store.get(KIND, key, ctx.livemode) or ctx.store.first(KIND, ctx.livemode, lookup_key=key)
    if link is None:
        raise not_found("Payment link", key)
    return link


def expand(ctx: Context, link: dict[str, Any]) -> dict[str, Any]:
    return {**link, "object": "payment_link", "line_items": lookups.expand_lines(ctx, link["line_items"])}


def apply(ctx: Context, link: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Write a create or update body onto a link; items and currency are checked together, as a
    session opened from the link will check them (stock excepted: that is checked at opening)."""
    link.update(body)
    priced, currency_id = checkout.checked_lines(
        ctx,
        link["line_items"],
        mode=checkout.mode_of(ctx, link["line_items"]),
        currency_id=link.get("currency_id"),
        check_stock=False,
        mode_hint=MODE_HINT,
    )
    link["line_items"] = [line for line, _ in priced]
    link["currency_id"] = currency_id
    key = link.get("lookup_key")
    if key:
        clash = ctx.store.first(KIND, ctx.livemode, lookup_key=key)
        if clash is not None and clash["id"] != link["id"]:
            raise bad_request(f"lookup_key: {key!r} is already used by payment link {clash['id']}")
    if not link.get("name"):
        product = ctx.store.get("product", priced[0][1]["product_id"], ctx.livemode) or {}
        link["name"] = product.get("name") or ""
    return link


@handles("createPaymentLink")
def create(ctx: Context) -> dict[str, Any]:
    link = ctx.stamp(
        {
            **skeleton(ctx.document, "PaymentLink"),
            "active": True,
            "name": "",
            "allow_promotion_codes": False,
            "custom_fields": [],
            "customer_creation": "if_required",
            "payment_method_types": [],
            "billing_address_collection": "auto",
            "submit_type": "pay",
            "metadata": {},
            "lookup_key": None,
            "created_via": "api",
            "currency_id": None,
        },
        "plink",
    )
    apply(ctx, link, ctx.body)
    ctx.store.insert(KIND, link)
    ctx.emit("payment_link.created", KIND, link)
    return link


@handles("retrievePaymentLink")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, find(ctx, ctx.path["id"]))


@handles("updatePaymentLink")
def update(ctx: Context) -> dict[str, Any]:
    link = apply(ctx, ctx.get(KIND, ctx.path["id"], "Payment link"), ctx.body)
    ctx.emit("payment_link.updated", KIND, link)
    return ctx.store.save(KIND, ctx.touch(link))


@handles("archivePaymentLink")
def archive(ctx: Context) -> dict[str, Any]:
    link = ctx.get(KIND, ctx.path["id"], "Payment link")
    if not link["active"]:
        raise bad_request(f"Payment link {link['id']} is already archived")
    link["active"] = False
    ctx.emit("payment_link.updated", KIND, link)
    return ctx.store.save(KIND, ctx.touch(link))


@handles("listPaymentLinks")
def list_(ctx: Context) -> dict[str, Any]:
    return page_of(
        ctx,
        ctx.store.all(KIND, ctx.livemode),
        orderable=("created_at", "updated_at", "name"),
        expand=lambda link: expand(ctx, link),
    )


@sandbox_route("POST", "/sandbox/payment-links/{id}/open")
def open_(ctx: Context) -> dict[str, Any]:
    """Open a checkout session from a link, as a visit to its hosted page does; answers the
    session with its joins. Body (all optional): `customer_did`, `client_reference_id`."""
    body = {k: v for k, v in ctx.body.items() if k != "livemode"}
    unknown = sorted(set(body) - {"customer_did", "client_reference_id"})
    if unknown:
        raise bad_request(f"unknown field(s) {', '.join(unknown)}; this route takes customer_did, client_reference_id")
    for name, value in body.items():
        if not isinstance(value, str) or not value.strip():
            raise bad_request(f"{name}: a non-empty string is required")
    link = find(ctx, ctx.path["id"])
    if not link["active"]:
        raise bad_request(f"Payment link {link['id']} is archived (inactive): it opens no new checkout sessions")
    settings = {k: link[k] for k in SESSION_SETTINGS if link.get(k) not in (None, [])}
    redirect = ((link.get("after_completion") or {}).get("redirect") or {}).get("url")
    session = checkout.open_session(
        ctx,
        {
            **settings,
            **body,
            "mode": checkout.mode_of(ctx, link["line_items"]),
            "line_items": link["line_items"],
            "currency_id": link["currency_id"],
            "success_url": redirect,
        },
        payment_link_id=link["id"],
    )
    return lookups.expand_checkout_session(ctx, session)
