"""Subscriptions (`/api/subscriptions`): creation, the status transitions
(cancel, recover, pause, resume), lists and overdue invoices. Billing over
time lives in `engine/subscriptions.py`."""

from __future__ import annotations

from typing import Any, NoReturn

from .. import lookups
from ..context import Context, handles
from ..engine import subscriptions as engine
from ..list_queries import any_of_param, customer_condition, metadata_keep, page_of, stored_page

KIND = "subscription"
ORDERABLE = ("created_at", "updated_at", "current_period_start", "current_period_end", "start_date", "status")
SEARCHED = ("id", "description", "status", "customer_id", "currency_id")


def find(ctx: Context, subscription_id: str) -> dict[str, Any]:
    return ctx.get(KIND, subscription_id, "Subscription")


# -- create, read, update, delete ---------------------------------------------------------------


@handles("createSubscription")
def create(ctx: Context) -> dict[str, Any]:
    return lookups.expand_subscription(ctx, engine.new_subscription(ctx, ctx.body))


@handles("retrieveSubscription")
def retrieve(ctx: Context) -> dict[str, Any]:
    return lookups.expand_subscription(ctx, find(ctx, ctx.path["id"]))


@handles("updateSubscription")
def update(ctx: Context) -> dict[str, Any]:
    return engine.update_subscription(ctx, find(ctx, ctx.path["id"]), ctx.body)


@handles("deleteSubscription")
def delete(ctx: Context) -> dict[str, Any]:
    return engine.delete_subscription(ctx, find(ctx, ctx.path["id"]))


# -- lists ----------------------------------------------------------------------------------------


def _in_good_standing(sub: dict[str, Any]) -> bool:
    return sub["status"] in engine.GOOD_STANDING


def _page(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, Any]:
    first = _in_good_standing if ctx.param("activeFirst") else None
    return page_of(ctx, rows, orderable=ORDERABLE, expand=lambda s: lookups.expand_subscription(ctx, s), first=first)


@handles("listSubscriptions")
def list_(ctx: Context) -> dict[str, Any]:
    return stored_page(
        ctx,
        KIND,
        *any_of_param(ctx, "status"),
        *customer_condition(ctx),
        orderable=ORDERABLE,
        expand=lambda s: lookups.expand_subscription(ctx, s),
        keep=metadata_keep(ctx),
        first=_in_good_standing if ctx.param("activeFirst") else None,
    )


@handles("searchSubscriptions")
def search_(ctx: Context) -> dict[str, Any]:
    """Matches the subscription's own text fields and its customer's name, email and DID."""
    rows = ctx.store.all(KIND, ctx.livemode)
    needle = str(ctx.param("query") or "").lower()
    if needle:
        people = {c["id"]: c for c in ctx.store.all("customer", ctx.livemode)}

        def text(sub: dict[str, Any]) -> str:
            who = people.get(sub["customer_id"]) or {}
            fields = [sub.get(f) for f in SEARCHED] + [who.get(f) for f in ("name", "email", "did")]
            return " ".join(str(v) for v in fields if v).lower()

        rows = [s for s in rows if needle in text(s)]
    return _page(ctx, rows)


@handles("listSubscriptionOverdueInvoices")
def overdue_invoices(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    invoices = [
        i for i in ctx.store.find("invoice", ctx.livemode, subscription_id=sub["id"]) if lookups.overdue(ctx, i)
    ]
    return {"subscription": sub, "invoices": invoices, "summary": lookups.owed_by_currency(ctx, invoices)}


# -- transitions ----------------------------------------------------------------------------------


@handles("cancelSubscription")
def cancel(ctx: Context) -> dict[str, Any]:
    return engine.cancel(ctx, find(ctx, ctx.path["id"]), ctx.body)


@handles("recoverSubscription")
def recover(ctx: Context) -> dict[str, Any]:
    return engine.recover(ctx, find(ctx, ctx.path["id"]))


@handles("pauseSubscription")
def pause(ctx: Context) -> dict[str, Any]:
    sub = find(ctx, ctx.path["id"])
    return engine.pause(ctx, sub, ctx.body.get("behavior", "keep_as_draft"), ctx.body.get("resumes_at") or 0)


@handles("resumeSubscription")
def resume(ctx: Context) -> dict[str, Any]:
    return engine.resume_paused(ctx, find(ctx, ctx.path["id"]))


@handles("returnSubscriptionStake")
def return_stake(ctx: Context) -> NoReturn:
    engine.return_stake(find(ctx, ctx.path["id"]))
