"""Stateful contract run: schemathesis follows the document's OpenAPI links
(create → retrieve → update → archive/delete …) with the ids the sandbox
really answered, so the deeper operations run on real objects, and checks
that a deleted object is gone (404) and a created one is readable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis

from payment_kit_sandbox.app import SandboxConfig, create_app
from payment_kit_sandbox.document import document_path

KEY = "sk_contract_stateful"
CONFIG = Path(__file__).resolve().parents[2] / "contract" / "schemathesis.toml"
os.environ["CONTRACT_API_KEY"] = KEY  # read by the config's [auth] section
schema = schemathesis.openapi.from_path(str(document_path()), config=schemathesis.Config.from_path(str(CONFIG)))
schema.app = create_app(SandboxConfig(api_key=KEY))
schema.config.update(base_url="http://127.0.0.1")

Workflow = schema.as_state_machine()
TestWorkflow = Workflow.TestCase
TestWorkflow.settings = hypothesis.settings(
    max_examples=60,
    stateful_step_count=6,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.fixture(scope="module", autouse=True)
def _close_the_sandbox_store() -> Iterator[None]:
    yield
    schema.app.state.store.close()
