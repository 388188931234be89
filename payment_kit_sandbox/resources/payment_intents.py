"""Payment intents (`/api/payment-intents`).

There is no create: PaymentKit makes payment intents when it collects an
invoice or a checkout (here `engine/billing`). The API reads them, edits
their descriptive fields, and refunds them.
"""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..engine.money import to_units
from ..engine.refunds import refund_payment, refund_summary
from ..engine.shapes import skeleton
from . import customers, refunds
from ._common import filter_equal, filter_in, filter_metadata, page_of, search

KIND = "payment_intent"
EDITABLE = (
    "cancellation_reason",
    "capture_method",
    "confirmation_method",
    "payment_method_types",
    "description",
    "metadata",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "setup_future_usage",
    "beneficiaries",
)
SEARCHED = ("id", "description", "customer_id", "invoice_id", "receipt_email", "statement_descriptor", "status")


def _stored_or_stub(
    ctx: Context, kind: str, object_id: str | None, schema: str, owner: dict[str, Any]
) -> dict[str, Any]:
    """A joined record that must be present in the answer; if it was deleted since, a stub carrying its id."""
    found = ctx.store.get(kind, object_id or "", ctx.livemode)
    if found is not None:
        return found
    return {
        **skeleton(schema),
        "id": object_id or "",
        "livemode": ctx.livemode,
        "created_at": owner["created_at"],
        "updated_at": owner["created_at"],
    }


def money_joins(ctx: Context, obj: dict[str, Any]) -> dict[str, Any]:
    """The customer, currency and payment method every money object (intent, invoice, refund) is answered with."""
    currency = _stored_or_stub(ctx, "payment_currency", obj.get("currency_id"), "PaymentCurrency", obj)
    method_id = (
        obj.get("payment_method_id") or obj.get("default_payment_method_id") or currency.get("payment_method_id")
    )
    return {
        "customer": _stored_or_stub(ctx, "customer", obj.get("customer_id"), "Customer", obj),
        "paymentCurrency": currency,
        "paymentMethod": _stored_or_stub(ctx, "payment_method", method_id, "PaymentMethod", obj),
    }


def plain(ctx: Context, kind: str, object_id: str | None) -> dict[str, Any] | None:
    return ctx.store.get(kind, object_id, ctx.livemode) if object_id else None


def expand(ctx: Context, intent: dict[str, Any]) -> dict[str, Any]:
    invoice = plain(ctx, "invoice", intent.get("invoice_id"))
    session = plain(ctx, "checkout_session", (invoice or {}).get("checkout_session_id")) or ctx.store.first(
        "checkout_session", ctx.livemode, payment_intent_id=intent["id"]
    )
    subscription_id = (invoice or {}).get("subscription_id") or (session or {}).get("subscription_id")
    joins = money_joins(ctx, intent)
    if not intent.get("customer_id"):
        joins["customer"] = None
    return {
        **intent,
        "object": "payment_intent",
        **joins,
        "checkoutSession": session,
        "subscription": plain(ctx, "subscription", subscription_id),
        "invoice": invoice,
        "refund": refund_summary(ctx, intent),
    }


def find_customer_ids(ctx: Context) -> set[str] | None:
    """The customers named by `customer_id` / `customer_did` (None when neither filter is given)."""
    wanted: set[str] | None = None
    if ctx.param("customer_id"):
        wanted = {ctx.param("customer_id")}
    did = ctx.param("customer_did")
    if did:
        match = ctx.store.first("customer", ctx.livemode, did=customers.plain_did(did))
        by_did = {match["id"]} if match else set()
        wanted = by_did if wanted is None else wanted & by_did
    return wanted


def filter_customer(ctx: Context, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = find_customer_ids(ctx)
    return rows if wanted is None else [r for r in rows if r.get("customer_id") in wanted]


@handles("retrievePaymentIntent")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Payment intent"))


@handles("updatePaymentIntent")
def update(ctx: Context) -> dict[str, Any]:
    intent = ctx.get(KIND, ctx.path["id"], "Payment intent")
    intent.update({k: v for k, v in ctx.body.items() if k in EDITABLE})
    return ctx.store.save(KIND, ctx.touch(intent))


@handles("listPaymentIntents")
def list_(ctx: Context) -> dict[str, Any]:
    rows = filter_in(ctx, ctx.store.all(KIND, ctx.livemode), "status")
    rows = filter_metadata(ctx, filter_customer(ctx, filter_equal(ctx, rows, "invoice_id")))
    return page_of(ctx, rows, expand=lambda i: expand(ctx, i))


@handles("searchPaymentIntents")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), SEARCHED)
    return page_of(ctx, rows, expand=lambda i: expand(ctx, i))


def refund_units(ctx: Context, intent: dict[str, Any], amount: str, field: str = "amount") -> int:
    """A refund's decimal `amount` in the payment's currency units."""
    currency = ctx.store.get("payment_currency", intent["currency_id"], ctx.livemode) or {"decimal": 0}
    return int(to_units(amount, int(currency["decimal"]), field))


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
    return refunds.expand(ctx, made)


__all__ = ["expand", "filter_customer", "money_joins", "plain", "refund_units"]
