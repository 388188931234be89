"""The pytest plugin of `payment_kit.testing`, registered through the `pytest11` entry point
(installing blocklet-payment-kit is enough; `-p payment_kit.pytest_plugin` loads it by hand).

Fixtures:

- ``payment_kit_sandbox``: a fresh `Sandbox` for the test, already the default for the
  ``payment`` client (and for any ``PaymentKit()`` built from the environment) during the test,
  closed after it. It serves async tests as well (``sandbox.async_client``, ``sandbox.arun``).
  ``@pytest.mark.payment_kit_sandbox(livemode=True)`` passes arguments to ``Sandbox``.

One sandbox shared by a module or the session, and reset between tests (faster for large
suites), is a fixture of your own; README.md, "Testing your application", shows it.

Loading the plugin imports nothing of the sandbox: a project without the ``sandbox`` extra only
meets its error (naming the extra) in a test that asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from payment_kit.testing import Sandbox

__all__ = ["payment_kit_sandbox"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "payment_kit_sandbox(**arguments): arguments of the payment_kit_sandbox fixture's Sandbox"
    )


@pytest.fixture
def payment_kit_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh in-process PaymentKit sandbox, the default client's for the duration of the test."""
    from payment_kit.testing import Sandbox

    marker = request.node.get_closest_marker("payment_kit_sandbox")
    with Sandbox(**(marker.kwargs if marker else {})) as sandbox, sandbox.use_as_default():
        yield sandbox
