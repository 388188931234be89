"""Credit transactions (`/api/credit-transactions`): the read-only ledger of
credit drawn from grants, one row per grant a meter event drew on."""

from __future__ import annotations

from typing import Any

from .. import lookups
from ..context import Context, handles, iso
from ..database import Condition, OneOf
from ..engine import credits
from ..list_queries import created_between, search_keep, stored_page

KIND = "credit_transaction"


def expand(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    grant = credits.joined(ctx, "credit_grant", row["credit_grant_id"], "CreditGrant") or {}
    currency = credits.joined(ctx, "payment_currency", row.get("currency_id") or grant.get("currency_id"))
    return {
        **(credits.public(KIND, row) or {}),
        "object": "credit_transaction",
        "customer": credits.joined(ctx, "customer", row["customer_id"], "Customer"),
        "paymentCurrency": currency or credits.joined(ctx, "payment_currency", None, "PaymentCurrency"),
        "paymentMethod": credits.joined(ctx, "payment_method", (currency or {}).get("payment_method_id")),
        "creditGrant": {**grant, "paymentCurrency": currency},
        "meter": credits.joined(ctx, "meter", row.get("meter_id")),
        "subscription": credits.joined(ctx, "subscription", row.get("subscription_id")),
        "meterEvent": credits.public("meter_event", credits.joined(ctx, "meter_event", row.get("meter_event_id"))),
    }


def _filters(ctx: Context) -> tuple[list[Condition], dict[str, Any]]:
    """The filters both the list and the summary take, as the store runs them in SQL."""
    equals = {name: ctx.param(name) for name in ("subscription_id", "credit_grant_id", "source", "currency_id")}
    equals = {name: value for name, value in equals.items() if value is not None}
    conditions: list[Condition] = []
    customer_id = lookups.customer_id_param(ctx)
    if customer_id:
        equals["customer_id"] = customer_id
    if ctx.param("meter_id"):
        meter = lookups.meter_by_key(ctx, ctx.param("meter_id"))
        conditions.append(OneOf("meter_id", (meter["id"],) if meter is not None else ()))
    conditions += created_between(ctx.param("start"), ctx.param("end"))
    return conditions, equals


def _matching(ctx: Context) -> list[dict[str, Any]]:
    """Rows matching the filters both the list and the summary take."""
    conditions, equals = _filters(ctx)
    return ctx.store.find(KIND, ctx.livemode, *conditions, **equals)


@handles("retrieveCreditTransaction")
@credits.current
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Credit transaction"))


@handles("listCreditTransactions")
@credits.current
def list_(ctx: Context) -> dict[str, Any]:
    fields = ("id", "description", "meter_event_name", "source", "customer_id", "credit_grant_id")
    conditions, equals = _filters(ctx)
    keep = search_keep(ctx, fields, param="q")
    return stored_page(ctx, KIND, *conditions, expand=lambda r: expand(ctx, r), keep=keep, **equals)


@handles("getCreditTransactionSummary")
@credits.current
def summary(ctx: Context) -> dict[str, Any]:
    rows = _matching(ctx)
    meter = lookups.meter_by_key(ctx, ctx.param("meter_id")) if ctx.param("meter_id") else None
    start, end = ctx.param("start"), ctx.param("end")
    return {
        "total_quantity": credits.decimal_sum(r["quantity"] for r in rows),
        "total_credit_amount": str(sum(int(r["credit_amount"]) for r in rows)),
        "transaction_count": len(rows),
        "filters": {
            "customer_id": lookups.customer_id_param(ctx),
            "subscription_id": ctx.param("subscription_id"),
            "meter_event_name": meter["event_name"] if meter else None,
            "meter_id": ctx.param("meter_id"),
            "currency_id": ctx.param("currency_id"),
            "start_time": iso(start) if start is not None else None,
            "end_time": iso(end) if end is not None else None,
        },
    }
