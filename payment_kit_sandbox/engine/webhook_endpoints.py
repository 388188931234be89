"""Webhook endpoints: where events are POSTed (`engine.webhooks` delivers them).

An endpoint's URL is an absolute http or https URL with a host, as httpx takes it (no whitespace or
control characters: a CR/LF would otherwise reach the delivery, which must not fail for it), and
it subscribes to each event type once; its signing secret is made with it and shown only then. A
mode holds at most `MAX_PER_MODE` endpoints: the sandbox's own limit (Stripe's is the same), which
also bounds how many deliveries can be under way at once (one per endpoint).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import lifecycle
from .events import API_VERSION, EVENT_TYPES
from .webhooks import ATTEMPT, ENDPOINT, new_secret

__all__ = ["MAX_PER_MODE", "delete_endpoint", "new_endpoint", "update_endpoint", "url_problem"]

EDITABLE = ("url", "enabled_events", "description", "status", "metadata", "api_version")
MAX_PER_MODE = 16
_UNSEEN = {"\r": "a line break (CR)", "\n": "a line break (LF)", "\t": "a tab", " ": "a space"}


def url_problem(url: str) -> str | None:
    """Why `url` cannot receive deliveries, in a phrase; None when it can."""
    for char in url:
        if char in _UNSEEN or ord(char) < 0x20 or ord(char) == 0x7F:
            return f"it contains {_UNSEEN.get(char) or f'a control character (U+{ord(char):04X})'}"
    try:
        parsed = httpx.URL(url)
        port = urlsplit(url).port  # httpx leaves a port past 65535 to fail when connecting
    except (httpx.InvalidURL, ValueError) as exc:
        return f"it cannot be parsed ({exc})"
    if parsed.scheme not in ("http", "https"):
        return f"its scheme is {parsed.scheme!r}" if parsed.scheme else "it has no scheme (http:// or https://)"
    if not parsed.host:
        return "it has no host"
    if port == 0:
        return "its port is 0"
    return None


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """The writable fields of a body, with a usable URL and no repeated event types."""
    fields = {k: body[k] for k in EDITABLE if k in body}
    if "url" in fields:
        problem = url_problem(fields["url"])
        if problem:
            raise bad_request(f"url: {fields['url']!r} is not an http or https URL with a host: {problem}")
    if "enabled_events" in fields:
        fields["enabled_events"] = list(dict.fromkeys(fields["enabled_events"]))
        # PaymentKit takes any string here; the sandbox refuses what it would never send, so a
        # misspelt type is a 400 rather than an endpoint that silently never hears a thing.
        unknown = [t for t in fields["enabled_events"] if t != "*" and t not in EVENT_TYPES]
        if unknown:
            raise bad_request(
                f"enabled_events: {', '.join(repr(t) for t in unknown)} "
                f"{'is not an event type' if len(unknown) == 1 else 'are not event types'} the sandbox sends "
                "(the document's x-webhooks lists them; '*' subscribes to all)"
            )
    return fields


def new_endpoint(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """A new endpoint is enabled, on the sandbox's API version, with a fresh signing secret; a mode
    already holding `MAX_PER_MODE` endpoints takes no more."""
    fields = _checked(body)
    if len(ctx.store.all(ENDPOINT, ctx.livemode)) >= MAX_PER_MODE:
        mode = "live" if ctx.livemode else "test"
        raise bad_request(
            f"the sandbox holds at most {MAX_PER_MODE} webhook endpoints a mode, and {mode} mode has "
            f"{MAX_PER_MODE}: delete one (or update one to the new URL) first"
        )
    endpoint = ctx.stamp(
        {
            **skeleton(ctx.document, "WebhookEndpoint"),
            "api_version": API_VERSION,
            "description": "",
            "metadata": {},
            "status": "enabled",
            "created_via": "api",
            **fields,
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
