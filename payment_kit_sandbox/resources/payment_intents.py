"""Payment intents (`/api/payment-intents`).

There is no create: PaymentKit makes payment intents when it collects an
invoice or a checkout (here `engine/billing`). The API reads them, edits
their descriptive fields, and refunds them.
"""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine.billing import update_payment_intent
from ..engine.refunds import refund_payment, refund_summary, refund_units
from ..list_queries import any_of_param, customer_condition, equal_params, metadata_keep, page_of, search, stored_page

KIND = "payment_intent"
SEARCHED = ("id", "description", "customer_id", "invoice_id", "receipt_email", "statement_descriptor", "status")


def expand(ctx: Context, intent: dict[str, Any]) -> dict[str, Any]:
    invoice = lookups.stored(ctx, "invoice", intent.get("invoice_id"))
    session = lookups.stored(ctx, "checkout_session", (invoice or {}).get("checkout_session_id")) or ctx.store.first(
        "checkout_session", ctx.livemode, payment_intent_id=intent["id"]
    )
    subscription_id = (invoice or {}).get("subscription_id") or (session or {}).get("subscription_id")
    joins = lookups.money_joins(ctx, intent)
    if not intent.get("customer_id"):
        joins["customer"] = None
    return {
        **intent,
        "object": "payment_intent",
        **joins,
        "checkoutSession": session,
        "subscription": lookups.stored(ctx, "subscription", subscription_id),
        "invoice": invoice,
        "refund": refund_summary(ctx, intent),
    }


@handles("retrievePaymentIntent")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Payment intent"))


@handles("updatePaymentIntent")
def update(ctx: Context) -> dict[str, Any]:
    return update_payment_intent(ctx, ctx.get(KIND, ctx.path["id"], "Payment intent"), ctx.body)


@handles("listPaymentIntents")
def list_(ctx: Context) -> dict[str, Any]:
    return stored_page(
        ctx,
        KIND,
        *any_of_param(ctx, "status"),
        *customer_condition(ctx),
        expand=lambda i: expand(ctx, i),
        keep=metadata_keep(ctx),
        **equal_params(ctx, "invoice_id"),
    )


@handles("searchPaymentIntents")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), SEARCHED)
    return page_of(ctx, rows, expand=lambda i: expand(ctx, i))


@handles("refundPaymentIntent")
def refund(ctx: Context) -> dict[str, Any]:
    intent = ctx.get(KIND, ctx.path["id"], "Payment intent")
    body = ctx.body
    made = refund_payment(
        ctx,
        intent,
        refund_units(ctx, intent, body["amount"]),
        reason=body.get("reason"),
        description=body.get("description"),
    )
    return lookups.expand_refund(ctx, made)
