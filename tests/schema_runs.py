"""Running a schemathesis test's cases for some operations outside its parametrised items: for a
test that sums up what every operation's run saw, and must not depend on those items having run
before it (in random order, or alone, they may not have)."""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

import schemathesis
from schemathesis.checks import load_all_checks
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test  # what `schema.parametrize()` builds each item with

__all__ = ["run_the_rest"]


def run_the_rest(
    schema: schemathesis.schemas.BaseSchema, test: Callable[..., None], done: Container[str], **fixtures: Any
) -> list[str]:
    """Run `test` (the function `schema.parametrize()` wraps, with its hypothesis settings) on the cases
    schemathesis generates for each operation whose label is not in `done`, as its pytest item would;
    `fixtures` are passed as the item's fixtures would be. Answers the labels it ran."""
    load_all_checks()
    ran = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in done:
            continue
        build_operation_test(
            config=schema.config, operation=operation, test_func=test, given_kwargs={}, feedback=FeedbackSources()
        )(**fixtures)
        ran.append(operation.label)
    return ran
