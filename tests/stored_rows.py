"""What a sandbox has stored, read straight from its database, to compare before and after a request."""

from __future__ import annotations

from typing import Any


def stored_rows(app: Any) -> list[tuple[Any, ...]]:
    """Every stored object and sandbox setting but the idempotency records (a refused request leaves none)."""
    store = app.state.store
    with store.transaction():
        rows = store.conn.exec_driver_sql("SELECT id, data FROM objects ORDER BY seq").all()
        rows += store.conn.exec_driver_sql(
            "SELECT key, value FROM sandbox_meta WHERE key NOT LIKE 'idempotency:%' ORDER BY key"
        ).all()
    return [tuple(r) for r in rows]
