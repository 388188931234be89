"""What happens when the sandbox clock moves: the time-driven steps that
`app.wire` lists (subscription renewals, expiring checkout sessions, credit
grants), run in that order after every advance."""

from __future__ import annotations

from typing import Any

from ..context import Context

__all__ = ["advance"]


def advance(ctx: Context) -> dict[str, Any]:
    """Run every clock step of the sandbox's wiring, in order; answers their summaries merged."""
    summary: dict[str, Any] = {}
    for step in ctx.wiring.clock_steps:
        summary.update(step(ctx))
    return summary
