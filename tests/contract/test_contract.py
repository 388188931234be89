"""Schemathesis against the sandbox, in process: every operation of the
document, positive and negative data, every check (no 5xx, documented
statuses, content types and schemas, malformed input refused, auth
enforced). The budget is small for `make test`; `make contract` runs the
same checks with a larger one, or against any server.

What is relaxed, and why, is in contract/schemathesis.toml and the README.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schema_runs import run_the_rest

from payment_kit_sandbox.app import SandboxConfig, create_app
from payment_kit_sandbox.document import document_path

KEY = "sk_contract"
STATUSES: dict[str, set[int]] = {}
app = create_app(SandboxConfig(api_key=KEY))
CONFIG = Path(__file__).resolve().parents[2] / "contract" / "schemathesis.toml"
os.environ["CONTRACT_API_KEY"] = KEY  # read by the config's [auth] section
schema = schemathesis.openapi.from_path(str(document_path()), config=schemathesis.Config.from_path(str(CONFIG)))
schema.app = app
# The document's first server is a deployment (`{origin}/payment`); the sandbox serves at the root.
schema.config.update(base_url="http://127.0.0.1")


SETTINGS = settings(
    max_examples=8,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@SETTINGS
def conforms(case: schemathesis.Case) -> None:
    response = case.call_and_validate()
    STATUSES.setdefault(case.operation.label, set()).add(response.status_code)


test_every_operation_conforms = schema.parametrize()(conforms)


@pytest.mark.summary
def test_the_runs_were_authenticated() -> None:
    """A wrong key would make every answer a 401, which every check accepts: make sure it was not so.
    The operations no run of `test_every_operation_conforms` has reached yet (this test run alone,
    or first) run here, with the cases that test gives them."""
    run_the_rest(schema, conforms, STATUSES)
    assert len(STATUSES) == 130, f"only {len(STATUSES)} operations ran"
    only_401 = sorted(label for label, seen in STATUSES.items() if seen == {401})
    assert not only_401, f"operations that only ever answered 401: {only_401}"
    # Random ids mostly miss (404) and random references are refused (400); the stateful test
    # follows the document's links to reach the rest with real objects.
    succeeded = [label for label, seen in STATUSES.items() if any(200 <= s < 300 for s in seen)]
    assert len(succeeded) >= 40, f"only {len(succeeded)} operations ever succeeded"


@pytest.fixture(scope="module", autouse=True)
def _close_the_sandbox_store() -> Iterator[None]:
    yield
    app.state.store.close()
