"""The store's SQL paths on PostgreSQL answer exactly as on SQLite and as the Python paths they
replace: the same tests as tests/test_sandbox_store.py (equality filters, and the order NULL <
numbers < text of the lists' Python sort key), over a store on PostgreSQL; plus what only
PostgreSQL needs (strings holding NUL, which its JSON functions cannot hold as text)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_sandbox_store import (  # noqa: F401 - collected here again, over PostgreSQL
    ROWS,
    stocked,
    test_find_filters_as_python_equality,
    test_find_keeps_kind_and_mode_apart_and_filters_nested_values_in_python,
    test_page_filters_and_refuses_what_it_cannot_order_or_filter_in_sql,
    test_page_orders_and_slices_as_the_python_sort,
)

from payment_kit_sandbox.store import Store


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    yield from stocked(Store(pg_url))


ODD_STRINGS = ["nul \x00 inside", "\ue000", "\ue000\x00\ue0000", "\\u0000 as text", "\\\x00", "é😀\u202e"]


@pytest.mark.parametrize("text", ODD_STRINGS)
def test_strings_round_trip_and_compare_with_nul_and_its_escape(store: Store, text: str) -> None:
    obj: dict[str, Any] = {"id": "cus_odd", "livemode": False, "did": text, "name": {"nested": text}, text: 1}
    store.insert("customer", obj)
    assert store.get("customer", "cus_odd", False) == obj
    assert [o["id"] for o in store.find("customer", False, did=text)] == ["cus_odd"]
    total, rows = store.page("customer", False, order_by="did", descending=True, offset=0, limit=100)
    assert total == len(rows) == len([r for r in ROWS if not r["livemode"]]) + 1 and obj in rows
