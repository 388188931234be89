"""What a sandbox has stored, read straight from its database, to compare before and after a request."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa


def stored_rows(app: Any) -> list[tuple[Any, ...]]:
    """Every stored object and sandbox setting but the idempotency records (a refused request leaves none)."""
    store = app.state.store
    with store.transaction():
        # Webhook attempts are written by the delivery worker in the background, whenever a retry
        # falls due (an earlier test's endpoint may be failing), never by the request under test.
        rows = store.conn.execute(
            sa.text("SELECT id, data FROM objects WHERE kind != 'webhook_attempt' ORDER BY seq")
        ).all()
        rows = [(row_id, _without_delivery_count(data)) for row_id, data in rows]
        # text(), not the driver's SQL: psycopg would read the LIKE pattern's % as a placeholder.
        rows += store.conn.execute(
            sa.text("SELECT key, value FROM sandbox_meta WHERE key NOT LIKE 'idempotency:%' ORDER BY key")
        ).all()
    return [tuple(r) for r in rows]


def _without_delivery_count(data: str) -> Any:
    """An object's JSON without `pending_webhooks`, the event counter the delivery worker lowers."""
    obj = json.loads(data)
    obj.pop("pending_webhooks", None)
    return obj
