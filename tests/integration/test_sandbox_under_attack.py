"""The sandbox under attack: requests a careless or hostile client (or the sandbox's own webhooks,
aimed back at it) sends to its hosted pages, its idempotency keys, its money fields, its headers and
its connections. Each answers 4xx with a message naming the problem (never a 500, never a silent
wrong answer), stores nothing, and leaves the keep-alive connection usable: most requests here go
over one connection, and `same_connection` checks it was never dropped."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from stored_rows import stored_rows

from payment_kit_sandbox import body_limits
from payment_kit_sandbox.app import SandboxConfig, wire
from payment_kit_sandbox.document import load_document
from payment_kit_sandbox.engine import checkout, webhooks
from payment_kit_sandbox.engine.money import MAX_AMOUNT_DIGITS, MAX_UNITS
from payment_kit_sandbox.server import DeadlineHTTP, RunningSandbox, ServerTimeouts, start_in_thread, uvicorn_settings

pytestmark = pytest.mark.sandbox_only  # a sandbox of its own, its store read directly


@pytest.fixture(scope="module")
def http(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """One keep-alive connection for the module's requests (a pool of one: a dropped connection shows)."""
    with httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        limits=httpx.Limits(max_connections=1),
        timeout=30,
    ) as client:
        yield client


@pytest.fixture
def same_connection(http: httpx.Client) -> Iterator[None]:
    """The test's requests, hostile ones included, all went over the connection it started on."""
    first = local_address(http.get("/sandbox/health"))
    yield
    assert local_address(http.get("/sandbox/health")) == first, "the keep-alive connection was dropped"


def local_address(answer: httpx.Response) -> Any:
    return answer.extensions["network_stream"].get_extra_info("client_addr")


def made(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(path, json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def a_price(http: httpx.Client, unit_amount: str = "1") -> dict[str, Any]:
    product = made(http, "/api/products", {"name": "Attacked", "type": "service"})
    return made(http, "/api/prices", {"product_id": product["id"], "unit_amount": unit_amount})


def a_session(http: httpx.Client, **extra: Any) -> dict[str, Any]:
    price = a_price(http)
    body = {"line_items": [{"price_id": price["id"], "quantity": 1}], "success_url": "http://127.0.0.1:9/done"}
    return made(http, "/api/checkout-sessions", {**body, **extra})


def status_of(http: httpx.Client, session_id: str) -> str:
    return str(http.get(f"/api/checkout-sessions/{session_id}").json()["status"])


def refused(answer: httpx.Response, status: int, says: str) -> None:
    text = answer.json()["error"] if "json" in answer.headers.get("content-type", "") else answer.text
    assert (answer.status_code, says in text) == (status, True), answer.text


# -- 6. the checkout page's POST takes only its own form ------------------------------------------

PAYING_TEXT = "x&action=pay&customer_did=zAttacker&promotion_code=&y="


def page_token(http: httpx.Client, session_id: str) -> str:
    found = re.search(r'name=token value="([0-9a-f]+)"', http.get(f"/checkout/pay/{session_id}").text)
    assert found, "the page's form carries no token"
    return found.group(1)


def test_a_body_that_is_not_a_form_is_415_and_pays_nothing(http: httpx.Client, same_connection: None) -> None:
    session = a_session(http)
    page = f"/checkout/pay/{session['id']}"
    token = page_token(http, session["id"])
    for content_type in ("application/json", "text/plain", "multipart/form-data; boundary=x", None):
        # What the page once read as a form whatever its type: a JSON body whose text holds `&action=pay&...`.
        body = json.dumps({"description": PAYING_TEXT + f"&token={token}&"}).encode()
        headers = {"Content-Type": content_type} if content_type else {}
        answer = http.post(page, content=body, headers=headers)
        refused(answer, 415, "application/x-www-form-urlencoded")
        assert "text/html" in answer.headers["content-type"]
    assert status_of(http, session["id"]) == "open"


def test_a_form_without_the_pages_own_token_is_403_and_pays_nothing(http: httpx.Client, same_connection: None) -> None:
    session, other = a_session(http), a_session(http)
    page = f"/checkout/pay/{session['id']}"
    paying = {"action": "pay", "customer_did": "zAttacker"}
    for form in (paying, {**paying, "token": ""}, {**paying, "token": page_token(http, other["id"])}):
        refused(http.post(page, data=form), 403, "nothing was paid")
    assert status_of(http, session["id"]) == "open"
    # The page's own form, with its token, is answered as before (declining leaves for cancel_url).
    declined = http.post(page, data={"action": "decline", "token": page_token(http, session["id"])})
    assert declined.status_code == 200 and "Nothing was paid" in declined.text
    paid = http.post(page, data={**paying, "token": page_token(http, session["id"])})
    assert paid.status_code == 303 and paid.headers["location"] == "http://127.0.0.1:9/done"
    assert status_of(http, session["id"]) == "complete"


def test_the_sandboxs_own_event_delivered_to_the_checkout_page_pays_nothing(http: httpx.Client) -> None:
    """The attack as it was found: a webhook endpoint registered at the checkout page's URL, and a
    product whose description reads as a paying form. The delivery is sent here as the sandbox's
    webhook worker sends it (the same body and headers), rather than by registering the endpoint:
    the worker's client keeps its connection to the page open after the sandbox stops."""
    session = a_session(http)
    bait = made(http, "/api/products", {"name": "Bait", "type": "service", "description": PAYING_TEXT})
    events = http.get("/sandbox/events", params={"type": "product.created", "limit": 5}).json()["list"]
    [event] = [e for e in events if e["data"]["object"]["id"] == bait["id"]]
    assert parse_qs(webhooks.body_of(event).decode())["action"] == ["pay"]  # read as a form, it pays
    delivery = {
        "Content-Type": "application/json",
        "User-Agent": "PaymentKit-Sandbox-Webhooks",
        "webhook-id": event["id"],
    }
    answer = http.post(f"/checkout/pay/{session['id']}", content=webhooks.body_of(event), headers=delivery)
    refused(answer, 415, "application/x-www-form-urlencoded")
    answer = http.post(
        f"/checkout/pay/{session['id']}",
        content=webhooks.body_of(event),
        headers={**delivery, "Content-Type": "application/x-www-form-urlencoded"},
    )
    refused(answer, 403, "nothing was paid")
    assert status_of(http, session["id"]) == "open"


# -- 7. an Idempotency-Key names one whole request ------------------------------------------------


def test_an_idempotency_key_reused_for_another_object_path_query_or_method_is_refused(
    sandbox: RunningSandbox, http: httpx.Client, same_connection: None
) -> None:
    p1, p2, p3 = (made(http, "/api/products", {"name": f"p{n}", "type": "service"}) for n in (1, 2, 3))
    renamed = {"name": "renamed"}
    first = http.put(f"/api/products/{p1['id']}", json=renamed, headers={"Idempotency-Key": "put-1"})
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    again = http.put(f"/api/products/{p1['id']}", json=renamed, headers={"Idempotency-Key": "put-1"})
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()

    before = stored_rows(sandbox.app)
    for method, path, body in (
        ("PUT", f"/api/products/{p2['id']}", renamed),  # another object
        ("PUT", f"/api/products/{p1['id']}?livemode=true", renamed),  # another query (the same mode)
        ("DELETE", f"/api/products/{p1['id']}", None),  # another method (a DELETE takes no body)
    ):
        answer = http.request(method, path, json=body, headers={"Idempotency-Key": "put-1"})
        refused(answer, 400, f"'put-1' was already used for a different request (PUT /api/products/{p1['id']})")
        assert "idempotent-replayed" not in answer.headers
    assert stored_rows(sandbox.app) == before
    assert http.get(f"/api/products/{p2['id']}").json()["name"] == "p2"

    deleted = http.delete(f"/api/products/{p3['id']}", headers={"Idempotency-Key": "delete-1"})
    assert deleted.status_code == 200
    refused(
        http.delete(f"/api/products/{p2['id']}", headers={"Idempotency-Key": "delete-1"}),
        400,
        "was already used for a different request",
    )
    assert http.get(f"/api/products/{p2['id']}").status_code == 200  # still there


# -- 8. money is never rounded -------------------------------------------------------------------


@pytest.fixture(scope="module")
def decimals(http: httpx.Client) -> int:
    """The decimal places of the currency a new price gets by default."""
    price = a_price(http)
    currency = http.get(f"/api/payment-currencies/{price['currency_id']}").json()
    return int(currency["decimal"])


def test_amounts_are_stored_exactly_never_rounded(http: httpx.Client, decimals: int, same_connection: None) -> None:
    long = "1234567890123456789012345678901"  # 31 digits: more than Decimal's default 28
    assert a_price(http, long)["unit_amount"] == long + "0" * decimals
    tiny = "0." + "0" * (decimals - 1) + "1"
    assert a_price(http, "12345678901234567890123456789" + tiny[1:])["unit_amount"] == (
        "12345678901234567890123456789" + "0" * (decimals - 1) + "1"
    )
    most = str(MAX_UNITS // 10**decimals)  # the largest whole amount within the limit
    assert int(a_price(http, most)["unit_amount"]) == int(most) * 10**decimals


OVER_THE_UNITS_LIMIT = "the smallest whole amount over 2^256 - 1 units"  # depends on the currency's decimals


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        ("1." + "0" * 30 + "1", "has more than"),  # once accepted as 1
        ("1\n", "does not match"),  # `$` matched before the newline
        (" 1", "does not match"),
        ("1e3", "does not match"),
        ("+1", "does not match"),
        ("1_000", "does not match"),
        ("\u0661", "does not match"),  # ARABIC-INDIC DIGIT ONE, a digit to int() and Decimal()
        ("9" * 4400, f"digits is over the sandbox's limit of {MAX_AMOUNT_DIGITS}"),  # once a 500
        ("9" * (MAX_AMOUNT_DIGITS + 1), f"{MAX_AMOUNT_DIGITS + 1} digits is over the sandbox's limit"),
        (OVER_THE_UNITS_LIMIT, "over the sandbox's limit of 2^256 - 1"),
    ],
    ids=lambda value: value[:12].encode("unicode_escape").decode() if isinstance(value, str) else value,
)
def test_an_amount_the_sandbox_cannot_hold_exactly_is_a_400(
    sandbox: RunningSandbox, http: httpx.Client, decimals: int, same_connection: None, amount: str, says: str
) -> None:
    if amount == OVER_THE_UNITS_LIMIT:
        amount = str(MAX_UNITS // 10**decimals + 1)
    product = made(http, "/api/products", {"name": "priced", "type": "service"})
    before = stored_rows(sandbox.app)
    refused(http.post("/api/prices", json={"product_id": product["id"], "unit_amount": amount}), 400, says)
    assert stored_rows(sandbox.app) == before


def test_patterns_match_the_whole_string_in_queries_too(http: httpx.Client, same_connection: None) -> None:
    refused(http.get("/api/invoices", params={"status": "paid\n"}), 400, "query parameter 'status'")
    refused(http.get("/api/products", params={"page": "\u0661"}), 400, "must be a integer")
    assert http.get("/api/invoices", params={"status": "paid"}).status_code == 200


def test_a_payment_link_whose_total_no_payment_could_move_is_refused_and_its_page_never_fails(
    sandbox: RunningSandbox, http: httpx.Client, decimals: int, same_connection: None
) -> None:
    price = a_price(http, str(MAX_UNITS // 10**decimals // 2 + 1))
    before = stored_rows(sandbox.app)
    line = {"price_id": price["id"], "quantity": 2}
    refused(http.post("/api/payment-links", json={"line_items": [line]}), 400, "line_items[0]: the amount of the line")
    refused(
        http.post("/api/checkout-sessions", json={"line_items": [line], "success_url": "http://127.0.0.1:9/"}),
        400,
        "line_items[0]: the amount of the line",
    )
    assert stored_rows(sandbox.app) == before

    # A link stored before the check (as an older sandbox could) is a refusal page on every visit.
    link = made(http, "/api/payment-links", {"line_items": [{"price_id": price["id"], "quantity": 1}]})
    store = sandbox.app.state.store
    with store.transaction():
        stored = store.get("payment_link", link["id"], True)
        stored["line_items"][0]["quantity"] = 10**80
        store.save("payment_link", stored)
    for _ in range(2):
        page = http.get(f"/checkout/pay/{link['id']}")
        assert page.status_code == 400 and "the amount of the line" in page.text
    assert http.get("/api/checkout-sessions", params={"payment_link_id": link["id"]}).json()["count"] == 0


# -- 9. inputs that were 500s --------------------------------------------------------------------


def every_route(sandbox: RunningSandbox) -> list[tuple[str, str]]:
    """(method, path) of every route the sandbox serves, path parameters filled in."""
    document = load_document()
    routes = [(op.method, op.path) for op in document.operations.values()]
    routes += list(wire(document).sandbox_routes)
    return [(method, re.sub(r"\{[^}]+\}", "x", path)) for method, path in routes]


def test_an_authorization_header_with_non_ascii_bytes_is_401_on_every_route(
    sandbox: RunningSandbox, http: httpx.Client, same_connection: None
) -> None:
    for header in (b"Bearer \xff\xfe", b"Bearer " + sandbox.api_key.encode() + b"\xe9", b"\xff\xfe"):
        for method, path in every_route(sandbox):
            answer = http.request(method, path, headers={"Authorization": header})  # type: ignore[dict-item]
            refused(answer, 401, "Unauthorized")


def test_a_limit_in_another_scripts_digits_is_a_400(http: httpx.Client, same_connection: None) -> None:
    for limit in ("\u00b2", "\u0661\u0660", "1_0", " 5", "5\n"):
        refused(http.get("/sandbox/events", params={"limit": limit}), 400, "limit: a whole number from 1 to 100")


def test_a_cancellation_time_in_another_scripts_digits_is_a_400(http: httpx.Client, same_connection: None) -> None:
    product = made(http, "/api/products", {"name": "Plan", "type": "service"})
    monthly = {"interval": "month", "interval_count": 1}
    price = made(http, "/api/prices", {"product_id": product["id"], "unit_amount": "1", "recurring": monthly})
    session = a_session(http, line_items=[{"price_id": price["id"], "quantity": 1}], mode="subscription")
    paid = http.post(f"/sandbox/checkout-sessions/{session['id']}/complete", json={"customer_did": "zCancel"})
    subscription = paid.json()["subscription_id"]
    for time_ in ("\u00b2", "\u0661\u0662\u0663", "9" * 5000):
        answer = http.put(f"/api/subscriptions/{subscription}/cancel", json={"at": "custom", "time": time_})
        refused(answer, 400, "time: ")
    assert http.get(f"/api/subscriptions/{subscription}").json()["cancel_at"] is None


@pytest.mark.parametrize(
    ("number", "says"),
    [
        (b"1e99999", "too large for a JSON number the sandbox stores"),
        (b"-1e99999", "too large"),
        (b"1e-99999", "too small to store (it underflows to 0)"),
        (str(body_limits.MAX_SAFE_INTEGER + 1).encode(), f"outside the sandbox's limit of ±{2**53 - 1}"),
        (b"-" + b"9" * 5000, "(5001 characters) is outside the sandbox's limit"),
    ],
    ids=["overflow", "negative overflow", "underflow", "2^53", "5000 digits"],
)
def test_a_json_number_the_sandbox_cannot_store_exactly_is_a_400(
    sandbox: RunningSandbox, http: httpx.Client, same_connection: None, number: bytes, says: str
) -> None:
    before = stored_rows(sandbox.app)
    body = b'{"name": "n", "type": "service", "metadata": {"n": ' + number + b"}}"
    refused(http.post("/api/products", content=body, headers={"Content-Type": "application/json"}), 400, says)
    assert stored_rows(sandbox.app) == before


def test_numbers_up_to_the_limits_are_stored(http: httpx.Client, same_connection: None) -> None:
    metadata = {"big": 2**53 - 1, "small": -(2**53 - 1), "float": 1.5e300, "tiny": 5e-324, "zero": 0.0}
    assert made(http, "/api/products", {"name": "n", "type": "service", "metadata": metadata})["metadata"] == metadata


@pytest.mark.parametrize("where", ["sandbox route", "hosted page"])
def test_an_unexpected_failure_is_a_500_on_the_same_connection(
    sandbox: RunningSandbox, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, same_connection: None, where: str
) -> None:
    session = a_session(http)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a sandbox bug")

    if where == "sandbox route":
        monkeypatch.setattr(sandbox.app.state.store, "run", broken)
        answer = http.post("/sandbox/clock/advance", json={"seconds": 1})
    else:
        monkeypatch.setattr(checkout, "line_amount", broken)
        answer = http.get(f"/checkout/pay/{session['id']}")
    monkeypatch.undo()
    assert answer.status_code == 500 and answer.json()["error_id"] in answer.json()["error"]


# -- 10. the hosted pages' headers, redirects and HEAD ---------------------------------------------

SECURITY_HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def assert_guarded(answer: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (answer.request.url, name)
    policy = answer.headers["content-security-policy"]
    for directive in ("default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"):
        assert directive in policy, policy
    if "text/html" in answer.headers.get("content-type", "") and answer.request.method != "HEAD":
        assert "<script" not in answer.text.lower()
        # The page's inline style is the one its policy allows (by hash), so the browser applies it.
        [style] = re.findall(r"<style>(.*?)</style>", answer.text, re.S)
        assert f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'" in policy


def test_every_hosted_page_answer_carries_the_security_headers(http: httpx.Client, same_connection: None) -> None:
    session = a_session(http, cancel_url="https://shop.example:8443/cancelled?x=1")
    link = made(http, "/api/payment-links", {"line_items": session["line_items"]})
    page = f"/checkout/pay/{session['id']}"
    shown = http.get(page)
    assert_guarded(shown)
    policy = shown.headers["content-security-policy"]
    assert "form-action 'self' http://127.0.0.1:9 https://shop.example:8443;" in policy  # where its form may lead
    token = page_token(http, session["id"])
    for answer in (
        http.head(page),
        http.get("/checkout/pay/cs_nothing_here"),
        http.get(f"/checkout/pay/{link['id']}"),  # 303 to the new session's page
        http.head(f"/checkout/pay/{link['id']}"),
        http.post(page, content=b"{}", headers={"Content-Type": "application/json"}),
        http.post(page, data={"action": "pay"}),
        http.post(page, data={"action": "apply", "promotion_code": "NOPE", "token": token}),
        http.post(page, data={"action": "decline", "token": token}),  # 303 to cancel_url
    ):
        assert_guarded(answer)


BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://example.com/file",
    "/relative/path",
    "//example.com/no-scheme",
    "https://",
    "http://[::1/broken",
]


@pytest.mark.parametrize("url", BAD_URLS, ids=lambda url: url.encode("unicode_escape").decode()[:24])
def test_a_redirect_url_that_is_not_http_or_https_is_a_400(
    sandbox: RunningSandbox, http: httpx.Client, same_connection: None, url: str
) -> None:
    session = a_session(http)
    link = made(http, "/api/payment-links", {"line_items": session["line_items"]})
    before = stored_rows(sandbox.app)
    for field in ("success_url", "cancel_url"):
        body = {"line_items": session["line_items"], "success_url": "https://example.com/ok", field: url}
        answer = http.post("/api/checkout-sessions", json=body)
        refused(answer, 400, f"{field}: ")
        assert "is not an absolute http or https URL" in answer.json()["error"]
    redirect = {"type": "redirect", "redirect": {"url": url}}
    for answer in (
        http.post("/api/payment-links", json={"line_items": session["line_items"], "after_completion": redirect}),
        http.put(f"/api/payment-links/{link['id']}", json={"after_completion": redirect}),
    ):
        refused(answer, 400, "after_completion.redirect.url: ")
    assert stored_rows(sandbox.app) == before


def test_a_head_or_a_prefetch_of_a_payment_link_page_opens_no_session(
    http: httpx.Client, same_connection: None
) -> None:
    session = a_session(http)
    link = made(http, "/api/payment-links", {"line_items": session["line_items"]})
    page = f"/checkout/pay/{link['id']}"

    def opened() -> int:
        return int(http.get("/api/checkout-sessions", params={"payment_link_id": link["id"]}).json()["count"])

    head = http.head(page)
    assert (head.status_code, head.content, opened()) == (200, b"", 0)
    for name, value in (("Sec-Purpose", "prefetch"), ("Sec-Purpose", "prefetch;prerender"), ("Purpose", "prefetch")):
        preview = http.get(page, headers={name: value})
        assert preview.status_code == 200 and "Continue to checkout" in preview.text
        assert opened() == 0
    assert http.head("/checkout/pay/plink_nothing_here").status_code == 404
    visit = http.get(page)
    assert visit.status_code == 303 and visit.headers["location"].startswith("/checkout/pay/cs_")
    assert opened() == 1


# -- 11. slow clients are dropped ----------------------------------------------------------------

QUICK = ServerTimeouts(headers=1.0, body=1.5, keep_alive=1.0)
MARGIN = 3.0  # seconds past a deadline the drop may take on a busy machine


@pytest.fixture(scope="module")
def quick(fresh_database: Callable[[], str]) -> Iterator[RunningSandbox]:
    """A sandbox with short deadlines, so that the tests of them take seconds."""
    with start_in_thread(SandboxConfig(db=fresh_database(), api_key="sk_quick"), timeouts=QUICK) as running:
        yield running


@pytest.fixture
def connect(quick: RunningSandbox) -> Iterator[Callable[..., socket.socket]]:
    """`connect(sent=b"")`: a raw connection to the quick sandbox, having sent `sent`; closed after the test."""
    port = int(quick.base_url.rsplit(":", 1)[1])
    opened: list[socket.socket] = []

    def connected(sent: bytes = b"") -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=QUICK.body + 2 * MARGIN)
        opened.append(sock)
        sock.sendall(sent)
        return sock

    yield connected
    for sock in opened:
        sock.close()


def until_closed(sock: socket.socket) -> bytes:
    """What the server sent before it closed the connection (a reset counts as closed)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return received


def one_answer(sock: socket.socket) -> bytes:
    """One whole answer read off a connection that stays open: its head, and a body of its Content-Length."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *([0-9]+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


HEAD = b"POST /api/products HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_quick\r\n"


def test_connections_with_half_sent_requests_are_dropped_after_the_header_deadline(
    quick: RunningSandbox, connect: Callable[..., socket.socket]
) -> None:
    halves = [b"GET /sandbox/hea", HEAD[:40], HEAD + b"Content-Type: appl"]
    started = time.monotonic()
    stalled = [connect(halves[n % len(halves)]) for n in range(150)]
    silent = [connect() for _ in range(30)]
    # Meanwhile an ordinary client is served.
    answer = httpx.get(f"{quick.base_url}/sandbox/health", headers={"Authorization": "Bearer sk_quick"})
    assert answer.status_code == 200
    answers = [until_closed(sock) for sock in stalled]
    unanswered = [until_closed(sock) for sock in silent]
    took = time.monotonic() - started
    assert all(a.startswith(b"HTTP/1.1 408 ") and b"headers took longer" in a for a in answers), answers[0]
    assert unanswered == [b""] * len(silent)  # no request begun: closed without a word
    assert QUICK.headers <= took < QUICK.headers + MARGIN, took
    print(f"\n180 stalled connections all closed {took:.2f} s after opening (header deadline {QUICK.headers} s)")


def test_headers_that_trickle_are_dropped_at_the_deadline_not_kept_alive_by_each_byte(
    quick: RunningSandbox, connect: Callable[..., socket.socket]
) -> None:
    sock = connect()
    started, sent = time.monotonic(), 0
    with pytest.raises(OSError):  # the server closes while the client still trickles
        while time.monotonic() - started < QUICK.headers + MARGIN:
            sock.sendall(HEAD[sent : sent + 1])
            sent += 1
            time.sleep(0.05)
    assert time.monotonic() - started < QUICK.headers + MARGIN
    until_closed(sock)


def test_a_body_that_stalls_or_trickles_is_dropped_and_nothing_is_stored(
    quick: RunningSandbox, connect: Callable[..., socket.socket]
) -> None:
    before = stored_rows(quick.app)
    head = HEAD + b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    started = time.monotonic()
    answer = until_closed(connect(head + b'{"name": "slow", "type": "serv'))  # and then nothing
    assert answer.startswith(b"HTTP/1.1 408 ") and b"body took longer than the sandbox's limit of 1.5 s" in answer
    assert QUICK.body <= time.monotonic() - started < QUICK.body + MARGIN

    sock, started = connect(head), time.monotonic()
    with pytest.raises(OSError):
        while time.monotonic() - started < QUICK.body + MARGIN:
            sock.sendall(b" ")
            time.sleep(0.05)
    assert time.monotonic() - started < QUICK.body + MARGIN
    until_closed(sock)
    assert stored_rows(quick.app) == before


def test_a_request_sent_in_pieces_within_the_deadlines_is_answered(
    quick: RunningSandbox, connect: Callable[..., socket.socket]
) -> None:
    body = b'{"name": "in pieces", "type": "service"}'
    request = HEAD + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    sock = connect()
    for n in range(0, len(request), 40):
        sock.sendall(request[n : n + 40])
        time.sleep(0.02)
    first = one_answer(sock)
    assert first.startswith(b"HTTP/1.1 200 "), first
    # The connection is then kept for the next request, and closed once idle past keep-alive.
    started = time.monotonic()
    assert until_closed(sock) == b""
    assert QUICK.keep_alive - 0.1 <= time.monotonic() - started < QUICK.keep_alive + MARGIN


def test_a_keep_alive_connection_waiting_between_requests_gets_a_fresh_header_deadline(
    connect: Callable[..., socket.socket],
) -> None:
    sock = connect(b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_quick\r\n\r\n")
    assert one_answer(sock).startswith(b"HTTP/1.1 200 ")
    time.sleep(QUICK.keep_alive / 2)
    sock.sendall(b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\n")  # half a second request, then a stall
    started = time.monotonic()
    answer = until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert QUICK.headers - 0.1 <= time.monotonic() - started < QUICK.headers + MARGIN


def test_the_cli_serves_with_the_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    from payment_kit_sandbox import __main__ as cli

    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda *args, **kwargs: ran.append(kwargs))
    assert cli.main(["--db", ":memory:", "--port", "1"]) == 0
    assert ran[0]["http"] is DeadlineHTTP and ran[0]["timeout_keep_alive"] == 5.0
    assert DeadlineHTTP.timeouts == ServerTimeouts(headers=10.0, body=30.0, keep_alive=5.0)
    assert uvicorn_settings(QUICK)["http"].timeouts == QUICK


def test_many_slow_clients_leave_the_sandbox_serving(
    quick: RunningSandbox, connect: Callable[..., socket.socket]
) -> None:
    """Stalled connections opened while others are served: every ordinary request is answered."""
    stalled = [connect(HEAD[:30]) for _ in range(50)]
    served: list[int] = []

    def ordinary() -> None:
        with httpx.Client(base_url=quick.base_url, headers={"Authorization": "Bearer sk_quick"}) as client:
            served.extend(client.get("/sandbox/health").status_code for _ in range(20))

    workers = [threading.Thread(target=ordinary) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    answers = [until_closed(sock) for sock in stalled]
    assert served == [200] * 80
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers)


# -- 12. a request waiting for the store --------------------------------------------------------


@pytest.mark.parametrize(
    "waiting_path",
    ["/api/products", "/sandbox/health", "/checkout/pay/cs_none"],
    ids=["api", "sandbox-route", "hosted-page"],
)
def test_a_request_waiting_for_the_store_does_not_stop_the_others(sandbox: RunningSandbox, waiting_path: str) -> None:
    """While one request waits for the store (here, held by another transaction; in life, a long
    write or a conflict's retry), the worker answers the requests that do not need it at once."""
    store = sandbox.app.state.store
    holding, release = threading.Event(), threading.Event()

    def hold_the_store() -> None:
        with store.transaction():
            holding.set()
            release.wait(15)

    holder = threading.Thread(target=hold_the_store)
    holder.start()
    try:
        assert holding.wait(5)
        answers: list[httpx.Response] = []
        auth = {"Authorization": f"Bearer {sandbox.api_key}"}
        waiter = threading.Thread(
            target=lambda: answers.append(httpx.get(sandbox.base_url + waiting_path, headers=auth))
        )
        waiter.start()
        time.sleep(0.5)  # the waiting request has reached the store by now
        started = time.monotonic()
        refusal = httpx.get(
            sandbox.base_url + "/api/products", headers={"Authorization": "Bearer not-the-key"}, timeout=10
        )
        took = time.monotonic() - started
        assert refusal.status_code == 401
        assert took < 2, f"a request needing no store waited {took:.1f} s behind one waiting for the store"
        assert not answers, "the waiting request was answered while the store was held"
    finally:
        release.set()
        holder.join()
    waiter.join(10)
    assert answers and answers[0].status_code in (200, 404), answers
