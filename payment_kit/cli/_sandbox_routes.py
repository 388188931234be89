"""The sandbox-only routes (`/sandbox/...`, openapi/sandbox.yaml) that `listen`, `trigger`, `events`
need, sent through the client's own transport: the same base URL, key, mode, deadlines, typed
errors and redaction as every API call.

`payment_kit_sandbox.control.SandboxControl` is the sandbox's own client for these routes, but the
command line must work with the base install, and one transport keeps one set of rules. The
sandbox keeps no idempotency keys for its own routes, so a write there is sent once, never retried
(moving the clock twice would be worse than failing)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .._client import PaymentKit
from .._errors import APIResponseValidationError, NotFoundError
from .._transport import Call
from ._output import EXIT_CONNECTION, CommandError

__all__ = ["SandboxRoutes"]


class SandboxRoutes:
    def __init__(self, client: PaymentKit) -> None:
        self._client = client

    def call(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None) -> Any:
        client = self._client
        params = {**(query or {}), "livemode": client.environments.get_live_mode()}
        kwargs: dict[str, Any] = {"method": method, "url": path, "params": params}
        if method != "GET":
            kwargs["json"] = body if body is not None else {}
        options = client._options if method == "GET" else client._options.merged(max_retries=0)
        response = client._transport.send(Call(kwargs, options, None))
        try:
            return response.json()
        except ValueError:
            raise APIResponseValidationError(response=response, reason="the body is not JSON") from None

    def require_sandbox(self, command: str) -> dict[str, Any]:
        """The sandbox's health (`now`, …); a `CommandError` when the server is no sandbox."""
        try:
            health: dict[str, Any] = self.call("GET", "/sandbox/health")
        except NotFoundError:
            where = self._client.base_url
            raise CommandError(
                f"{command} needs a PaymentKit sandbox, and {where} has no /sandbox/health: start one with "
                "`payment-kit sandbox` and point --base-url (or PAYMENT_KIT_BASE_URL) at it",
                EXIT_CONNECTION,
            ) from None
        return health

    def events(self, *, type: str | None = None, limit: int | None = None) -> dict[str, Any]:
        query = {key: value for key, value in (("type", type), ("limit", limit)) if value is not None}
        answer: dict[str, Any] = self.call("GET", "/sandbox/events", query=query)
        return answer

    def resend_event(self, event_id: str, webhook_endpoint_id: str | None = None) -> dict[str, Any]:
        body = {"webhook_endpoint_id": webhook_endpoint_id} if webhook_endpoint_id else {}
        answer: dict[str, Any] = self.call("POST", f"/sandbox/events/{quote(event_id, safe='')}/resend", body=body)
        return answer

    def complete_checkout(self, session_id: str, customer_did: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call(
            "POST",
            f"/sandbox/checkout-sessions/{quote(session_id, safe='')}/complete",
            body={"customer_did": customer_did},
        )
        return answer

    def advance_clock(self, seconds: int) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("POST", "/sandbox/clock/advance", body={"seconds": seconds})
        return answer

    def create_invoice(self, customer_id: str, price_id: str, *, pay: bool = False) -> dict[str, Any]:
        """A one-off invoice for one of the price: charged at once with `pay`, else left open, waiting
        on an unpaid payment intent."""
        body = {"customer_id": customer_id, "lines": [{"price_id": price_id, "quantity": 1}], "pay": pay}
        answer: dict[str, Any] = self.call("POST", "/sandbox/invoices", body=body)
        return answer

    def fail_payments(self, customer_id: str, fail: bool) -> dict[str, Any]:
        body = {"fail": fail, "reason": "payment-kit trigger"} if fail else {"fail": False}
        answer: dict[str, Any] = self.call(
            "POST", f"/sandbox/customers/{quote(customer_id, safe='')}/payment-failures", body=body
        )
        return answer
