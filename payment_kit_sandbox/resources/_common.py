"""What most handlers share: lists with filters, search, order and pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..context import Context
from ..errors import bad_request

__all__ = ["filter_equal", "filter_in", "filter_metadata", "page_of", "search"]

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
    # Sort by the last key first: stable sorts then give the first key precedence.
    for field, direction in reversed(_order(ctx.param("order"), orderable)):
        keyed = list(enumerate(items))
        keyed.sort(key=lambda pair: (_sort_key(pair[1].get(field)), pair[0]), reverse=direction == "DESC")
        items = [row for _, row in keyed]
    if first is not None:
        items = [r for r in items if first(r)] + [r for r in items if not first(r)]
    chunk = _cursor_page(ctx, items) if _cursor_paged(ctx) else _numbered_page(ctx, items)
    return {"count": len(items), "list": [expand(r) for r in chunk] if expand else chunk}


def _order(order: Any, orderable: Sequence[str]) -> list[tuple[str, str]]:
    """`OrderInput`'s string forms: `field:ASC|DESC` or a bare `field` (ascending); the sandbox
    also takes several, comma-separated. Rows come oldest first, so the default is newest first."""
    if not order:
        return [("created_at", "DESC")]
    keys = []
    for part in str(order).split(","):
        field, _, direction = part.strip().partition(":")
        direction = (direction or "ASC").upper()
        if field not in orderable:
            raise bad_request(f"order: cannot sort by {field!r}; use one of {', '.join(orderable)}")
        if direction not in ("ASC", "DESC"):
            raise bad_request(f"order: direction {direction!r} of {field!r} is neither ASC nor DESC")
        keys.append((field, direction))
    return keys


def _numbered_page(ctx: Context, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    page = int(ctx.param("page") or 1)
    size = int(ctx.param("limit") or ctx.param("pageSize") or 20)
    return items[(page - 1) * size : page * size]


def _cursor_paged(ctx: Context) -> bool:
    return bool(ctx.param("starting_after") or ctx.param("ending_before"))


def _cursor_page(ctx: Context, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`Pagination<T>`'s cursors: the items after `starting_after`, or the ones just before
    `ending_before`, in the list's order; `limit` (or `pageSize`) of them."""
    size = int(ctx.param("limit") or ctx.param("pageSize") or 20)
    after, before = ctx.param("starting_after"), ctx.param("ending_before")
    if after and before:
        raise bad_request("starting_after and ending_before: give one cursor, not both")
    ids = [row.get("id") for row in items]
    cursor = str(after or before)
    if cursor not in ids:
        name = "starting_after" if after else "ending_before"
        raise bad_request(f"{name}: {cursor!r} is not an item of this list (with these filters)")
    at = ids.index(cursor)
    return items[at + 1 : at + 1 + size] if after else items[max(0, at - size) : at]


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))
