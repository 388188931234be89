"""Checkout sessions (`/api/checkout-sessions`), and the sandbox-only route
that pays one as a payer's wallet would (`/sandbox/checkout-sessions/{id}/complete`)."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles, sandbox_route
from ..engine import checkout
from ..list_queries import (
    any_of_param,
    equal_params,
    keep_all,
    metadata_keep,
    stored_page,
)
from ..refusals import bad_request, not_found

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


@handles("createCheckoutSession")
def create(ctx: Context) -> dict[str, Any]:
    # PaymentKit's own example app sends no `mode`: the prices imply it (recurring → subscription).
    body = ctx.body if "mode" in ctx.body else {**ctx.body, "mode": checkout.mode_of(ctx, ctx.body["line_items"])}
    return checkout.open_session(ctx, body)


@handles("retrieveCheckoutSession")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_checkout_session(ctx, find(ctx, ctx.path["id"]))


@handles("updateCheckoutSession")
def update(ctx: Context) -> dict[str, Any]:
    return checkout.update_session(ctx, ctx.get(KIND, ctx.path["id"], "Checkout session"), ctx.body)


@handles("expireCheckoutSession")
def expire(ctx: Context) -> dict[str, Any]:
    return checkout.expire(ctx, ctx.get(KIND, ctx.path["id"], "Checkout session"))


@handles("listCheckoutSessions")
def list_(ctx: Context) -> dict[str, Any]:
    conditions = [c for name in ("status", "payment_status", "nft_mint_status") for c in any_of_param(ctx, name)]
    equals = equal_params(ctx, "customer_id", "payment_intent_id", "payment_link_id")
    if ctx.param("customer_did"):
        equals["customer_did"] = lookups.plain_did(ctx.param("customer_did"))
    wanted = ctx.param("subscription_id")

    def of_subscription(s: dict[str, Any]) -> bool:
        """The session's subscription, or one of its subscription groups' (a dict's values)."""
        return bool(s.get("subscription_id") == wanted or wanted in (s.get("subscription_groups") or {}).values())

    return stored_page(
        ctx,
        KIND,
        *conditions,
        orderable=("created_at", "updated_at", "expires_at"),
        expand=lambda s: lookups.expand_checkout_session(ctx, s),
        keep=keep_all(metadata_keep(ctx), of_subscription if wanted else None),
        **equals,
    )


@sandbox_route("POST", "/sandbox/checkout-sessions/{id}/complete")
def complete(ctx: Context) -> dict[str, Any]:
    """Pay an open session as the payer's wallet would; answers the session with its joins."""
    body = {k: v for k, v in ctx.body.items() if k != "livemode"}
    unknown = sorted(set(body) - set(PAYER_FIELDS))
    if unknown:
        raise bad_request(f"unknown field(s) {', '.join(unknown)}; this route takes {', '.join(PAYER_FIELDS)}")
    for name, value in body.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise bad_request(f"{name}: a non-empty string is required")
    return lookups.expand_checkout_session(ctx, checkout.complete(ctx, find(ctx, ctx.path["id"]), body))
