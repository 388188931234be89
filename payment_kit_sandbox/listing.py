"""What most list handlers share: filters, search, order and pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .context import Context
from .engine.customers import plain_did
from .errors import bad_request

__all__ = ["filter_customer", "filter_equal", "filter_in", "filter_metadata", "page_of", "search", "stored_page"]

DEFAULT_ORDERABLE = ("created_at", "updated_at")


def filter_equal(ctx: Context, rows: Iterable[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """Keep rows whose field equals each given query parameter of the same name."""
    out = list(rows)
    for name in fields:
        wanted = ctx.param(name)
        if wanted is not None:
            out = [row for row in out if row.get(name) == wanted]
    return out


def filter_in(
    ctx: Context, rows: Iterable[dict[str, Any]], name: str, field: str | None = None
) -> list[dict[str, Any]]:
    """A comma-separated query parameter (`status=paid,open`): keep rows with any of the values."""
    raw = ctx.param(name)
    if raw is None:
        return list(rows)
    wanted = {v.strip() for v in str(raw).split(",") if v.strip()}
    return [row for row in rows if row.get(field or name) in wanted]


def filter_metadata(ctx: Context, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`metadata.<key>=<value>` filters: every pair must match."""
    wanted = ctx.param("metadata") or {}
    out = list(rows)
    for key, value in wanted.items():
        out = [row for row in out if str((row.get("metadata") or {}).get(key)) == value]
    return out


def find_customer_ids(ctx: Context) -> set[str] | None:
    """The customers named by `customer_id` / `customer_did` (None when neither filter is given)."""
    wanted: set[str] | None = None
    if ctx.param("customer_id"):
        wanted = {ctx.param("customer_id")}
    did = ctx.param("customer_did")
    if did:
        match = ctx.store.first("customer", ctx.livemode, did=plain_did(did))
        by_did = {match["id"]} if match else set()
        wanted = by_did if wanted is None else wanted & by_did
    return wanted


def filter_customer(ctx: Context, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = find_customer_ids(ctx)
    return rows if wanted is None else [r for r in rows if r.get("customer_id") in wanted]


def search(
    ctx: Context, rows: Iterable[dict[str, Any]], fields: Sequence[str], param: str = "query"
) -> list[dict[str, Any]]:
    """Case-insensitive substring match of the `query` (or `q`) text in any of `fields`."""
    text = ctx.param(param)
    if not text:
        return list(rows)
    needle = str(text).lower()
    return [row for row in rows if any(needle in str(row.get(f) or "").lower() for f in fields)]


def page_of(
    ctx: Context,
    rows: Iterable[dict[str, Any]],
    *,
    orderable: Sequence[str] = DEFAULT_ORDERABLE,
    expand: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    first: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """`{count, list}` of one page, ordered (newest first unless `order` says otherwise).

    `first` puts matching rows ahead of the others (subscriptions' `activeFirst`).
    """
    items = list(rows)
    field, descending = _ordering(ctx, orderable)
    # Rows come oldest first; a stable sort keeps insertion order among equal keys.
    keyed = list(enumerate(items))
    keyed.sort(key=lambda pair: (_sort_key(pair[1].get(field)), pair[0]), reverse=descending)
    items = [row for _, row in keyed]
    if first is not None:
        items = [r for r in items if first(r)] + [r for r in items if not first(r)]
    page, size = _window(ctx)
    chunk = items[(page - 1) * size : page * size]
    return {"count": len(items), "list": [expand(r) for r in chunk] if expand else chunk}


def stored_page(
    ctx: Context,
    kind: str,
    *,
    orderable: Sequence[str] = DEFAULT_ORDERABLE,
    expand: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    **equals: Any,
) -> dict[str, Any]:
    """`page_of` for a list filtered only by plain field values: counted, ordered and sliced in
    SQL, so a page of a large table reads only its own rows. Same order, same answer."""
    field, descending = _ordering(ctx, orderable)
    page, size = _window(ctx)
    count, chunk = ctx.store.page(
        kind, ctx.livemode, order_by=field, descending=descending, offset=(page - 1) * size, limit=size, **equals
    )
    return {"count": count, "list": [expand(r) for r in chunk] if expand else chunk}


def _ordering(ctx: Context, orderable: Sequence[str]) -> tuple[str, bool]:
    """The `order` parameter (`field:ASC|DESC`) as (field, descending); newest first by default."""
    order = ctx.param("order")
    if not order:
        return "created_at", True
    field, _, direction = str(order).partition(":")
    if field not in orderable:
        raise bad_request(f"order: cannot sort by {field!r}; use one of {', '.join(orderable)}")
    return field, (direction or "ASC").upper() == "DESC"


def _window(ctx: Context) -> tuple[int, int]:
    return int(ctx.param("page") or 1), int(ctx.param("pageSize") or 20)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))
