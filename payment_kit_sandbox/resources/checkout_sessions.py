"""Checkout sessions (`/api/checkout-sessions`), and the sandbox-only route
that pays one as a payer's wallet would (`/sandbox/checkout-sessions/{id}/complete`)."""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..engine import checkout
from ..errors import bad_request, not_found
from ..helpers import helper
from . import customers
from ._common import filter_equal, filter_in, filter_metadata, page_of

KIND = "checkout_session"
PAYER_FIELDS = ("customer_did", "customer_name", "customer_email", "promotion_code")


def find(ctx: Context, key: str) -> dict[str, Any]:
    """By `cs_` id or by the caller's `client_reference_id` (the newest session carrying it)."""
    session = ctx.store.get(KIND, key, ctx.livemode)
    if session is None:
        named = ctx.store.find(KIND, ctx.livemode, client_reference_id=key)
        session = named[-1] if named else None
    if session is None:
        raise not_found("Checkout session", key)
    return session


def expand(ctx: Context, session: dict[str, Any]) -> dict[str, Any]:
    def get(kind: str, object_id: str | None) -> dict[str, Any] | None:
        return ctx.store.get(kind, object_id, ctx.livemode) if object_id else None

    created = [session.get("subscription_id"), *(session.get("subscription_groups") or {}).values()]
    subscriptions = [s for s in (get("subscription", i) for i in dict.fromkeys(created)) if s]
    return {
        **session,
        "object": "checkout_session",
        "line_items": checkout.expand_lines(ctx, session["line_items"]),
        "payment_link": get("payment_link", session.get("payment_link_id")),
        "payment_intent": get("payment_intent", session.get("payment_intent_id")),
        "subscription": get("subscription", session.get("subscription_id")),
        "customer": get("customer", session.get("customer_id")),
        "subscriptions": subscriptions,
    }


@handles("createCheckoutSession")
def create(ctx: Context) -> dict[str, Any]:
    # PaymentKit's own example app sends no `mode`: the prices imply it (recurring → subscription).
    body = ctx.body if "mode" in ctx.body else {**ctx.body, "mode": checkout.mode_of(ctx, ctx.body["line_items"])}
    return checkout.open_session(ctx, body)


@handles("retrieveCheckoutSession")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, find(ctx, ctx.path["id"]))


@handles("updateCheckoutSession")
def update(ctx: Context) -> dict[str, Any]:
    session = ctx.get(KIND, ctx.path["id"], "Checkout session")
    if "metadata" in ctx.body:
        session["metadata"] = ctx.body["metadata"]
    return ctx.store.save(KIND, ctx.touch(session))


@handles("expireCheckoutSession")
def expire(ctx: Context) -> dict[str, Any]:
    return checkout.expire(ctx, ctx.get(KIND, ctx.path["id"], "Checkout session"))


@handles("listCheckoutSessions")
def list_(ctx: Context) -> dict[str, Any]:
    rows = ctx.store.all(KIND, ctx.livemode)
    for name in ("status", "payment_status", "nft_mint_status"):
        rows = filter_in(ctx, rows, name)
    rows = filter_equal(ctx, rows, "customer_id", "payment_intent_id", "payment_link_id")
    if ctx.param("customer_did"):
        did = customers.plain_did(ctx.param("customer_did"))
        rows = [s for s in rows if s.get("customer_did") == did]
    wanted = ctx.param("subscription_id")
    if wanted:
        rows = [
            s
            for s in rows
            if s.get("subscription_id") == wanted or wanted in (s.get("subscription_groups") or {}).values()
        ]
    rows = filter_metadata(ctx, rows)
    return page_of(ctx, rows, orderable=("created_at", "updated_at", "expires_at"), expand=lambda s: expand(ctx, s))


@helper("POST", "/sandbox/checkout-sessions/{id}/complete")
def complete(ctx: Context) -> dict[str, Any]:
    """Pay an open session as the payer's wallet would; answers the session with its joins."""
    body = {k: v for k, v in ctx.body.items() if k != "livemode"}
    unknown = sorted(set(body) - set(PAYER_FIELDS))
    if unknown:
        raise bad_request(f"unknown field(s) {', '.join(unknown)}; this route takes {', '.join(PAYER_FIELDS)}")
    for name, value in body.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise bad_request(f"{name}: a non-empty string is required")
    return expand(ctx, checkout.complete(ctx, find(ctx, ctx.path["id"]), body))
