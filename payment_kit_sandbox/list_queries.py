"""What most list handlers share: filters, search, order and pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .context import Context, iso
from .database import Bound, Condition, OneOf, field_value
from .engine.customers import plain_did
from .refusals import bad_request

__all__ = [
    "any_of_param",
    "created_between",
    "customer_condition",
    "equal_params",
    "filter_customer",
    "filter_equal",
    "filter_in",
    "filter_metadata",
    "keep_all",
    "metadata_keep",
    "page_of",
    "search",
    "search_keep",
    "stored_page",
]

DEFAULT_ORDERABLE = ("created_at", "updated_at")

PAGE_IN_SQL = True
"""False: `stored_page` reads every row of the kind and filters, orders and pages in Python, as the
lists did before they paged in SQL (tests compare the two paths' answers)."""

LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z, the last second an ISO timestamp of 4-digit years holds


def equal_params(ctx: Context, *names: str) -> dict[str, Any]:
    """The query parameters among `names` that were sent, by name: fields each row must equal."""
    return {name: ctx.param(name) for name in names if ctx.param(name) is not None}


def filter_equal(ctx: Context, rows: Iterable[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """Keep rows whose field equals each given query parameter of the same name."""
    wanted = equal_params(ctx, *fields)
    return [row for row in rows if all(row.get(name) == value for name, value in wanted.items())]


def any_of_param(ctx: Context, name: str, field: str | None = None) -> list[Condition]:
    """A comma-separated query parameter (`status=paid,open`, or qs's `status[0]=paid&status[1]=open`)
    as a condition: the row's field is any of the values (none when the parameter is absent)."""
    raw = ctx.param(name, accepts_list=True)
    if raw is None:
        return []
    return [OneOf(field or name, tuple(sorted({v.strip() for v in str(raw).split(",") if v.strip()})))]


def filter_in(
    ctx: Context, rows: Iterable[dict[str, Any]], name: str, field: str | None = None
) -> list[dict[str, Any]]:
    """Keep rows matching `any_of_param`."""
    conditions = any_of_param(ctx, name, field)
    return [row for row in rows if all(c.test(row) for c in conditions)]


def filter_metadata(ctx: Context, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`metadata.<key>=<value>` filters: every pair must match."""
    wanted = ctx.param("metadata") or {}
    out = list(rows)
    for key, value in wanted.items():
        out = [row for row in out if str((row.get("metadata") or {}).get(key)) == value]
    return out


def metadata_keep(ctx: Context) -> Callable[[dict[str, Any]], bool] | None:
    """The `metadata.<key>=<value>` filters as `stored_page`'s `keep`: they compare a value's text
    (`str(5) == "5"`), which SQL over JSON cannot say the same way on both backends."""
    if not ctx.param("metadata"):
        return None
    return lambda row: bool(filter_metadata(ctx, [row]))


def keep_all(*tests: Callable[[dict[str, Any]], bool] | None) -> Callable[[dict[str, Any]], bool] | None:
    """`stored_page`'s `keep` for several Python-only filters (None: there are none)."""
    present = [test for test in tests if test is not None]
    if not present:
        return None
    return lambda row: all(test(row) for test in present)


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


def customer_condition(ctx: Context) -> list[Condition]:
    """`customer_id` / `customer_did` as a condition on the row's `customer_id`."""
    wanted = find_customer_ids(ctx)
    return [] if wanted is None else [OneOf("customer_id", tuple(sorted(wanted)))]


def filter_customer(ctx: Context, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    conditions = customer_condition(ctx)
    return [row for row in rows if all(c.test(row) for c in conditions)]


def search(
    ctx: Context, rows: Iterable[dict[str, Any]], fields: Sequence[str], param: str = "query"
) -> list[dict[str, Any]]:
    """Case-insensitive substring match of the `query` (or `q`) text in any of `fields`."""
    text = ctx.param(param)
    if not text:
        return list(rows)
    needle = str(text).lower()
    return [row for row in rows if any(needle in str(row.get(f) or "").lower() for f in fields)]


def search_keep(ctx: Context, fields: Sequence[str], param: str = "query") -> Callable[[dict[str, Any]], bool] | None:
    """`search` as `stored_page`'s `keep` (None when the request searches nothing): a case-insensitive
    substring of `str()` of any field, which SQL over JSON cannot say the same way on both backends."""
    if not ctx.param(param):
        return None
    return lambda row: bool(search(ctx, [row], fields, param=param))


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
    size = _page_size(ctx)
    return items[(page - 1) * size : page * size]


def _cursor_paged(ctx: Context) -> bool:
    return bool(ctx.param("starting_after") or ctx.param("ending_before"))


def _cursor_page(ctx: Context, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`Pagination<T>`'s cursors: the items after `starting_after`, or the ones just before
    `ending_before`, in the list's order; `limit` (or `pageSize`) of them."""
    size = _page_size(ctx)
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


def stored_page(
    ctx: Context,
    kind: str,
    *conditions: Condition,
    orderable: Sequence[str] = DEFAULT_ORDERABLE,
    expand: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    keep: Callable[[dict[str, Any]], bool] | None = None,
    first: Callable[[dict[str, Any]], bool] | None = None,
    **equals: Any,
) -> dict[str, Any]:
    """`page_of` for a list filtered by field values (`equals`) and `conditions`: counted, ordered
    and sliced in SQL, so a page of a large table reads only its own rows. Same order, same answer.

    A cursor (`starting_after`, `ending_before`) pages by keyset: the rows past the cursor's sort
    key and seq, sought over the index. `keep` is a filter SQL cannot say exactly (a
    case-insensitive search, say), and `first` puts the rows it matches ahead of the others
    (subscriptions' `activeFirst`): when a request uses one, or several sort keys, the rows SQL
    selects are filtered and paged in Python (`page_of`), so such a request still reads only the
    rows its SQL filters match."""
    keys = _order(ctx.param("order"), orderable)
    if not PAGE_IN_SQL:
        rows = [
            row
            for row in ctx.store.all(kind, ctx.livemode)
            if all(field_value(row, name) == value for name, value in equals.items())
            and all(condition.test(row) for condition in conditions)
        ]
    elif keep is not None or first is not None or len(keys) > 1:
        rows = ctx.store.find(kind, ctx.livemode, *conditions, **equals)
    else:
        rows = None
    if rows is not None:
        kept = [r for r in rows if keep(r)] if keep else rows
        return page_of(ctx, kept, orderable=orderable, expand=expand, first=first)
    [(field, direction)] = keys
    after, before = ctx.param("starting_after"), ctx.param("ending_before")
    if after and before:
        raise bad_request("starting_after and ending_before: give one cursor, not both")
    page = int(ctx.param("page") or 1)
    size = _page_size(ctx)
    try:
        count, chunk = ctx.store.page(
            kind,
            ctx.livemode,
            *conditions,
            order_by=field,
            descending=direction == "DESC",
            offset=(page - 1) * size,
            limit=size,
            starting_after=str(after) if after else None,
            ending_before=str(before) if before else None,
            **equals,
        )
    except LookupError:
        name, cursor = ("starting_after", after) if after else ("ending_before", before)
        raise bad_request(f"{name}: {str(cursor)!r} is not an item of this list (with these filters)") from None
    return {"count": count, "list": [expand(r) for r in chunk] if expand else chunk}


def _page_size(ctx: Context) -> int:
    """`limit` (`Pagination<T>`) or `pageSize`, PaymentKit's default 20."""
    return int(ctx.param("limit") or ctx.param("pageSize") or 20)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))


def created_between(start: int | None, end: int | None) -> list[Condition]:
    """`start`/`end` (Unix seconds, inclusive) on `created_at`, whose ISO text sorts as its time:
    a second `s` holds the instants from `iso(s)` up to, not including, `iso(s + 1)`."""
    if (start is not None and start > LAST_SECOND) or (end is not None and end < 0):
        return [Bound("created_at", low="~")]  # after every timestamp: nothing matches
    low = iso(start) if start is not None and start > 0 else None
    high = iso(end + 1) if end is not None and end < LAST_SECOND else None
    return [Bound("created_at", low=low, high=high, high_open=True)] if low or high else []
