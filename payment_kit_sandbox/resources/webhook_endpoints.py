"""Webhook endpoints (`/api/webhook-endpoints`): where events are POSTed.

Delivery itself lives in `engine.webhooks`; here are the endpoints and the
attempts they show.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..context import Context, handles
from ..engine.events import API_VERSION
from ..engine.webhooks import ATTEMPT, ENDPOINT, EVENT, new_secret
from ..list_queries import page_of
from ..refusals import bad_request
from ..skeletons import skeleton

KIND = ENDPOINT
EDITABLE = ("url", "enabled_events", "description", "status", "metadata", "api_version")
ATTEMPTS_SHOWN = 50  # the newest attempts an endpoint answers with


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """The writable fields of a body, with a usable URL and no repeated event types."""
    fields = {k: body[k] for k in EDITABLE if k in body}
    if "url" in fields:
        url = fields["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request(f"url: {url!r} is not an http or https URL with a host")
    if "enabled_events" in fields:
        fields["enabled_events"] = list(dict.fromkeys(fields["enabled_events"]))
    return fields


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
    endpoint = ctx.stamp(
        {
            **skeleton(ctx.document, "WebhookEndpoint"),
            "api_version": API_VERSION,
            "description": "",
            "metadata": {},
            "status": "enabled",
            "created_via": "api",
            **_checked(ctx.body),
            "secret": new_secret(),
        },
        "we",
    )
    return ctx.store.insert(KIND, endpoint)


@handles("retrieveWebhookEndpoint")
def retrieve(ctx: Context) -> dict[str, Any]:
    return expand(ctx, ctx.get(KIND, ctx.path["id"], "Webhook endpoint"))


@handles("updateWebhookEndpoint")
def update(ctx: Context) -> dict[str, Any]:
    endpoint = ctx.get(KIND, ctx.path["id"], "Webhook endpoint")
    endpoint.update(_checked(ctx.body))
    return public(ctx.store.save(KIND, ctx.touch(endpoint)))


@handles("deleteWebhookEndpoint")
def delete(ctx: Context) -> dict[str, Any]:
    endpoint = ctx.get(KIND, ctx.path["id"], "Webhook endpoint")
    # Its attempts are only ever shown through it; queued retries find it gone and stop.
    for attempt in ctx.store.find(ATTEMPT, ctx.livemode, webhook_endpoint_id=endpoint["id"]):
        ctx.store.delete(ATTEMPT, attempt["id"])
    ctx.store.delete(KIND, endpoint["id"])
    return public(endpoint)


@handles("listWebhookEndpoints")
def list_(ctx: Context) -> dict[str, Any]:
    return page_of(
        ctx,
        ctx.store.all(KIND, ctx.livemode),
        orderable=("created_at", "updated_at", "url", "status"),
        expand=lambda e: expand(ctx, e),
    )
