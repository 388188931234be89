"""The store's SQL paths on PostgreSQL answer exactly as on SQLite and as the Python paths they
replace: the same tests as tests/test_sandbox_store.py (equality filters, the order NULL <
numbers < text of the lists' Python sort key, the webhook queue), over a store on PostgreSQL; plus
what only PostgreSQL needs: strings holding NUL (which its JSON functions cannot hold as text), the
bounded retry of a request PostgreSQL aborted for a conflict, and two workers claiming from one
webhook queue at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from test_sandbox_store import (  # noqa: F401 - collected here again, over PostgreSQL
    ROWS,
    claimed,
    queue_up,
    stocked,
    test_a_cursor_must_be_a_row_of_the_filtered_list,
    test_a_first_page_is_one_statement_a_later_or_cursor_page_two,
    test_conditions_and_fields_name_plain_fields_only,
    test_conditions_filter_as_their_python_test,
    test_cursor_pages_seek_as_the_python_sort_across_ties_nulls_and_types,
    test_find_filters_as_python_equality,
    test_find_keeps_kind_and_mode_apart_and_filters_nested_values_in_python,
    test_page_filters_and_refuses_what_it_cannot_order_or_filter_in_sql,
    test_page_orders_and_slices_as_the_python_sort,
    test_the_webhook_queue_hands_out_each_endpoints_oldest_due_delivery_and_none_of_one_under_way,
)

from payment_kit_sandbox import database as store_module
from payment_kit_sandbox.app import SandboxConfig
from payment_kit_sandbox.database import Store, StoreBusy
from payment_kit_sandbox.server import start_in_thread


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


def conflict() -> sa.exc.OperationalError:
    """What SQLAlchemy raises when PostgreSQL aborts a transaction for a serialization conflict."""
    return sa.exc.OperationalError("UPDATE objects ...", {}, psycopg.errors.SerializationFailure())


def test_a_conflict_is_retried_with_a_fresh_transaction_and_a_lasting_one_is_busy(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def loses_twice() -> str:
        with_data = store.conn.execute(sa.text("SELECT count(*) FROM objects")).scalar_one()
        attempts.append(with_data)
        store.insert("customer", {"id": f"cus_try{len(attempts)}", "livemode": False})
        if len(attempts) < 3:
            raise conflict()
        return "won"

    with Store(pg_url) as store:
        assert store.run(loses_twice) == "won" and len(attempts) == 3
        with store.transaction():  # the lost attempts' writes were rolled back; the third's kept
            assert [o["id"] for o in store.all("customer", False)] == ["cus_try3"]

        monkeypatch.setattr(store_module, "RETRIES", 4)
        tries: list[None] = []

        def always_loses() -> None:
            tries.append(None)
            raise conflict()

        with pytest.raises(StoreBusy, match="conflicted with concurrent ones 4 times"):
            store.run(always_loses)
        assert len(tries) == 4


def test_a_request_that_keeps_losing_is_a_503_that_changed_nothing(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RETRIES", 3)
    with start_in_thread(SandboxConfig(db=pg_url, api_key="sk_busy")) as sandbox:

        def loses(ctx: Any) -> Any:
            ctx.store.insert("customer", {"id": "cus_never", "livemode": False})
            raise conflict()

        sandbox.app.state.handlers["createProduct"] = loses
        answer = httpx.post(
            f"{sandbox.base_url}/api/products",
            json={"name": "never stored", "type": "service"},
            headers={"Authorization": "Bearer sk_busy"},
        )
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        assert "busy" in answer.json()["error"] and "nothing was changed" in answer.json()["error"]
        with sandbox.app.state.store.transaction():
            assert sandbox.app.state.store.get("customer", "cus_never", False) is None


def test_two_workers_claiming_at_once_never_take_two_deliveries_of_one_endpoint(pg_url: str) -> None:
    """A claim that has not committed yet holds its rows (FOR UPDATE); the other worker skips them and
    takes no other delivery of their endpoints, then finds those endpoints under way (leased)."""
    now = time.time()
    with Store(pg_url, exclusive=False) as first, Store(pg_url, exclusive=False) as second:
        with first.transaction():
            queue_up(first, now)
        with first.transaction():
            assert claimed(first, now, limit=2) == ["whd_1", "whd_4"]
            with second.transaction():
                assert claimed(second, now) == ["whd_5"]  # we_slow's and we_b's heads are held: skipped
        with second.transaction():
            assert claimed(second, now) == []  # committed: every endpoint with a due delivery is under way
