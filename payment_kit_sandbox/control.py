"""A small client for the sandbox-only routes (`/sandbox/...`): what a payer's
wallet, a chain or time passing does on a real deployment.

    control = SandboxControl(base_url, api_key, livemode=False)
    control.complete_checkout(session.id, customer_did="z1...")
    control.advance_clock(days=31)

These routes exist only on the sandbox; the SDK (`payment_kit`) never calls them.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any

import httpx

__all__ = ["TEST_CLOCK_HEADER", "SandboxControl", "SandboxError"]

TEST_CLOCK_HEADER = "X-Sandbox-Test-Clock"
"""The header that puts a request, and what it makes, on a test clock (see `create_test_clock`)."""


class SandboxError(Exception):
    """A sandbox-only route refused: `status` and the sandbox's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SandboxControl:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        livemode: bool = False,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`transport`: where requests go instead of the network (payment_kit.testing's in-process sandbox)."""
        self.livemode = livemode
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
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
        """Move the sandbox clock forward: renewals, trial ends, credit schedules and expiries fall due.
        Answers `{now, offset, <what happened>: count, …}`."""
        result: dict[str, Any] = self._call("POST", "/sandbox/clock/advance", {"seconds": seconds + days * 86400})
        return result

    # -- test clocks: time that moves only for the objects made on it ---------------------------

    def create_test_clock(self, *, frozen_time: int | None = None, name: str | None = None) -> dict[str, Any]:
        """A test clock standing at `frozen_time` (Unix seconds; default now). Requests that send
        `test_clock_header(clock["id"])` work at its time, and what they make (the customer first)
        belongs to it: only `advance_test_clock` moves those objects, and nobody else's."""
        body = {k: v for k, v in (("frozen_time", frozen_time), ("name", name)) if v is not None}
        result: dict[str, Any] = self._call("POST", "/sandbox/test-clocks", body)
        return result

    def retrieve_test_clock(self, clock_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/sandbox/test-clocks/{clock_id}")
        return result

    def list_test_clocks(self, *, limit: int | None = None, starting_after: str | None = None) -> dict[str, Any]:
        """`{count, list, has_more}`: one page of the test clocks, newest first."""
        query = {k: v for k, v in (("limit", limit), ("starting_after", starting_after)) if v is not None}
        result: dict[str, Any] = self._call("GET", "/sandbox/test-clocks", query=query)
        return result

    def delete_test_clock(self, clock_id: str) -> dict[str, Any]:
        """Delete a clock; its objects stay, frozen at its time (writes for them are then refused)."""
        result: dict[str, Any] = self._call("DELETE", f"/sandbox/test-clocks/{clock_id}")
        return result

    def advance_test_clock(
        self, clock_id: str, *, days: int | None = None, seconds: int | None = None, to: int | None = None
    ) -> dict[str, Any]:
        """Move a test clock forward by `days` or `seconds`, or `to` a later time (exactly one): renewals,
        trial ends, expiries and scheduled grants fall due for its objects alone. Answers the clock,
        with `previous_frozen_time` and `summary` (counts of what happened)."""
        body = {k: v for k, v in (("days", days), ("seconds", seconds), ("to", to)) if v is not None}
        result: dict[str, Any] = self._call("POST", f"/sandbox/test-clocks/{clock_id}/advance", body)
        return result

    @staticmethod
    def test_clock_header(clock_id: str) -> dict[str, str]:
        """The header putting a client's requests on a clock: ``PaymentKit(default_headers=...)`` or
        ``client.with_options(default_headers=...)``."""
        return {TEST_CLOCK_HEADER: clock_id}

    def events(
        self, *, type: str | None = None, limit: int | None = None, starting_after: str | None = None
    ) -> dict[str, Any]:
        """`{count, list, has_more}`: one page (up to `limit`, at most 100) of the events of this mode,
        newest first (as delivered to receivers), optionally of one type; `starting_after` (the last
        id of the page before) gives the next page. `iter_events` walks every page."""
        query = {
            k: v for k, v in (("type", type), ("limit", limit), ("starting_after", starting_after)) if v is not None
        }
        result: dict[str, Any] = self._call("GET", "/sandbox/events", query=query)
        return result

    def iter_events(self, *, type: str | None = None, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every event of this mode (optionally of one type), newest first, fetched a page at a time."""
        after: str | None = None
        while True:
            page = self.events(type=type, limit=page_size, starting_after=after)
            yield from page["list"]
            if not page["has_more"] or not page["list"]:
                return
            after = page["list"][-1]["id"]

    def event(self, event_id: str) -> dict[str, Any]:
        """One event by id, as delivered."""
        result: dict[str, Any] = self._call("GET", f"/sandbox/events/{event_id}")
        return result

    def resend_event(self, event_id: str, *, webhook_endpoint_id: str | None = None) -> dict[str, Any]:
        """Queue an event again for the endpoints subscribed to its type (or only the one named)."""
        body = {"webhook_endpoint_id": webhook_endpoint_id} if webhook_endpoint_id else {}
        result: dict[str, Any] = self._call("POST", f"/sandbox/events/{event_id}/resend", body)
        return result

    def create_invoice(
        self,
        customer_id: str,
        lines: list[dict[str, Any]],
        *,
        pay: bool = False,
        currency_id: str | None = None,
        due_date: int | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Raise a one-off (`manual`) invoice from `[{price_id, quantity}]` (a price id or lookup key);
        `pay=True` charges it at once. Paying for credit packs grants their credit."""
        body: dict[str, Any] = {"customer_id": customer_id, "lines": lines, "pay": pay}
        optional = {"currency_id": currency_id, "due_date": due_date, "description": description, "metadata": metadata}
        body.update({k: v for k, v in optional.items() if v is not None})
        result: dict[str, Any] = self._call("POST", "/sandbox/invoices", body)
        return result

    def pay_invoice(self, invoice_id: str) -> dict[str, Any]:
        """Pay an open invoice in full as the customer's wallet would; answers the paid invoice."""
        result: dict[str, Any] = self._call("POST", f"/sandbox/invoices/{invoice_id}/pay")
        return result

    def open_payment_link(
        self, link: str, *, customer_did: str | None = None, client_reference_id: str | None = None
    ) -> dict[str, Any]:
        """Open a checkout session from a payment link (by `plink_` id or `lookup_key`), as its page does."""
        body = {
            k: v for k, v in {"customer_did": customer_did, "client_reference_id": client_reference_id}.items() if v
        }
        result: dict[str, Any] = self._call("POST", f"/sandbox/payment-links/{link}/open", body)
        return result

    def open_checkout_url(self, url: str, *, customer_did: str | None = None) -> dict[str, Any]:
        """Open a payment link's `checkout_url` (`…/checkout/pay/plink_…`, as a recharge config gives it)
        the way a visit to it does; answers the new checkout session."""
        target = url.rstrip("/").rpartition("/")[2]
        if not target.startswith("plink_"):
            raise SandboxError(400, f"{url} is not a payment link's checkout URL (…/checkout/pay/plink_…)")
        return self.open_payment_link(target, customer_did=customer_did)

    def redeem_promotion_code(
        self, code: str, customer_id: str, *, subscription_id: str | None = None
    ) -> dict[str, Any]:
        """Redeem a promotion code for a customer as paying with it would; answers `{coupon, promotion_code}`."""
        body = {"code": code, "customer_id": customer_id}
        if subscription_id:
            body["subscription_id"] = subscription_id
        result: dict[str, Any] = self._call("POST", "/sandbox/promotion-codes/redeem", body)
        return result

    def fail_payments(self, customer_id: str, *, fail: bool = True, reason: str | None = None) -> dict[str, Any]:
        """Mark a customer's payments to be declined (`fail=False`: to succeed again); see openapi/sandbox.yaml
        for what a declined payment does. Answers `{customer_id, failing, reason}`."""
        body: dict[str, Any] = {"fail": fail}
        if reason is not None:
            body["reason"] = reason
        result: dict[str, Any] = self._call("POST", f"/sandbox/customers/{customer_id}/payment-failures", body)
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
