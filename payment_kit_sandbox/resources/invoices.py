"""Invoices (`/api/invoices`).

PaymentKit raises invoices itself (checkouts, subscription cycles, credit
top-ups, all through `engine/billing`); the API reads them, edits their
metadata and voids the unpaid ones. `POST /sandbox/invoices` raises one by
hand, as a merchant's back office would, so a sandbox has invoices, payment
intents and refunds to work with before any checkout is completed.
"""

from __future__ import annotations

from typing import Any, NoReturn

from .. import lookups
from ..context import Context, handles, sandbox_route
from ..database import NoneOf, OneOf
from ..engine import billing
from ..list_queries import any_of_param, customer_condition, equal_params, metadata_keep, page_of, search, stored_page
from ..refusals import bad_request

KIND = "invoice"
ORDERABLE = ("created_at", "updated_at", "number", "period_start", "period_end", "due_date")
SEARCHED = (
    "id",
    "number",
    "description",
    "status",
    "billing_reason",
    "customer_id",
    "customer_name",
    "customer_email",
    "customer_phone",
    "subscription_id",
    "statement_descriptor",
)
# Invoices the list leaves out unless asked (`include_<flag>`), and whether it asks by default.
HIDDEN_REASONS = {
    "include_staking": (("stake",), False),
    "include_return_staking": (("return_stake",), False),
    "include_overdraft_protection": (("overdraft_protection", "stake_overdraft_protection"), True),
}
RELATED_FIELDS = (
    "id",
    "number",
    "status",
    "billing_reason",
    "currency_id",
    "customer_id",
    "subscription_id",
    "total",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "created_at",
)


def expand(ctx: Context, invoice: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for item in ctx.store.find("invoice_item", ctx.livemode, invoice_id=invoice["id"]):
        price = lookups.stored(ctx, "price", item["price_id"])
        if price is not None:  # invoiced prices are locked, so only a price removed behind the API's back is missing
            lines.append({**item, "object": "invoice_item", "price": lookups.expand_price(ctx, price)})
    return {
        **invoice,
        "object": "invoice",
        **lookups.money_joins(ctx, invoice),
        "paymentIntent": lookups.stored(ctx, "payment_intent", invoice.get("payment_intent_id")),
        "subscription": lookups.stored(ctx, "subscription", invoice.get("subscription_id")),
        "lines": lines,
    }


def _discount_details(ctx: Context, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in invoice.get("total_discount_amounts") or []:
        discount = lookups.stored(ctx, "discount", entry.get("discount")) or {}
        coupon = lookups.stored(ctx, "coupon", entry.get("coupon") or discount.get("coupon_id"))
        code = lookups.stored(ctx, "promotion_code", entry.get("promotion_code") or discount.get("promotion_code_id"))
        if coupon is None and code is None:
            continue
        out.append(
            {
                "coupon": {**coupon, "object": "coupon"} if coupon else None,
                "promotionCode": {
                    **code,
                    "object": "promotion_code",
                    "coupon": lookups.stored(ctx, "coupon", code.get("coupon_id")),
                }
                if code
                else None,
            }
        )
    return out


def _credit_grants(ctx: Context, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """Grants bought by paying this invoice: they name it in `metadata.invoice_id` (or `invoice_id`)."""
    return [
        {**grant, "object": "credit_grant", **lookups.money_joins(ctx, grant), "items": None}
        for grant in ctx.store.find("credit_grant", ctx.livemode, customer_id=invoice["customer_id"])
        if invoice["id"] in (grant.get("invoice_id"), (grant.get("metadata") or {}).get("invoice_id"))
    ]


def detail(ctx: Context, invoice: dict[str, Any]) -> dict[str, Any]:
    session = lookups.stored(ctx, "checkout_session", invoice.get("checkout_session_id"))
    related = lookups.stored(ctx, KIND, (invoice.get("from_invoice") or {}).get("id"))
    return {
        **expand(ctx, invoice),
        "discountDetails": _discount_details(ctx, invoice),
        "relatedInvoice": {k: related.get(k) for k in RELATED_FIELDS} if related else None,
        "relatedCreditGrants": _credit_grants(ctx, invoice),
        "paymentLink": lookups.stored(ctx, "payment_link", (session or {}).get("payment_link_id")),
        "checkoutSession": session,
    }


def _subscription_ids(ctx: Context, subscription_id: str) -> set[str]:
    """The subscription, and with `include_recovered_from` the chain of subscriptions it was recovered from."""
    ids = {subscription_id}
    if not ctx.param("include_recovered_from"):
        return ids
    current = lookups.stored(ctx, "subscription", subscription_id)
    while current and current.get("recovered_from") and current["recovered_from"] not in ids:
        ids.add(current["recovered_from"])
        current = lookups.stored(ctx, "subscription", current["recovered_from"])
    return ids


@handles("listInvoices")
def list_(ctx: Context) -> dict[str, Any]:
    conditions = any_of_param(ctx, "status") + customer_condition(ctx)
    if ctx.param("subscription_id"):
        conditions.append(OneOf("subscription_id", tuple(sorted(_subscription_ids(ctx, ctx.param("subscription_id"))))))
    if ctx.param("ignore_zero"):
        conditions.append(NoneOf("subtotal", ("0",)))  # amounts are stored as canonical integer text
    hidden = [
        reason
        for flag, (reasons, default) in HIDDEN_REASONS.items()
        if not ctx.param(flag, default)
        for reason in reasons
    ]
    if hidden:
        conditions.append(NoneOf("billing_reason", tuple(hidden)))
    return stored_page(
        ctx,
        KIND,
        *conditions,
        orderable=ORDERABLE,
        expand=lambda i: expand(ctx, i),
        keep=metadata_keep(ctx),
        **equal_params(ctx, "currency_id"),
    )


@handles("searchInvoices")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), SEARCHED)
    return page_of(ctx, rows, orderable=ORDERABLE, expand=lambda i: expand(ctx, i))


@handles("retrieveInvoice")
def retrieve(ctx: Context) -> dict[str, Any]:
    return detail(ctx, ctx.get(KIND, ctx.path["id"], "Invoice"))


@handles("updateInvoice")
def update(ctx: Context) -> dict[str, Any]:
    return billing.update_invoice(ctx, ctx.get(KIND, ctx.path["id"], "Invoice"), ctx.body)


@handles("voidInvoice")
def void(ctx: Context) -> dict[str, Any]:
    return billing.void_invoice(ctx, ctx.get(KIND, ctx.path["id"], "Invoice"))


@handles("previewInvoiceReturnStake")
def preview_return_stake(ctx: Context) -> dict[str, Any]:
    invoice = ctx.get(KIND, ctx.path["id"], "Invoice")
    return {"amount": "0", "currency_id": invoice["currency_id"], "subscriptionId": invoice.get("subscription_id")}


@handles("returnInvoiceStake")
def return_stake(ctx: Context) -> NoReturn:
    billing.return_stake(ctx.get(KIND, ctx.path["id"], "Invoice"))


# -- sandbox-only --------------------------------------------------------------------------------

MANUAL_FIELDS = {"customer_id", "currency_id", "lines", "pay", "due_date", "description", "metadata", "livemode"}


def _manual_lines(ctx: Context, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("lines: a non-empty list of {price_id, quantity} is required")
    lines = []
    for i, line in enumerate(raw):
        if not isinstance(line, dict) or not isinstance(line.get("price_id"), str):
            raise bad_request(f"lines[{i}].price_id: a price id is required")
        extra = set(line) - {"price_id", "quantity"}
        if extra:
            raise bad_request(f"lines[{i}]: unknown field(s) {', '.join(sorted(extra))}")
        quantity = line.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise bad_request(f"lines[{i}].quantity: a whole number of at least 1 is required")
        price = billing.billable_price(ctx, line["price_id"], f"lines[{i}].price_id")
        lines.append({"price": price, "quantity": quantity})
    return lines


@sandbox_route("POST", "/sandbox/invoices")
def create_manual(ctx: Context) -> dict[str, Any]:
    """Raise a one-off (`manual`) invoice for a customer, and pay it at once when `pay` is true."""
    body = ctx.body
    extra = set(body) - MANUAL_FIELDS
    if extra:
        raise bad_request(f"unknown field(s): {', '.join(sorted(extra))}")
    if not isinstance(body.get("customer_id"), str):
        raise bad_request("customer_id: a customer id or DID is required")
    customer = lookups.referenced_customer(ctx, body["customer_id"], "customer_id")
    lines = _manual_lines(ctx, body.get("lines"))
    currency_id = lines[0]["price"]["currency_id"]
    if body.get("currency_id") is not None:
        currency_id = lookups.referenced_currency(ctx, str(body["currency_id"]), "currency_id")["id"]
    return expand(ctx, billing.manual_invoice(ctx, customer, currency_id, lines, body))


@sandbox_route("POST", "/sandbox/invoices/{id}/pay")
def pay_open(ctx: Context) -> dict[str, Any]:
    """The customer pays an open (or uncollectible) invoice in full, as their wallet would: a renewal
    that failed, a `send_invoice` subscription's invoice, a manual one. A paid or void invoice is a 400."""
    invoice = ctx.get(KIND, ctx.path["id"], "Invoice")
    billing.pay_by_hand(ctx, invoice)
    return expand(ctx, invoice)
