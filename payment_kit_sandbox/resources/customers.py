"""Customers (`/api/customers`).

PaymentKit creates customers when a user pays (checkout) or when an app asks
for one by DID with `create=true`; there is no plain create operation.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .. import lookups
from ..context import Context, handles, sandbox_route
from ..engine import customers
from ..engine.billing import declined_reason, mark_payments_failing
from ..list_queries import page_of, search, stored_page
from ..refusals import bad_request, not_found

KIND = "customer"


@handles("retrieveCustomer")
def retrieve(ctx: Context) -> dict[str, Any]:
    key = ctx.path["id"]
    customer = lookups.find_customer(ctx, key)
    if customer is None:
        if ctx.param("create") and not key.startswith("cus_"):
            customer = lookups.ensure_customer(ctx, key)
        else:
            raise not_found("Customer", key)
    return lookups.expand_customer(ctx, customer)


@handles("updateCustomer")
def update(ctx: Context) -> dict[str, Any]:
    customer = lookups.find_customer(ctx, ctx.path["id"]) or ctx.get(KIND, ctx.path["id"], "Customer")
    return customers.update_customer(ctx, customer, ctx.body)


@handles("deleteCustomer")
def delete(ctx: Context) -> dict[str, Any]:
    customer = lookups.find_customer(ctx, ctx.path["id"]) or ctx.get(KIND, ctx.path["id"], "Customer")
    return customers.delete_customer(ctx, customer)


@handles("listCustomers")
def list_(ctx: Context) -> dict[str, Any]:
    by_did = {"did": lookups.plain_did(ctx.param("did"))} if ctx.param("did") else {}
    return stored_page(
        ctx,
        KIND,
        orderable=("created_at", "updated_at", "name", "email"),
        expand=lambda c: lookups.expand_customer(ctx, c),
        **by_did,
    )


@handles("searchCustomers")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), ("id", "did", "name", "email", "phone", "description"))
    return page_of(ctx, rows, expand=lambda c: lookups.expand_customer(ctx, c))


@handles("retrieveMyCustomer")
def me(ctx: Context) -> dict[str, Any]:
    """The signed-in user's customer: Blocklet Server names the user in `x-user-did`."""
    did = ctx.headers.get("x-user-did")
    if not did:
        raise not_found("Customer", "me (no signed-in user: send the x-user-did header)")
    customer = ctx.store.first(KIND, ctx.livemode, did=lookups.plain_did(did))
    if customer is None:
        if not ctx.param("fallback"):
            raise not_found("Customer", f"me ({did})")
        return {"did": lookups.plain_did(did), "name": None, "email": None, "phone": None}
    if ctx.param("skipSummary"):
        return dict(customer)
    return {**customer, "summary": summary(ctx, customer)}


def summary(ctx: Context, customer: dict[str, Any]) -> dict[str, dict[str, str]]:
    totals: dict[str, dict[str, int]] = {
        "paid": defaultdict(int),
        "due": defaultdict(int),
        "refunded": defaultdict(int),
    }
    for invoice in ctx.store.find("invoice", ctx.livemode, customer_id=customer["id"]):
        if invoice["status"] == "paid":
            totals["paid"][invoice["currency_id"]] += int(invoice["amount_paid"])
        elif invoice["status"] == "open":
            totals["due"][invoice["currency_id"]] += int(invoice["amount_remaining"])
    for refund in ctx.store.find("refund", ctx.livemode, customer_id=customer["id"]):
        if refund["status"] == "succeeded":
            totals["refunded"][refund["currency_id"]] += int(refund["amount"])
    return {key: {cur: str(v) for cur, v in values.items()} for key, values in totals.items()}


@handles("listCustomerOverdueInvoices")
def overdue_invoices(ctx: Context) -> dict[str, Any]:
    customer = lookups.find_customer(ctx, ctx.path["id"]) or ctx.get(KIND, ctx.path["id"], "Customer")
    invoices = [
        i for i in ctx.store.find("invoice", ctx.livemode, customer_id=customer["id"]) if lookups.overdue(ctx, i)
    ]
    return {"customer": customer, "invoices": invoices, "summary": lookups.owed_by_currency(ctx, invoices)}


@sandbox_route("POST", "/sandbox/customers/{id}/payment-failures")
def fail_payments(ctx: Context) -> dict[str, Any]:
    """Mark a customer's payments to fail (`fail`: true, the default) or to succeed again (`false`).

    While marked, a wallet-driven payment (completing a checkout, paying an invoice by hand) is a
    402 that stores nothing; a charge the system makes (a renewal, an auto-recharge, a one-off
    invoice raised with `pay`) is a recorded failed attempt: the invoice stays open and its payment
    intent carries `last_payment_error` with `reason`. Answers `{customer_id, failing, reason}`."""
    body = {k: v for k, v in ctx.body.items() if k != "livemode"}
    unknown = sorted(set(body) - {"fail", "reason"})
    if unknown:
        raise bad_request(f"{unknown[0]}: not a field of this sandbox helper (fail, reason)")
    fail = body.get("fail", True)
    if not isinstance(fail, bool):
        raise bad_request("fail: true or false")
    reason = body.get("reason", "Your card was declined.")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request("reason: a non-empty string is required")
    customer = lookups.find_customer(ctx, ctx.path["id"])
    if customer is None:
        raise not_found("Customer", ctx.path["id"])
    mark_payments_failing(ctx, customer["id"], reason if fail else None)
    return {"customer_id": customer["id"], "failing": fail, "reason": declined_reason(ctx, customer["id"])}
