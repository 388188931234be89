"""What a sandbox has stored, read straight from its database, to compare before and after a request."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def stored_rows(app: Any) -> list[tuple[Any, ...]]:
    """Every stored object and sandbox setting but the idempotency records (a refused request leaves none)."""
    store = app.state.store
    with store.transaction():
        # text(), not the driver's SQL: psycopg would read the LIKE pattern's % as a placeholder.
        rows = store.conn.execute(sa.text("SELECT id, data FROM objects ORDER BY seq")).all()
        rows += store.conn.execute(
            sa.text("SELECT key, value FROM sandbox_meta WHERE key NOT LIKE 'idempotency:%' ORDER BY key")
        ).all()
    return [tuple(r) for r in rows]
