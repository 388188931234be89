"""Payment links: a saved set of line items and checkout settings that opens
a checkout session on each visit. A link's items and currency are checked as a
session opened from it will check them (stock excepted: that is checked at opening)."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import checkout, lifecycle
from .redirect_urls import check_redirect_url

__all__ = ["archive_link", "new_link", "open_link", "update_link"]

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


def _apply(ctx: Context, link: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Write a create or update body onto a link; a lookup key is the link's alone."""
    link.update(body)
    check_redirect_url(
        ((link.get("after_completion") or {}).get("redirect") or {}).get("url"), "after_completion.redirect.url"
    )
    priced, currency_id = checkout.checked_lines(
        ctx,
        link["line_items"],
        mode=checkout.mode_of(ctx, link["line_items"]),
        currency_id=link.get("currency_id"),
        check_stock=False,
        mode_hint=MODE_HINT,
    )
    # Priced now as each session it opens will price them: a link whose total no payment could move
    # would otherwise be stored, and every visit to its page refused.
    checkout.subtotal(ctx, priced, currency_id)
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


def new_link(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A new link is active and, unless named, takes the name of its first item's product."""
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
    _apply(ctx, link, body)
    return lifecycle.added(ctx, KIND, link, "payment_link.created")


def update_link(ctx: Context, link: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """An update is checked as a whole link, as a create is."""
    return lifecycle.changed(ctx, KIND, _apply(ctx, link, body), "payment_link.updated")


def archive_link(ctx: Context, link: dict[str, Any]) -> dict[str, Any]:
    """An archived link stays, inactive, and opens no sessions; archiving it twice is a 400."""
    return lifecycle.archived(ctx, KIND, link, "Payment link", "payment_link.updated")


def open_link(ctx: Context, link: dict[str, Any], payer: dict[str, Any]) -> dict[str, Any]:
    """Only an active link opens a session, with the link's settings and the payer's details."""
    if not link["active"]:
        raise bad_request(f"Payment link {link['id']} is archived (inactive): it opens no new checkout sessions")
    settings = {k: link[k] for k in SESSION_SETTINGS if link.get(k) not in (None, [])}
    redirect = ((link.get("after_completion") or {}).get("redirect") or {}).get("url")
    return checkout.open_session(
        ctx,
        {
            **settings,
            **payer,
            "mode": checkout.mode_of(ctx, link["line_items"]),
            "line_items": link["line_items"],
            "currency_id": link["currency_id"],
            "success_url": redirect,
        },
        payment_link_id=link["id"],
    )
