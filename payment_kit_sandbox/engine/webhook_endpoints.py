"""Webhook endpoints: where events are POSTed (`engine.webhooks` delivers them).
An endpoint's URL is http or https with a host, and it subscribes to each event
type once; its signing secret is made with it and shown only then."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import lifecycle
from .events import API_VERSION
from .webhooks import ATTEMPT, ENDPOINT, new_secret

__all__ = ["delete_endpoint", "new_endpoint", "update_endpoint"]

EDITABLE = ("url", "enabled_events", "description", "status", "metadata", "api_version")


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


def new_endpoint(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A new endpoint is enabled, on the sandbox's API version, with a fresh signing secret."""
    endpoint = ctx.stamp(
        {
            **skeleton(ctx.document, "WebhookEndpoint"),
            "api_version": API_VERSION,
            "description": "",
            "metadata": {},
            "status": "enabled",
            "created_via": "api",
            **_checked(body),
            "secret": new_secret(),
        },
        "we",
    )
    return lifecycle.added(ctx, ENDPOINT, endpoint)


def update_endpoint(ctx: Context, endpoint: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """An update is checked as a create is; the secret stays."""
    endpoint.update(_checked(body))
    return lifecycle.changed(ctx, ENDPOINT, endpoint)


def delete_endpoint(ctx: Context, endpoint: dict[str, Any]) -> dict[str, Any]:
    """An endpoint goes with its attempts: they are only ever shown through it."""
    # Queued retries find the endpoint gone and stop.
    for attempt in ctx.store.find(ATTEMPT, ctx.livemode, webhook_endpoint_id=endpoint["id"]):
        ctx.store.delete(ATTEMPT, attempt["id"])
    return lifecycle.removed(ctx, ENDPOINT, endpoint)
