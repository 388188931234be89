"""Every sandbox-only route, its description in openapi/sandbox.yaml and its
`SandboxControl` method, held together: each method is called for real, the
request it sends is the route's, and the answer matches the documented schema."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sandbox_calls import sandbox_get

from payment_kit import PaymentKit
from payment_kit_sandbox.app import wire
from payment_kit_sandbox.control import SandboxControl
from payment_kit_sandbox.document import load_document
from payment_kit_sandbox.openapi_jsonschema import validator_for

pytestmark = pytest.mark.sandbox_only

OPENAPI = Path(__file__).parents[2] / "openapi"
SANDBOX_DOC = yaml.safe_load((OPENAPI / "sandbox.yaml").read_text())
API_DOC = yaml.safe_load((OPENAPI / "payment-kit.yaml").read_text())
URLS = {"success_url": "https://example.com/ok", "cancel_url": "https://example.com/no"}


def _local_refs(node: Any) -> Any:
    """sandbox.yaml's `./payment-kit.yaml#/components/...` references, as references into that document."""
    if isinstance(node, dict):
        return {k: (v.replace("./payment-kit.yaml#", "#") if k == "$ref" else _local_refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_local_refs(v) for v in node]
    return node


# Both documents' schemas in one place: sandbox.yaml's own (`TestClock`) beside PaymentKit's.
BOTH_DOCS = {
    **API_DOC,
    "components": {
        **API_DOC["components"],
        "schemas": {**API_DOC["components"]["schemas"], **_local_refs(SANDBOX_DOC["components"]["schemas"])},
    },
}


def documented_answer(method: str, path: str) -> Any:
    schema = SANDBOX_DOC["paths"][path][method.lower()]["responses"]["200"]["content"]["application/json"]["schema"]
    return validator_for(_local_refs(schema), BOTH_DOCS)


def route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")


@pytest.fixture
def control(server: tuple[str, str]) -> Iterator[tuple[SandboxControl, list[tuple[str, str]]]]:
    base_url, api_key = server
    sent: list[tuple[str, str]] = []
    with SandboxControl(base_url, api_key, livemode=False) as c:
        c._http.event_hooks["request"].append(lambda request: sent.append((request.method, request.url.path)))
        yield c, sent


def calls(client: PaymentKit, control: SandboxControl, tag: str) -> dict[tuple[str, str], Callable[[], Any]]:
    """One real call of each SandboxControl method, by the route it should reach."""
    product = client.products.create(name=f"Control {tag}", type="service")
    price = client.prices.create(product_id=product.id, unit_amount="0.001")
    did = f"did:abt:zctl{tag}"
    customer = client.customers.retrieve(did, create=True)
    link = client.payment_links.create(line_items=[{"price_id": price.id, "quantity": 1}])
    coupon = client.coupons.create(name=f"c{tag}", percent_off=10, duration="once").coupon
    code = client.promotion_codes.create(coupon_id=coupon.id, code=f"CTL{tag[:8]}".upper())

    def session() -> str:
        return client.checkout.sessions.create(
            mode="payment", line_items=[{"price_id": price.id, "quantity": 1}], **URLS
        ).id

    def open_invoice() -> str:
        return str(control.create_invoice(customer.id, [{"price_id": price.id}])["id"])

    def test_clock() -> str:
        return str(control.create_test_clock(name=f"control {tag}")["id"])

    return {
        ("GET", "/sandbox/health"): control.health,
        ("POST", "/sandbox/clock/advance"): lambda: control.advance_clock(seconds=1),
        ("POST", "/sandbox/test-clocks"): lambda: control.create_test_clock(frozen_time=1_900_000_000),
        ("GET", "/sandbox/test-clocks"): lambda: control.list_test_clocks(limit=2),
        ("GET", "/sandbox/test-clocks/{id}"): lambda: control.retrieve_test_clock(test_clock()),
        ("DELETE", "/sandbox/test-clocks/{id}"): lambda: control.delete_test_clock(test_clock()),
        ("POST", "/sandbox/test-clocks/{id}/advance"): lambda: control.advance_test_clock(test_clock(), days=1),
        ("POST", "/sandbox/checkout-sessions/{id}/complete"): lambda: control.complete_checkout(
            session(), customer_did=did
        ),
        ("POST", "/sandbox/invoices"): lambda: control.create_invoice(customer.id, [{"price_id": price.id}], pay=True),
        ("POST", "/sandbox/invoices/{id}/pay"): lambda: control.pay_invoice(open_invoice()),
        ("POST", "/sandbox/payment-links/{id}/open"): lambda: control.open_payment_link(link.id),
        ("POST", "/sandbox/promotion-codes/redeem"): lambda: control.redeem_promotion_code(code.code, customer.id),
        ("POST", "/sandbox/customers/{id}/payment-failures"): lambda: control.fail_payments(customer.id, fail=False),
        ("GET", "/sandbox/events"): lambda: control.events(type="product.created", limit=5),
        ("GET", "/sandbox/events/{id}"): lambda: control.event(control.events(limit=1)["list"][0]["id"]),
        ("POST", "/sandbox/events/{id}/resend"): lambda: control.resend_event(control.events(limit=1)["list"][0]["id"]),
    }


def test_each_route_has_a_control_method_whose_answer_matches_the_document(
    client: PaymentKit, control: tuple[SandboxControl, list[tuple[str, str]]], tag: str
) -> None:
    sandbox, sent = control
    routes = set(wire(load_document()).sandbox_routes)
    # The hosted checkout pages are HTML for people (tests/integration/test_hosted_pages.py), not control routes.
    documented = {
        (method.upper(), path)
        for path, item in SANDBOX_DOC["paths"].items()
        for method, node in item.items()
        if "application/json" in node["responses"].get("200", {}).get("content", {})
    }
    table = calls(client, sandbox, tag)
    assert routes == documented == set(table)
    for (method, path), call in sorted(table.items()):
        sent.clear()
        answer = call()
        assert sent and sent[-1][0] == method and route_pattern(path).match(sent[-1][1]), sent
        errors = sorted(documented_answer(method, path).iter_errors(answer), key=str)
        assert not errors, f"{method} {path} answered off its document: {errors[0].message}"


def test_the_clock_answers_counts_as_documented(control: tuple[SandboxControl, list[tuple[str, str]]]) -> None:
    sandbox, _ = control
    moved = sandbox.advance_clock(seconds=1)
    counts = {k: v for k, v in moved.items() if k not in ("now", "offset")}
    assert counts and all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()), moved
    assert {"checkout_sessions_expired", "scheduled_credit_grants", "credit_grants_expired"} <= set(counts)


def test_control_refusals_carry_the_status_and_message(control: tuple[SandboxControl, list[tuple[str, str]]]) -> None:
    sandbox, _ = control
    for call, status, message in (
        (lambda: sandbox.fail_payments("cus_missing"), 404, "Customer not found: cus_missing"),
        (lambda: sandbox.advance_clock(seconds=0), 400, "seconds: a positive whole number"),
        (lambda: sandbox.open_checkout_url("http://x/checkout/pay/cs_1"), 400, "not a payment link's checkout URL"),
    ):
        with pytest.raises(Exception) as refused:
            call()
        assert getattr(refused.value, "status", None) == status and message in str(refused.value)
    raw = sandbox.post("/sandbox/customers/cus_missing/payment-failures", {"fail": "yes"})
    assert (raw.status_code, raw.json()) == (400, {"error": "fail: true or false"})


def test_sandbox_route_refusals_name_the_problem(client: PaymentKit, server: tuple[str, str], tag: str) -> None:
    from payment_kit_sandbox.sandbox_routes import MAX_CLOCK_OFFSET

    product = client.products.create(name=f"Resent {tag}", type="service")
    listed = sandbox_get(server, "/sandbox/events?type=product.created&limit=100").json()["list"]
    [event] = [e for e in listed if e["data"]["object"]["id"] == product.id]
    base_url, key = server
    refusals = [
        ("POST", "/sandbox/clock/advance", {"content": b"[1]"}, 400, "the request body must be a JSON object"),
        ("POST", "/sandbox/clock/advance?livemode=maybe", {"json": {"seconds": 1}}, 400, "not 'maybe'"),
        ("POST", "/sandbox/clock/advance", {"json": {"seconds": MAX_CLOCK_OFFSET + 1}}, 400, "at most"),
        (
            "GET",
            "/sandbox/events?livemode=false&limit=0",
            {},
            400,
            "limit: a whole number from 1 to 100 is required, not '0'",
        ),
        ("GET", f"/sandbox/events/evt_missing{tag}", {}, 404, f"evt_missing{tag}"),
        (
            "POST",
            f"/sandbox/events/{event['id']}/resend?livemode=false",
            {"json": {"webhook_endpoint_id": 7}},
            400,
            "(we_...)",
        ),
        (
            "POST",
            f"/sandbox/events/{event['id']}/resend?livemode=false",
            {"json": {"webhook_endpoint_id": f"we_{tag}"}},
            400,
            f"we_{tag} is not an enabled endpoint subscribed to product.created",
        ),
    ]
    customer = client.customers.retrieve(f"did:abt:zrefused{tag}", create=True)
    failures = f"/sandbox/customers/{customer.id}/payment-failures?livemode=false"
    redeem = "/sandbox/promotion-codes/redeem?livemode=false"
    invoices = "/sandbox/invoices?livemode=false"
    refusals += [
        ("POST", failures, {"json": {"fails": True}}, 400, "fails: not a field of this sandbox helper (fail, reason)"),
        ("POST", failures, {"json": {"reason": " "}}, 400, "reason: a non-empty string is required"),
        (
            "POST",
            redeem,
            {"json": {"code": "X", "customer_id": customer.id, "coupon": "c"}},
            400,
            "coupon: not a field",
        ),
        (
            "POST",
            redeem,
            {"json": {"code": "", "customer_id": customer.id}},
            400,
            "code: a non-empty string is required",
        ),
        (
            "POST",
            invoices,
            {"json": {"customer_id": 7, "lines": []}},
            400,
            "customer_id: a customer id or DID is required",
        ),
        (
            "POST",
            invoices,
            {"json": {"customer_id": customer.id, "lines": [{"quantity": 1}]}},
            400,
            "lines[0].price_id",
        ),
        (
            "POST",
            invoices,
            {"json": {"customer_id": customer.id, "lines": [{"price_id": "price_x", "qty": 1}]}},
            400,
            "lines[0]: unknown field(s) qty",
        ),
    ]
    now = sandbox_get(server, "/sandbox/health").json()["now"]
    for method, path, send, status, says in refusals:
        answer = httpx.request(method, f"{base_url}{path}", headers={"Authorization": f"Bearer {key}"}, **send)
        assert (answer.status_code, says in answer.json()["error"]) == (status, True), (path, answer.text)
    assert sandbox_get(server, "/sandbox/health").json()["now"] - now < 60  # the clock did not move
    assert sandbox_get(server, f"/sandbox/events/{event['id']}").json()["pending_webhooks"] == event["pending_webhooks"]
    assert client.invoices.list(customer_id=customer.id).count == 0
    assert client.customers.retrieve(customer.id).id == customer.id
