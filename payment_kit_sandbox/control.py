"""A small client for the sandbox-only routes (`/sandbox/...`): what a payer's
wallet, a chain or time passing does on a real deployment.

    control = SandboxControl(base_url, api_key, livemode=False)
    control.complete_checkout(session.id, customer_did="z1...")
    control.advance_clock(days=31)

These routes exist only on the sandbox; the SDK (`payment_kit`) never calls them.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

__all__ = ["SandboxControl", "SandboxError"]


class SandboxError(Exception):
    """A sandbox-only route refused: `status` and the sandbox's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SandboxControl:
    def __init__(self, base_url: str, api_key: str, *, livemode: bool = False, timeout: float = 30.0) -> None:
        self.livemode = livemode
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout
        )

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """The raw answer of a sandbox-only route, refusals included (for tests that look at them)."""
        return self._http.post(path, params={"livemode": "true" if self.livemode else "false"}, json=body or {})

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> Any:
        params = {**(query or {}), "livemode": "true" if self.livemode else "false"}
        response = self._http.request(method, path, params=params, json=body or {})
        if response.is_error:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise SandboxError(response.status_code, message)
        return response.json()

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/sandbox/health")
        return result

    def complete_checkout(self, session_id: str, *, customer_did: str | None = None, **details: Any) -> dict[str, Any]:
        """Pay a checkout session as its customer's wallet would; answers the completed session."""
        body = {"customer_did": customer_did, **details} if customer_did else details
        result: dict[str, Any] = self._call("POST", f"/sandbox/checkout-sessions/{session_id}/complete", body)
        return result

    def advance_clock(self, *, seconds: int = 0, days: int = 0) -> dict[str, Any]:
        """Move the sandbox clock forward: renewals, trial ends and expiries fall due."""
        result: dict[str, Any] = self._call("POST", "/sandbox/clock/advance", {"seconds": seconds + days * 86400})
        return result

    def events(self, *, type: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """The events of this mode, newest first (as delivered to receivers), optionally of one type."""
        query = {k: v for k, v in (("type", type), ("limit", limit)) if v is not None}
        result: list[dict[str, Any]] = self._call("GET", "/sandbox/events", query=query)["list"]
        return result

    def event(self, event_id: str) -> dict[str, Any]:
        """One event by id, as delivered."""
        result: dict[str, Any] = self._call("GET", f"/sandbox/events/{event_id}")
        return result

    def resend_event(self, event_id: str, *, webhook_endpoint_id: str | None = None) -> dict[str, Any]:
        """Queue an event again for the endpoints subscribed to its type (or only the one named)."""
        body = {"webhook_endpoint_id": webhook_endpoint_id} if webhook_endpoint_id else {}
        result: dict[str, Any] = self._call("POST", f"/sandbox/events/{event_id}/resend", body)
        return result

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Any other sandbox-only route (see openapi/sandbox.yaml)."""
        return self._call(method, path, body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
