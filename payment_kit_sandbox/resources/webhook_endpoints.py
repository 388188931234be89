"""Webhook endpoints (`/api/webhook-endpoints`): where events are POSTed.

Delivery itself lives in `engine.webhooks`; here are the endpoints and the
attempts they show.
"""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..engine import webhook_endpoints
from ..engine.webhooks import ATTEMPT, ENDPOINT, EVENT
from ..list_queries import stored_page

KIND = ENDPOINT
ATTEMPTS_SHOWN = 50  # the newest attempts an endpoint answers with


def public(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The endpoint as answered after its creation: the signing secret is shown once, when made."""
    return {k: v for k, v in endpoint.items() if k != "secret"}


def expand(ctx: Context, endpoint: dict[str, Any]) -> dict[str, Any]:
    """The endpoint with its newest attempts, each with its event and endpoint."""
    endpoint = public(endpoint)
    attempts = ctx.store.find(ATTEMPT, ctx.livemode, webhook_endpoint_id=endpoint["id"])
    shown = []
    for attempt in reversed(attempts[-ATTEMPTS_SHOWN:]):
        event = ctx.store.get(EVENT, attempt["event_id"], ctx.livemode)
        if event is not None:
            shown.append({**attempt, "object": "webhook_attempt", "event": event, "endpoint": endpoint})
    return {**endpoint, "object": "webhook_endpoint", "attempts": shown}


@handles("createWebhookEndpoint")
def create(ctx: Context) -> dict[str, Any]:
    return webhook_endpoints.new_endpoint(ctx, ctx.body)


@handles("retrieveWebhookEndpoint")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Webhook endpoint"))


@handles("updateWebhookEndpoint")
def update(ctx: Context) -> dict[str, Any]:
    endpoint = ctx.get(KIND, ctx.path["id"], "Webhook endpoint")
    return public(webhook_endpoints.update_endpoint(ctx, endpoint, ctx.body))


@handles("deleteWebhookEndpoint")
def delete(ctx: Context) -> dict[str, Any]:
    return public(webhook_endpoints.delete_endpoint(ctx, ctx.get(KIND, ctx.path["id"], "Webhook endpoint")))


@handles("listWebhookEndpoints")
def list_(ctx: Context) -> dict[str, Any]:
    return stored_page(
        ctx, KIND, orderable=("created_at", "updated_at", "url", "status"), expand=lambda e: expand(ctx, e)
    )
