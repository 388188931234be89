"""Payment links (`/api/payment-links`), and the sandbox-only route that opens a
checkout session from one as its hosted page does (`/sandbox/payment-links/{id}/open`)."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles, sandbox_route
from ..engine import payment_links
from ..list_queries import stored_page
from ..refusals import bad_request, not_found

KIND = "payment_link"


def find(ctx: Context, key: str) -> dict[str, Any]:
    """By `plink_` id or by lookup key."""
    link = ctx.store.get(KIND, key, ctx.livemode) or ctx.store.first(KIND, ctx.livemode, lookup_key=key)
    if link is None:
        raise not_found("Payment link", key)
    return link


def expand(ctx: Context, link: dict[str, Any]) -> dict[str, Any]:
    return {**link, "object": "payment_link", "line_items": lookups.expand_lines(ctx, link["line_items"])}


@handles("createPaymentLink")
def create(ctx: Context) -> dict[str, Any]:
    return payment_links.new_link(ctx, ctx.body)


@handles("retrievePaymentLink")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, find(ctx, ctx.path["id"]))


@handles("updatePaymentLink")
def update(ctx: Context) -> dict[str, Any]:
    return payment_links.update_link(ctx, ctx.get(KIND, ctx.path["id"], "Payment link"), ctx.body)


@handles("archivePaymentLink")
def archive(ctx: Context) -> dict[str, Any]:
    return payment_links.archive_link(ctx, ctx.get(KIND, ctx.path["id"], "Payment link"))


@handles("listPaymentLinks")
def list_(ctx: Context) -> dict[str, Any]:
    return stored_page(ctx, KIND, orderable=("created_at", "updated_at", "name"), expand=lambda link: expand(ctx, link))


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
    session = payment_links.open_link(ctx, find(ctx, ctx.path["id"]), body)
    return lookups.expand_checkout_session(ctx, session)
