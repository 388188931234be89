"""Suite-wide settings. Every client the suite builds reads answers in strict mode (a user's
client is lenient by default), so the sandbox and the document must agree exactly; a test of
lenient reading says `strict_responses=False`. Collection order: pytest-randomly shuffles every
run (its seed is printed by `make test`); tests marked `summary` then move to the end of their
own module."""

from __future__ import annotations

import os

import pytest

# Before payment_kit is imported (its default client reads the environment then); subprocesses
# (the demo, the examples, the CLI) inherit it.
os.environ["PAYMENT_KIT_STRICT_RESPONSES"] = "1"


def pytest_configure(config: pytest.Config) -> None:
    """payment_kit.testing's plugin, when the installed distribution does not register it yet (an
    install from before its `pytest11` entry point): the suite tests the fixture either way."""
    if not config.pluginmanager.has_plugin("payment_kit"):
        config.pluginmanager.import_plugin("payment_kit.pytest_plugin")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `summary` test sums up what its module's other tests ran, and runs whatever they have not
    reached itself, so it passes alone and in any order. Placed after them, it finds that work
    done instead of doing all of it a second time (the contract run is the suite's slowest part)."""
    for summary in [item for item in items if item.get_closest_marker("summary")]:
        items.remove(summary)
        same_module = [i for i, item in enumerate(items) if item.module is summary.module]
        items.insert(same_module[-1] + 1 if same_module else len(items), summary)
