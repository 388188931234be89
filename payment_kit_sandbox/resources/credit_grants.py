"""Credit grants (`/api/credit-grants`): credit given to a customer in a
credit currency, spent by meter events (engine/credits.py)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from .. import lookups
from ..context import Context, handles
from ..engine import auto_recharge, credits
from ..list_queries import any_of_param, equal_params, keep_all, metadata_keep, search_keep, stored_page
from ..refusals import bad_request, not_found

KIND = "credit_grant"


def expand(ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    currency = credits.joined(ctx, "payment_currency", record["currency_id"], "PaymentCurrency") or {}
    return {
        **record,
        "customer": credits.joined(ctx, "customer", record["customer_id"], "Customer"),
        "paymentCurrency": currency,
        "paymentMethod": credits.joined(ctx, "payment_method", currency.get("payment_method_id"), "PaymentMethod"),
        "items": None,
    }


def credit_currency(ctx: Context, currency_id: str, field: str = "currency_id") -> dict[str, Any]:
    """A credit currency named by a request: 400 naming the field when unknown or not `type: credit`."""
    currency = lookups.referenced_currency(ctx, currency_id, field)
    if currency["type"] != "credit":
        raise bad_request(f"{field}: {currency['id']} is a {currency['type']} currency, not a credit currency")
    return currency


def _reported_currency(ctx: Context) -> dict[str, Any]:
    """The currency a report (holders, stats) is about, by id or symbol; 404 when unknown."""
    return lookups.find_currency(ctx, ctx.param("currency_id"))


@handles("createCreditGrant")
@credits.current
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
    customer = lookups.referenced_customer(ctx, body["customer_id"], "customer_id")
    currency = credit_currency(ctx, body["currency_id"])
    return expand(ctx, credits.new_grant(ctx, customer, currency, body))


@handles("retrieveCreditGrant")
@credits.current
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Credit grant"))


@handles("updateCreditGrant")
@credits.current
def update(ctx: Context) -> dict[str, bool]:
    credits.update_grant(ctx, ctx.get(KIND, ctx.path["id"], "Credit grant"), ctx.body)
    return {"success": True}


@handles("listCreditGrants")
@credits.current
def list_(ctx: Context) -> dict[str, Any]:
    equals = equal_params(ctx, "currency_id")
    customer_id = lookups.customer_id_param(ctx)
    if customer_id:
        equals["customer_id"] = customer_id
    fields = ("id", "name", "customer_id", "currency_id", "category")
    searched = search_keep(ctx, fields, param="q")
    return stored_page(
        ctx,
        KIND,
        *any_of_param(ctx, "status"),
        orderable=("created_at", "updated_at", "priority", "effective_at", "expires_at"),
        expand=lambda g: expand(ctx, g),
        keep=keep_all(metadata_keep(ctx), searched),
        **equals,
    )


@handles("getCreditGrantSummary")
@credits.current
def summary(ctx: Context) -> dict[str, Any]:
    key = ctx.param("customer_id")
    customer = lookups.find_customer(ctx, key)
    if customer is None:
        raise not_found("Customer", key)
    subscription_id = ctx.param("subscription_id")
    price_ids = credits.price_ids_of(ctx, subscription_id)
    out: dict[str, Any] = {}
    for record in ctx.store.find(KIND, ctx.livemode, customer_id=customer["id"], status="granted"):
        if subscription_id and not credits.applies(record, price_ids):
            continue
        currency_id = record["currency_id"]
        if currency_id not in out:
            out[currency_id] = {
                "paymentCurrency": credits.joined(ctx, "payment_currency", currency_id, "PaymentCurrency"),
                "meter": ctx.store.first("meter", ctx.livemode, currency_id=currency_id),
                "totalAmount": 0,
                "remainingAmount": 0,
                "grantCount": 0,
            }
        entry = out[currency_id]
        entry["totalAmount"] += int(record["amount"])
        entry["remainingAmount"] += int(record["remaining_amount"])
        entry["grantCount"] += 1
    for entry in out.values():
        entry["totalAmount"] = str(entry["totalAmount"])
        entry["remainingAmount"] = str(entry["remainingAmount"])
    return out


@handles("verifyCreditAvailability")
@credits.current
def verify_availability(ctx: Context) -> dict[str, Any]:
    currency = credit_currency(ctx, ctx.param("currency_id"))
    customer = lookups.find_customer(ctx, ctx.param("customer_id"))
    if customer is None:
        return {"can_continue": False, "reason": f"no customer {ctx.param('customer_id')!r} in this mode"}
    return auto_recharge.availability(
        ctx,
        customer,
        currency,
        pending_amount=ctx.param("pending_amount"),
        max_pending_amount=ctx.param("max_pending_amount"),
        max_recharge_times=ctx.param("max_recharge_times"),
    )


@handles("listCreditGrantHolders")
@credits.current
def holders(ctx: Context) -> dict[str, Any]:
    currency = _reported_currency(ctx)
    balances: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for record in ctx.store.find(KIND, ctx.livemode, currency_id=currency["id"], status="granted"):
        balances[record["customer_id"]][0] += int(record["remaining_amount"])
        balances[record["customer_id"]][1] += 1
    rows = sorted(((cid, b, n) for cid, (b, n) in balances.items() if b > 0), key=lambda r: (-r[1], r[0]))
    page, size = int(ctx.param("page") or 1), int(ctx.param("pageSize") or 20)
    return {
        "holders": [
            {"customer_id": cid, "balance": str(b), "grantCount": n}
            for cid, b, n in rows[(page - 1) * size : page * size]
        ],
        "currency": _brief(currency),
        "paging": {"page": page, "pageSize": size, "total": len(rows), "totalPages": math.ceil(len(rows) / size)},
    }


def _brief(currency: dict[str, Any]) -> dict[str, Any]:
    return {k: currency[k] for k in ("id", "name", "symbol", "decimal")}


def _totals(currency_id: str, grants: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and sums of some grants; what an expired or voided grant still held is neither
    remaining nor consumed."""
    granted = sum(int(g["amount"]) for g in grants)
    remaining = sum(int(g["remaining_amount"]) for g in grants if g["status"] in ("pending", "granted"))
    consumed = sum(int(g["amount"]) - int(g["remaining_amount"]) for g in grants)
    return {
        "currency_id": currency_id,
        "grant_count": len(grants),
        "total_granted": str(granted),
        "total_remaining": str(remaining),
        "total_consumed": str(consumed),
    }


@handles("getCreditGrantStats")
@credits.current
def stats(ctx: Context) -> dict[str, Any]:
    currency = _reported_currency(ctx)
    start, end = ctx.param("start_date"), ctx.param("end_date")
    if end < start:
        raise bad_request(f"end_date: {end} is before start_date {start}")
    shift = int(ctx.param("timezone_offset") or 0) * 60
    grants = [
        g
        for g in ctx.store.find(KIND, ctx.livemode, currency_id=currency["id"])
        if start <= credits.unix(g["created_at"]) <= end
    ]
    if ctx.param("category"):
        grants = [g for g in grants if g["category"] == ctx.param("category")]
    if ctx.param("granted_by"):
        by = lookups.plain_did(ctx.param("granted_by"))
        grants = [g for g in grants if lookups.plain_did(g.get("created_by") or "") == by]
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for g in grants:
        days[datetime.fromtimestamp(credits.unix(g["created_at"]) + shift, UTC).strftime("%Y-%m-%d")].append(g)
    return {
        "stats": {**_totals(currency["id"], grants), "currency": _brief(currency)},
        "daily_stats": [{"date": day, **_totals(currency["id"], rows)} for day, rows in sorted(days.items())],
    }
