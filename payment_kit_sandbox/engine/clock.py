"""What happens when the sandbox clock moves: each area registers a step
(subscription renewals, expiring checkout sessions and credit grants, …)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import Context

__all__ = ["on_advance", "step"]

Step = Callable[[Context], dict[str, Any]]
STEPS: list[Step] = []


def step(fn: Step) -> Step:
    """Register `fn(ctx) -> {summary}` to run after every clock advance, in registration order."""
    STEPS.append(fn)
    return fn


def on_advance(ctx: Context) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for fn in STEPS:
        summary.update(fn(ctx))
    return summary
