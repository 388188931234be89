"""Pages of PaymentKit's `{count, list}` answers, and lazy walks over every page.

A `Page` is what one request answered: `count` (every matching row),
`list` (this page's rows), plus iteration over `list`. `auto_paging_iter()`
yields every row of every page, fetching the next page only when the caller
has consumed the current one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar, overload

from ._errors import NoMorePagesError

__all__ = ["AsyncPage", "Page"]

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20  # PaymentKit's own default


def _json(item: Any) -> Any:
    return item.to_dict() if hasattr(item, "to_dict") else item


class _PageBase(Generic[T]):
    def __init__(self, *, count: int, items: list[T], page: int, page_size: int | None, paginated: bool) -> None:
        self.count = count
        self.list = items
        self.page = page
        self.page_size = page_size
        self._paginated = paginated

    def __iter__(self) -> Iterator[T]:
        return iter(self.list)

    def __len__(self) -> int:
        return len(self.list)

    @overload
    def __getitem__(self, key: int) -> T: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: int | str) -> Any:
        """`page[0]` is the first row; `page["count"]` and `page["list"]` read the answer's JSON keys."""
        if isinstance(key, str):
            if key == "count":
                return self.count
            if key == "list":
                return self.list
            raise KeyError(key)
        return self.list[key]

    def to_dict(self) -> dict[str, Any]:
        """The answer's JSON, `{"count": …, "list": […]}`."""
        return {"count": self.count, "list": [_json(item) for item in self.list]}

    def has_next_page(self) -> bool:
        """Whether rows remain after this page (by `count`, PaymentKit's total)."""
        if not self._paginated or not self.list:
            return False
        return (self.page - 1) * self._size() + len(self.list) < self.count

    def _size(self) -> int:
        # Without an explicit page size, the server's default is the length of a
        # full page; following pages are then requested with that size explicitly.
        return self.page_size or len(self.list) or DEFAULT_PAGE_SIZE

    def __repr__(self) -> str:
        return f"{type(self).__name__}(count={self.count}, page={self.page}, rows={len(self.list)})"


class Page(_PageBase[T]):
    """One page of a list (sync client)."""

    def __init__(
        self,
        *,
        count: int,
        items: list[T],
        page: int,
        page_size: int | None,
        paginated: bool,
        fetch: Callable[[int, int], Page[T]],
    ) -> None:
        super().__init__(count=count, items=items, page=page, page_size=page_size, paginated=paginated)
        self._fetch = fetch

    def next_page(self) -> Page[T]:
        """The following page (same filters).

        Raises `NoMorePagesError` on the last page (check `has_next_page()` first).
        """
        if not self.has_next_page():
            raise NoMorePagesError(f"page {self.page} is the last of {self.count} rows")
        return self._fetch(self.page + 1, self._size())

    def iter_pages(self) -> Iterator[Page[T]]:
        """This page, then each following page, fetched as the caller advances."""
        return _walk_pages(self)

    def auto_paging_iter(self) -> Iterator[T]:
        """Every row of every page, from this one on, fetched lazily.

        Only the page being walked is held: a walk over many pages stays one page in memory.
        """
        return _walk_rows(self)


class AsyncPage(_PageBase[T]):
    """One page of a list (async client); walk every row with `async for`."""

    def __init__(
        self,
        *,
        count: int,
        items: list[T],
        page: int,
        page_size: int | None,
        paginated: bool,
        fetch: Callable[[int, int], Awaitable[AsyncPage[T]]],
    ) -> None:
        super().__init__(count=count, items=items, page=page, page_size=page_size, paginated=paginated)
        self._fetch = fetch

    async def next_page(self) -> AsyncPage[T]:
        """The following page (same filters).

        Raises `NoMorePagesError` on the last page (check `has_next_page()` first).
        """
        if not self.has_next_page():
            raise NoMorePagesError(f"page {self.page} is the last of {self.count} rows")
        return await self._fetch(self.page + 1, self._size())

    def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page, then each following page, fetched as the caller advances."""
        return _walk_async_pages(self)

    def auto_paging_iter(self) -> AsyncIterator[T]:
        """Every row of every page, from this one on, fetched lazily (one page held at a time)."""
        return _walk_async_rows(self)


# The walks are module functions, not methods: a generator method would hold `self` (the first
# page) for the whole walk. Each keeps only the page in hand, and lets it go before fetching
# the next one.


def _walk_pages(page: Page[T]) -> Iterator[Page[T]]:
    while True:
        yield page
        if not page.has_next_page():
            return
        number, size, fetch = page.page + 1, page._size(), page._fetch
        del page
        page = fetch(number, size)


def _walk_rows(page: Page[T]) -> Iterator[T]:
    pages = _walk_pages(page)
    del page
    for current in pages:
        rows = current.list
        del current
        yield from rows
        del rows


async def _walk_async_pages(page: AsyncPage[T]) -> AsyncIterator[AsyncPage[T]]:
    while True:
        yield page
        if not page.has_next_page():
            return
        number, size, fetch = page.page + 1, page._size(), page._fetch
        del page
        page = await fetch(number, size)


async def _walk_async_rows(page: AsyncPage[T]) -> AsyncIterator[T]:
    pages = _walk_async_pages(page)
    del page
    async for current in pages:
        rows = current.list
        del current
        for row in rows:
            yield row
        del rows
