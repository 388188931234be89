"""The PaymentKit sandbox inside an application's own test suite.

    from payment_kit.testing import Sandbox

    def test_buying_credits_grants_access(payment_kit_sandbox):     # the pytest plugin's fixture
        sandbox = payment_kit_sandbox                                 # a fresh Sandbox, the default client's
        endpoint = sandbox.forward_webhooks(app, path="/webhooks")   # signed deliveries into your app
        ...

Needs the `sandbox` extra (`pip install 'blocklet-payment-kit[sandbox]'`). The pytest plugin
(`payment_kit.pytest_plugin`, registered through the `pytest11` entry point) gives the fixtures;
README.md, "Testing your application", shows the whole of it.
"""

from __future__ import annotations

# The top-level packages of the `sandbox` extra (pyproject.toml): one of them missing is the
# extra missing; any other ImportError is not, and is left as it is.
SANDBOX_EXTRA = frozenset({"starlette", "uvicorn", "sqlalchemy", "jsonschema", "yaml", "anyio"})

try:
    import payment_kit_sandbox.app  # noqa: F401  (its imports are the extra's packages)
except ImportError as missing:
    if (missing.name or "").partition(".")[0] not in SANDBOX_EXTRA:
        raise
    raise ImportError(
        "payment_kit.testing runs the PaymentKit sandbox inside your tests and needs the `sandbox` extra: "
        f"pip install 'blocklet-payment-kit[sandbox]' ({missing.name} is not installed)"
    ) from missing

from ._sandbox import DefaultSwitch, Delivery, Sandbox  # noqa: E402  (after the extra is known to be there)

__all__ = ["DefaultSwitch", "Delivery", "Sandbox"]
