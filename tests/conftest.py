"""Suite-wide collection order: pytest-randomly shuffles every run (its seed is printed by
`make test`); tests marked `summary` then move to the end of their own module."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `summary` test sums up what its module's other tests ran, and runs whatever they have not
    reached itself, so it passes alone and in any order. Placed after them, it finds that work
    done instead of doing all of it a second time (the contract run is the suite's slowest part)."""
    for summary in [item for item in items if item.get_closest_marker("summary")]:
        items.remove(summary)
        same_module = [i for i, item in enumerate(items) if item.module is summary.module]
        items.insert(same_module[-1] + 1 if same_module else len(items), summary)
