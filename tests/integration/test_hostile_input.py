"""Hostile input against the sandbox: bodies that are not strict JSON, bodies over the limit,
strings that are hard to store and render, and handler failures. One bad request never takes
the sandbox down, never stores anything, and never makes a later read fail."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from stored_rows import stored_rows

from payment_kit_sandbox import body_limits as limits
from payment_kit_sandbox.app import SandboxConfig
from payment_kit_sandbox.database import StoreBusy
from payment_kit_sandbox.document import load_document
from payment_kit_sandbox.engine import webhook_endpoints
from payment_kit_sandbox.server import RunningSandbox, start_in_thread

pytestmark = pytest.mark.sandbox_only  # a sandbox of its own, and its store read directly

KEY = "sk_hostile"
PRODUCT = b'{"name": "ok", "type": "service"'


@pytest.fixture(scope="module")
def app(sandbox: RunningSandbox) -> Any:
    return sandbox.app


@pytest.fixture(scope="module")
def http(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}, timeout=30
    ) as client:
        yield client


# -- bodies that are not strict JSON -----------------------------------------------------------

NOT_STRICT = {
    "lone surrogate": (PRODUCT + rb', "description": "\ud800x"}', "lone surrogate (U+D800)"),
    "lone surrogate in a key": (PRODUCT + rb', "metadata": {"\udfff": "v"}}', "lone surrogate (U+DFFF)"),
    "NaN": (PRODUCT + b', "metadata": {"n": NaN}}', "NaN is not a JSON number"),
    "Infinity": (PRODUCT + b', "metadata": {"n": -Infinity}}', "-Infinity is not a JSON number"),
    "duplicate key": (b'{"name": "a", "name": "b", "type": "service"}', "the key 'name' appears twice"),
    "invalid UTF-8": (PRODUCT + b', "description": "\xff\xfe"}', "not valid UTF-8: byte 0xff"),
    "deep nesting": (PRODUCT + b', "metadata": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}", "deeper than"),
    "nesting just over the limit": (
        PRODUCT + b', "metadata": {"a": ' + b"[" * limits.MAX_DEPTH + b"]" * limits.MAX_DEPTH + b"}}",
        f"nested deeper than the sandbox's limit of {limits.MAX_DEPTH}",
    ),
    "a string over the limit": (
        PRODUCT + b', "description": "' + b"x" * (limits.MAX_STRING_LENGTH + 1) + b'"}',
        f"body.description: {limits.MAX_STRING_LENGTH + 1} characters is over the sandbox's limit",
    ),
    "a key over the limit": (
        PRODUCT + b', "metadata": {"' + b"k" * (limits.MAX_KEY_LENGTH + 1) + b'": "v"}}',
        "body.metadata: a key: 201 characters is over the sandbox's limit of 200",
    ),
}


@pytest.mark.parametrize("case", sorted(NOT_STRICT))
def test_a_body_that_is_not_strict_json_is_a_400_naming_the_problem(app: Any, http: httpx.Client, case: str) -> None:
    body, says = NOT_STRICT[case]
    before = stored_rows(app)
    answer = http.post("/api/products", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["error"]
    assert stored_rows(app) == before
    assert http.get("/api/products").status_code == 200


def test_the_sandbox_routes_are_as_strict(http: httpx.Client) -> None:
    answer = http.post("/sandbox/clock/advance", content=b'{"seconds": 1, "seconds": 2}')
    assert answer.status_code == 400 and "appears twice" in answer.json()["error"]


def test_nesting_up_to_the_limit_is_accepted(http: httpx.Client) -> None:
    depth = limits.MAX_DEPTH - 2  # the body object and `metadata` are two levels
    body = PRODUCT + b', "metadata": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
    answer = http.post("/api/products", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text


def test_a_surrogate_pair_escape_is_one_valid_character(http: httpx.Client) -> None:
    body = PRODUCT + rb', "description": "\ud83d\ude00"}'
    answer = http.post("/api/products", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200 and answer.json()["description"] == "\N{GRINNING FACE}"


# -- bodies over the limit ---------------------------------------------------------------------


def test_bodies_over_the_limit_are_413(app: Any, http: httpx.Client) -> None:
    before = stored_rows(app)
    for size in (limits.MAX_BODY_BYTES + 1, 10 * 1024 * 1024, 20 * 1024 * 1024):
        body = PRODUCT + b', "description": "' + b"x" * size + b'"}'
        answer = http.post("/api/products", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 413, size
        assert f"over the sandbox's limit of {limits.MAX_BODY_BYTES} bytes" in answer.json()["error"]
    assert stored_rows(app) == before


def test_a_chunked_body_is_refused_once_it_passes_the_limit_without_waiting_for_the_rest() -> None:
    with start_in_thread(SandboxConfig(api_key=KEY, max_body=16 * 1024)) as sandbox:
        port = int(sandbox.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            head = (
                f"POST /api/products HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b" " * 20 * 1024
            sock.sendall(head.encode() + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")  # no last chunk
            answer = read_until_closed(sock)
    assert answer.startswith("HTTP/1.1 413") and "limit of 16384 bytes" in answer


def read_until_closed(sock: socket.socket) -> str:
    answer = b""
    while chunk := sock.recv(65536):  # the server closes after answering
        answer += chunk
    return answer.decode()


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(sandbox: RunningSandbox) -> None:
    """The answer comes while the client has sent only the headers: nothing waits for 50 MB."""
    port = int(sandbox.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        head = (
            f"POST /api/products HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {sandbox.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n"
        )
        sock.sendall(head.encode())
        started = time.monotonic()
        answer = read_until_closed(sock)
    assert answer.startswith("HTTP/1.1 413") and time.monotonic() - started < 2
    assert "over the sandbox's limit" in answer


def test_max_body_is_a_command_line_option() -> None:
    from payment_kit_sandbox.__main__ import parser

    assert parser().parse_args(["--max-body", "2048"]).max_body == 2048
    assert parser().parse_args([]).max_body == limits.MAX_BODY_BYTES


# -- hostile strings that pass validation are stored and served back ------------------------------

HOSTILE = [
    "nul \u0000 inside",
    "rtl \u202e override \u202c",
    "zero\u200bwidth\u200djoiner\ufeff",
    "emoji 😀👩‍👩‍👧 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "combining e\u0301\u0301\u0301\u0301",
    "'; DROP TABLE objects; --",
    '<script>alert("x")</script> %s %n {0} ${x} \\',
    "line\r\nbreaks\ttabs\x0b\x0c",
    "\u0085\u2028\u2029 separators",
    "x" * limits.MAX_STRING_LENGTH,
]

# A write per resource with free text, a body it accepts, and where to read the object back.
# `{product}`, `{customer}`, `{meter}`, `{currency}` and `{n}` are filled in per attempt.
WRITABLE: list[tuple[str, dict[str, Any], str]] = [
    ("createProduct", {"name": "p", "type": "service"}, "/api/products/{id}"),
    ("createPrice", {"product_id": "{product}", "unit_amount": "1"}, "/api/prices/{id}"),
    ("createMeter", {"name": "m", "event_name": "e{n}", "unit": "u"}, "/api/meters/{id}"),
    ("createCoupon", {"name": "c", "percent_off": 10, "duration": "once"}, "/api/coupons/{id}"),
    (
        "createCreditGrant",
        {"customer_id": "{customer}", "amount": "1", "currency_id": "{currency}", "category": "paid"},
        "/api/credit-grants/{id}",
    ),
    (
        "createMeterEvent",
        {"event_name": "{meter}", "payload": {"customer_id": "{customer}", "value": "1"}, "identifier": "i{n}"},
        "/api/meter-events/{id}",
    ),
    ("updateCustomer", {}, "/api/customers/{id}"),
    (
        "createWebhookEndpoint",
        {"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]},
        "/api/webhook-endpoints/{id}",
    ),
]


def writable_strings(operation_id: str) -> dict[str, int | None]:
    """The body's free-text string fields (no enum, format or pattern), with any documented maxLength."""
    document = load_document()
    op = document.operations[operation_id]
    assert op.body_validator is not None
    schema = document.resolve(document.raw["paths"][op.path][op.method.lower()]["requestBody"])
    props = document.resolve(schema["content"]["application/json"]["schema"]).get("properties", {})
    out: dict[str, int | None] = {}
    for name, prop in props.items():
        prop = document.resolve(prop)
        if prop.get("type") == "string" and not ({"enum", "format", "pattern"} & set(prop)):
            out[name] = prop.get("maxLength")
    return out


@pytest.fixture(scope="module")
def references(http: httpx.Client) -> dict[str, str]:
    """Objects the writes refer to."""
    product = http.post("/api/products", json={"name": "ref", "type": "service"}).json()
    customer = http.get("/api/customers/did:abt:zHostileRefs", params={"create": "true"}).json()
    meter = http.post("/api/meters", json={"name": "ref", "event_name": "hostile_ref", "unit": "u"}).json()
    http.post(
        "/api/credit-grants",
        json={
            "customer_id": customer["id"],
            "amount": "1000000",
            "currency_id": meter["currency_id"],
            "category": "paid",
        },
    ).raise_for_status()
    return {
        "product": product["id"],
        "customer": customer["id"],
        "meter": "hostile_ref",
        "currency": meter["currency_id"],
    }


def filled(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {k: filled(v, values) for k, v in template.items()}
    return template


@pytest.mark.parametrize(("operation_id", "base", "retrieve"), WRITABLE, ids=[w[0] for w in WRITABLE])
def test_hostile_strings_are_stored_and_every_read_still_works(
    http: httpx.Client,
    references: dict[str, str],
    operation_id: str,
    base: dict[str, Any],
    retrieve: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    op = load_document().operations[operation_id]
    path = op.path.replace("{id}", references["customer"])
    fields = writable_strings(operation_id)
    assert fields, f"{operation_id} has no free-text field to test"
    # More endpoints than a mode may hold (the cap has tests of its own): every hostile one is stored.
    monkeypatch.setattr(webhook_endpoints, "MAX_PER_MODE", len(HOSTILE) * len(fields))
    made: list[tuple[str, str, str]] = []
    for n, text in enumerate(HOSTILE):
        for name, max_length in fields.items():
            value = text[:max_length] if max_length else text
            body = {**filled(base, {**references, "n": f"{n}_{name}"}), name: value}
            body["metadata"] = {text[:100] or "k": text[:500], "plain": value}
            answer = http.request(op.method, path, content=json.dumps(body))
            assert answer.status_code < 500, answer.text
            if answer.status_code == 200:
                created = answer.json()
                made.append((created.get("coupon", created)["id"], name, value))
            else:
                assert answer.json()["error"], answer.text
    assert made, f"{operation_id}: no hostile string was accepted"
    for object_id, name, value in made:
        again = http.get(retrieve.format(id=object_id))
        assert again.status_code == 200, again.text
        if op.method == "POST":  # an update's later attempts overwrite its earlier ones
            assert again.json()[name] == value
    for path in sorted({o.path for o in load_document().operations.values() if o.method == "GET"}):
        if "{" not in path:
            assert http.get(path).status_code < 500, path


# -- a handler's unexpected failure --------------------------------------------------------------


def test_an_unexpected_failure_is_a_500_with_an_error_id_and_is_rolled_back(
    app: Any, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    handlers = app.state.handlers
    real = handlers["createProduct"]

    def broken(ctx: Any) -> Any:
        real(ctx)  # the product is written ...
        raise ZeroDivisionError("a sandbox bug")  # ... and then the handler fails

    before = stored_rows(app)
    monkeypatch.setitem(handlers, "createProduct", broken)
    with caplog.at_level(logging.ERROR, logger="payment_kit_sandbox"):
        answer = http.post("/api/products", json={"name": "doomed", "type": "service"})
    assert answer.status_code == 500
    error_id = answer.json()["error_id"]
    assert error_id.startswith("err_") and error_id in answer.json()["error"]
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None and logged[0].exc_info[0] is ZeroDivisionError
    assert stored_rows(app) == before  # rolled back
    monkeypatch.setitem(handlers, "createProduct", real)
    assert http.post("/api/products", json={"name": "fine", "type": "service"}).status_code == 200


@pytest.mark.parametrize(
    ("failure", "status", "says"),
    [
        (StoreBusy("lost to concurrent ones 5 times"), 503, "the sandbox is busy: lost to concurrent ones 5 times"),
        (ZeroDivisionError("a sandbox bug"), 500, "sandbox error in POST /sandbox/clock/advance (error id err_"),
    ],
)
def test_a_sandbox_route_that_fails_unexpectedly_is_answered_and_the_sandbox_serves_on(
    app: Any, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, failure: Exception, status: int, says: str
) -> None:
    def failing(work: Any) -> Any:
        raise failure

    offset = http.post("/sandbox/clock/advance", json={"seconds": 1}).json()["offset"]
    monkeypatch.setattr(app.state.store, "run", failing)
    answer = http.post("/sandbox/clock/advance", json={"seconds": 1})
    monkeypatch.undo()
    assert answer.status_code == status and says in answer.json()["error"], answer.text
    assert answer.headers.get("retry-after") == ("1" if status == 503 else None)
    again = http.post("/sandbox/clock/advance", json={"seconds": 1})  # on the same keep-alive connection
    assert again.json()["offset"] == offset + 1  # the failed request moved nothing
