"""Refunds (`/api/refunds`): created for a payment intent, or recorded after
the fact when another system already sent the money on chain (`sync`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine.refunds import refund_requested, sync_refund
from ..list_queries import any_of_param, equal_params, page_of, search, stored_page
from ..refusals import bad_request

KIND = "refund"
SEARCHED = (
    "id",
    "description",
    "reason",
    "status",
    "payment_intent_id",
    "invoice_id",
    "subscription_id",
    "customer_id",
)


@handles("createRefund")
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    intent = ctx.store.get("payment_intent", body["payment_intent_id"], ctx.livemode)
    if intent is None:
        raise bad_request(f"payment_intent_id: no payment intent {body['payment_intent_id']!r} in this mode")
    made = refund_requested(ctx, intent, body)
    return lookups.expand_refund(ctx, made)


@handles("retrieveRefund")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_refund(ctx, ctx.get(KIND, ctx.path["id"], "Refund"))


@handles("listRefunds")
def list_(ctx: Context) -> dict[str, Any]:
    return stored_page(
        ctx,
        KIND,
        *any_of_param(ctx, "status"),
        expand=lambda r: lookups.expand_refund(ctx, r),
        **equal_params(ctx, "invoice_id", "subscription_id", "currency_id", "customer_id"),
    )


@handles("searchRefunds")
def search_(ctx: Context) -> dict[str, Any]:
    rows = search(ctx, ctx.store.all(KIND, ctx.livemode), SEARCHED)
    return page_of(ctx, rows, expand=lambda r: lookups.expand_refund(ctx, r))


def _sync_currency(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """The currency the on-chain refund was paid in: by token contract, else the chain's default currency."""
    by_contract = ctx.store.first("payment_currency", ctx.livemode, contract=body["contract"])
    if by_contract is not None:
        return by_contract
    chain = body["chainType"]
    methods = ctx.store.find("payment_method", ctx.livemode, type=chain)
    methods.sort(key=lambda m: ((m.get("settings") or {}).get(chain) or {}).get("api_host") != body["chainApiHost"])
    for method in methods:
        currency = ctx.store.get("payment_currency", method.get("default_currency_id") or "", ctx.livemode)
        if currency is not None:
            return currency
    raise bad_request(
        f"contract: no payment currency with contract {body['contract']!r}, and no {chain!r} payment method "
        "with a default currency, in this mode"
    )


@handles("syncRefund")
def sync(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    # The body's integer livemode says which books the refund belongs to, whatever the query says.
    ctx = dataclasses.replace(ctx, livemode=bool(body["livemode"]))
    customer = lookups.find_customer(ctx, body["customerId"])
    if customer is None:
        raise bad_request(f"customerId: no customer {body['customerId']!r} in this mode")
    currency = _sync_currency(ctx, body)
    made = sync_refund(ctx, customer, currency, body)
    return lookups.expand_refund(ctx, made)
