"""Customers as the rules see them: a DID pays, and becomes a customer the
first time it does (checkout, a credit grant, `?create=true`)."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import lifecycle

__all__ = [
    "delete_customer",
    "ensure_customer",
    "find_customer",
    "plain_did",
    "referenced_customer",
    "update_customer",
]

KIND = "customer"
# Subscriptions that still bill (or may again): a customer who has one cannot be deleted.
ACTIVE_SUBSCRIPTION = ("active", "trialing", "past_due", "paused")


def plain_did(did: str) -> str:
    return did.removeprefix("did:abt:")


def find_customer(ctx: Context, key: str) -> dict[str, Any] | None:
    """By `cus_` id or by DID (with or without `did:abt:`)."""
    return ctx.store.get(KIND, key, ctx.livemode) or ctx.store.first(KIND, ctx.livemode, did=plain_did(key))


def ensure_customer(ctx: Context, did: str, **contact: Any) -> dict[str, Any]:
    """The customer of a DID, created if there is none yet."""
    existing = ctx.store.first(KIND, ctx.livemode, did=plain_did(did))
    if existing is not None:
        return existing
    customer = ctx.stamp(
        {
            **skeleton(ctx.document, "Customer"),
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


def referenced_customer(ctx: Context, key: str, field: str = "customer_id") -> dict[str, Any]:
    """A customer named by a write (id or DID): 400 naming the field when unknown."""
    customer = find_customer(ctx, key)
    if customer is None:
        raise bad_request(f"{field}: no customer {key!r} in this mode")
    return customer


def update_customer(ctx: Context, customer: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Metadata keys merge in; a currency named must exist in the customer's mode."""
    for field, value in body.items():
        if field == "metadata":
            customer["metadata"] = {**(customer.get("metadata") or {}), **(value or {})}
        elif (
            field == "currency_id" and value is not None and not ctx.store.get("payment_currency", value, ctx.livemode)
        ):
            raise bad_request(f"currency_id: no payment currency {value!r} in this mode")
        else:
            customer[field] = value
    return lifecycle.changed(ctx, KIND, customer, "customer.updated")


def delete_customer(ctx: Context, customer: dict[str, Any]) -> dict[str, Any]:
    """A customer with a subscription that is not canceled cannot be deleted."""
    live = [
        s["id"]
        for s in ctx.store.find("subscription", ctx.livemode, customer_id=customer["id"])
        if s["status"] in ACTIVE_SUBSCRIPTION
    ]
    if live:
        raise bad_request(f"Customer {customer['id']} has subscriptions that are not canceled: {', '.join(live)}")
    return lifecycle.removed(ctx, KIND, customer, "customer.deleted")
