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
        page: Page[T] = self
        yield page
        while page.has_next_page():
            page = page._fetch(page.page + 1, page._size())
            yield page

    def auto_paging_iter(self) -> Iterator[T]:
        """Every row of every page, from this one on, fetched lazily."""
        for page in self.iter_pages():
            yield from page.list


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

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] = self
        yield page
        while page.has_next_page():
            page = await page._fetch(page.page + 1, page._size())
            yield page

    async def auto_paging_iter(self) -> AsyncIterator[T]:
        """Every row of every page, from this one on, fetched lazily."""
        async for page in self.iter_pages():
            for item in page.list:
                yield item
