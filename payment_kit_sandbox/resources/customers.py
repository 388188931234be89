"""Customers (`/api/customers`).

PaymentKit creates customers when a user pays (checkout) or when an app asks
for one by DID with `create=true`; there is no plain create operation.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..context import Context, handles
from ..engine.shapes import skeleton
from ..errors import bad_request, not_found
from ._common import filter_equal, page_of, search

KIND = "customer"
ACTIVE_SUBSCRIPTION = ("active", "trialing", "past_due", "paused")


def plain_did(did: str) -> str:
    return did.removeprefix("did:abt:")


def find(ctx: Context, key: str) -> dict[str, Any] | None:
    """By `cus_` id or by DID (with or without `did:abt:`)."""
    return ctx.store.get(KIND, key, ctx.livemode) or ctx.store.first(KIND, ctx.livemode, did=plain_did(key))


def ensure(ctx: Context, did: str, **contact: Any) -> dict[str, Any]:
    """The customer of a DID, created if there is none yet."""
    existing = ctx.store.first(KIND, ctx.livemode, did=plain_did(did))
    if existing is not None:
        return existing
    customer = ctx.stamp(
        {
            **skeleton("Customer"),
            "did": plain_did(did),
            "name": contact.get("name") or "",
            "email": contact.get("email") or "",
            "phone": contact.get("phone") or "",
            "description": "",
            "balance": "0",
            "token_balance": {},
            "delinquent": False,
            "metadata": {},
            "invoice_prefix": plain_did(did)[-8:].upper(),
            "next_invoice_sequence": 1,
        },
        "cus",
    )
    ctx.store.insert(KIND, customer)
    ctx.emit("customer.created", KIND, customer)
    return customer


def referenced(ctx: Context, key: str, field: str = "customer_id") -> dict[str, Any]:
    """A customer named by a write (id or DID): 400 naming the field when unknown."""
    customer = find(ctx, key)
    if customer is None:
        raise bad_request(f"{field}: no customer {key!r} in this mode")
    return customer


def expand(ctx: Context, customer: dict[str, Any]) -> dict[str, Any]:
    mine = {"customer_id": customer["id"]}
    return {
        **customer,
        "object": "customer",
        "payments": ctx.store.find("payment_intent", ctx.livemode, **mine),
        "subscriptions": ctx.store.find("subscription", ctx.livemode, **mine),
        "invoices": ctx.store.find("invoice", ctx.livemode, **mine),
    }


@handles("retrieveCustomer")
def retrieve(ctx: Context) -> dict[str, Any]:
    key = ctx.path["id"]
    customer = find(ctx, key)
    if customer is None:
        if ctx.param("create") and not key.startswith("cus_"):
            customer = ensure(ctx, key)
        else:
            raise not_found("Customer", key)
    return expand(ctx, customer)


@handles("updateCustomer")
def update(ctx: Context) -> dict[str, Any]:
    customer = find(ctx, ctx.path["id"]) or ctx.get(KIND, ctx.path["id"], "Customer")
    for field, value in ctx.body.items():
        if field == "metadata":
            customer["metadata"] = {**(customer.get("metadata") or {}), **(value or {})}
        elif (
            field == "currency_id" and value is not None and not ctx.store.get("payment_currency", value, ctx.livemode)
        ):
            raise bad_request(f"currency_id: no payment currency {value!r} in this mode")
        else:
            customer[field] = value
    ctx.emit("customer.updated", KIND, customer)
    return ctx.store.save(KIND, ctx.touch(customer))


@handles("deleteCustomer")
def delete(ctx: Context) -> dict[str, Any]:
    customer = find(ctx, ctx.path["id"]) or ctx.get(KIND, ctx.path["id"], "Customer")
    live = [
        s["id"]
        for s in ctx.store.find("subscription", ctx.livemode, customer_id=customer["id"])
        if s["status"] in ACTIVE_SUBSCRIPTION
    ]
    if live:
        raise bad_request(f"Customer {customer['id']} has subscriptions that are not canceled: {', '.join(live)}")
    ctx.store.delete(KIND, customer["id"])
    ctx.emit("customer.deleted", KIND, customer)
    return customer


@handles("listCustomers")
def list_(ctx: Context) -> dict[str, Any]:
    rows = ctx.store.all(KIND, ctx.livemode)
    if ctx.param("did"):
        rows = [c for c in rows if c["did"] == plain_did(ctx.param("did"))]
    return page_of(ctx, rows, orderable=("created_at", "updated_at", "name", "email"), expand=lambda c: expand(ctx, c))


@handles("searchCustomers")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), ("id", "did", "name", "email", "phone", "description"))
    return page_of(ctx, rows, expand=lambda c: expand(ctx, c))


@handles("retrieveMyCustomer")
def me(ctx: Context) -> dict[str, Any]:
    """The signed-in user's customer: Blocklet Server names the user in `x-user-did`."""
    did = ctx.headers.get("x-user-did")
    if not did:
        raise not_found("Customer", "me (no signed-in user: send the x-user-did header)")
    customer = ctx.store.first(KIND, ctx.livemode, did=plain_did(did))
    if customer is None:
        if not ctx.param("fallback"):
            raise not_found("Customer", f"me ({did})")
        return {"did": plain_did(did), "name": None, "email": None, "phone": None}
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
    customer = find(ctx, ctx.path["id"]) or ctx.get(KIND, ctx.path["id"], "Customer")
    invoices = [i for i in ctx.store.find("invoice", ctx.livemode, customer_id=customer["id"]) if overdue(ctx, i)]
    return {"customer": customer, "invoices": invoices, "summary": owed_by_currency(ctx, invoices)}


def overdue(ctx: Context, invoice: dict[str, Any]) -> bool:
    return (
        invoice["status"] in ("open", "uncollectible")
        and int(invoice["amount_remaining"]) > 0
        and (invoice.get("due_date") is None or invoice["due_date"] <= ctx.now())
    )


def owed_by_currency(ctx: Context, invoices: list[dict[str, Any]]) -> dict[str, Any]:
    owed: dict[str, int] = defaultdict(int)
    for invoice in invoices:
        owed[invoice["currency_id"]] += int(invoice["amount_remaining"])
    out = {}
    for currency_id, amount in owed.items():
        currency = ctx.store.get("payment_currency", currency_id, ctx.livemode)
        if currency is None:
            continue
        method = ctx.store.get("payment_method", currency["payment_method_id"], ctx.livemode)
        out[currency_id] = {"amount": str(amount), "currency": currency, "method": method}
    return out


__all__ = ["ensure", "expand", "find", "overdue", "owed_by_currency", "referenced"]
_ = filter_equal
