"""Negative input over every write operation: schemathesis's negative mode, then a corpus of
hostile values in every body field (wrong types, missing fields, 100,000-character strings, odd
Unicode, deep nesting). Every answer is a 4xx with a message, never a 5xx, and a refused
request leaves the stored data exactly as it was."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schema_runs import run_the_rest
from schemathesis import GenerationMode
from stored_rows import stored_rows

from payment_kit_sandbox.app import SandboxConfig, create_app
from payment_kit_sandbox.document import document_path, load_document
from payment_kit_sandbox.server import RunningSandbox

pytestmark = pytest.mark.sandbox_only  # a sandbox of its own (on the leg's backend), its store read directly

KEY = "sk_negative"
REFUSED: dict[str, int] = {}  # operation label → how many negative cases it refused
RAN: set[str] = set()  # operation labels whose negative cases have run
WRITES = ["POST", "PUT", "PATCH", "DELETE"]
CONFIG = Path(__file__).resolve().parents[2] / "contract" / "schemathesis.toml"


def check_refusal(status: int, text: str, before: list[tuple[Any, ...]], app: Any, what: str) -> None:
    assert status < 500, f"{what}: {status} {text[:300]}"
    if status >= 400:
        assert json.loads(text)["error"], f"{what}: a {status} without a message"
        assert stored_rows(app) == before, f"{what}: refused with {status} but the stored data changed"


# -- schemathesis, negative mode ---------------------------------------------------------------------

os.environ["CONTRACT_API_KEY"] = KEY  # read by the config's [auth] section
schema = schemathesis.openapi.from_path(
    str(document_path()), config=schemathesis.Config.from_path(str(CONFIG))
).include(method=WRITES)
schema.config.update(base_url="http://127.0.0.1")
schema.config.generation.update(modes=[GenerationMode.NEGATIVE])


@pytest.fixture(scope="module")
def app(fresh_database: Callable[[], str]) -> Iterator[Any]:
    """The sandbox schemathesis calls in-process, on the leg's backend (SQLite or PostgreSQL)."""
    sandbox = create_app(SandboxConfig(db=fresh_database(), api_key=KEY))
    try:
        yield sandbox
    finally:
        sandbox.state.store.close()


@settings(
    max_examples=6,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def refused_and_unchanged(app: Any, case: schemathesis.Case) -> None:
    RAN.add(case.operation.label)
    before = stored_rows(app)
    response = case.call(app=app)
    if 400 <= response.status_code < 500:
        REFUSED[case.operation.label] = REFUSED.get(case.operation.label, 0) + 1
    check_refusal(response.status_code, response.text, before, app, f"{case.operation.label} {case.body!r:.200}")


test_negative_data_for_every_write_is_refused_and_changes_nothing = schema.parametrize()(refused_and_unchanged)


@pytest.mark.summary
def test_every_write_operation_had_a_negative_run(app: Any) -> None:
    """The operations no run of the test above has reached yet (this test run alone, or first) run here,
    with the cases that test gives them."""
    run_the_rest(schema, refused_and_unchanged, RAN, app=app)
    writes = [op for op in load_document().operations.values() if op.method in WRITES]
    assert len(list(schema.get_all_operations())) == len(writes) > 60
    assert len(REFUSED) == len(writes), f"never refused: {sorted({o.operation_id for o in writes} - set(REFUSED))}"


# -- a hostile corpus in every body field --------------------------------------------------------------

CORPUS: list[Any] = [
    12345,
    True,
    None,
    [],
    {"nested": {"object": 1}},
    "x" * 100_000,
    "\u202e\u0000\ufeff😀 e\u0301",
    json.loads("[" * 30 + "]" * 30),
]


def body_fields(operation_id: str) -> list[str]:
    document = load_document()
    op = document.operations[operation_id]
    node = document.raw["paths"][op.path][op.method.lower()]
    if "requestBody" not in node:
        return []
    body = document.resolve(document.resolve(node["requestBody"])["content"]["application/json"]["schema"])
    return sorted(body.get("properties", {}))


@pytest.mark.parametrize(
    "operation_id", sorted(o.operation_id for o in load_document().operations.values() if o.method in WRITES)
)
def test_hostile_values_in_every_field_are_refused_and_change_nothing(
    sandbox: RunningSandbox, operation_id: str
) -> None:
    op = load_document().operations[operation_id]
    path = op.path
    for name in [p.name for p in op.parameters if p.location == "path"]:
        path = path.replace(f"{{{name}}}", "nope_0000")
    attempts: list[tuple[str, bytes | None]] = [("no body", None), ("an empty object", b"{}")]
    for field in body_fields(operation_id):
        attempts += [(f"{field}={value!r:.40}", json.dumps({field: value}).encode()) for value in CORPUS]
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.api_key}"}, timeout=30
    ) as http:
        for what, body in attempts:
            before = stored_rows(sandbox.app)
            answer = http.request(op.method, path, content=body, headers={"content-type": "application/json"})
            check_refusal(answer.status_code, answer.text, before, sandbox.app, f"{operation_id} with {what}")
