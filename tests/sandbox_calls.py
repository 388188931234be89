"""Calling the sandbox-only routes (`/sandbox/...`) of the server under test, raw: for tests that
look at the answer (refusals included) rather than go through `SandboxControl`'s methods."""

from __future__ import annotations

from typing import Any

import httpx

from payment_kit_sandbox.control import SandboxControl

__all__ = ["sandbox_get", "sandbox_post"]


def sandbox_post(
    server: tuple[str, str], path: str, body: dict[str, Any] | None = None, *, livemode: bool = False
) -> httpx.Response:
    """POST `body` to a sandbox-only route of `server` (`(base_url, api_key)`); the answer as it came."""
    with SandboxControl(*server, livemode=livemode) as control:
        return control.post(path, body)


def sandbox_get(server: tuple[str, str], path: str, *, livemode: bool = False) -> httpx.Response:
    """GET a sandbox-only route of `server`; the answer as it came."""
    base_url, api_key = server
    return httpx.get(
        f"{base_url.rstrip('/')}{path}",
        params={"livemode": "true" if livemode else "false"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    )
