"""The sandbox store's SQL paths answer exactly what the Python paths they replace answered:
`find` filters as `==` over the decoded objects did, and `page` orders and slices as the lists'
stable Python sort (`list_queries.page_of`) does, ties, nulls, numbers and text included."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from payment_kit_sandbox.database import SCHEMA_VERSION, Bound, Condition, NoneOf, OneOf, Store, field
from payment_kit_sandbox.list_queries import _sort_key

ROWS: list[dict[str, Any]] = [
    {"id": "cus_a", "livemode": False, "created_at": "2024-01-02T00:00:00.000Z", "name": "b", "did": "z1", "n": 3},
    {"id": "cus_b", "livemode": False, "created_at": "2024-01-01T00:00:00.000Z", "name": None, "did": "z2", "n": 1},
    {"id": "cus_c", "livemode": False, "created_at": "2024-01-02T00:00:00.000Z", "name": "a", "did": "z1"},
    {"id": "cus_d", "livemode": False, "created_at": "2024-01-03T00:00:00.000Z", "name": "B", "flag": True, "n": 2},
    {"id": "cus_e", "livemode": True, "created_at": "2024-01-04T00:00:00.000Z", "name": "a", "did": "z1", "n": 10},
    {"id": "cus_f", "livemode": False, "created_at": "2024-01-02T00:00:00.000Z", "name": "é", "n": 10.5},
]


@pytest.fixture
def store() -> Iterator[Store]:
    yield from stocked(Store())


def stocked(store: Store) -> Iterator[Store]:
    """`store` holding ROWS (and one invoice), inside a transaction; closed after."""
    with store.transaction():
        for row in ROWS:
            store.insert("customer", row)
        store.insert("invoice", {"id": "in_a", "livemode": False, "created_at": "2024", "customer_id": "cus_a"})
        yield store
    store.close()


def python_find(livemode: bool, **equals: Any) -> list[str]:
    mode = [r for r in ROWS if r["livemode"] == livemode]
    return [r["id"] for r in mode if all(r.get(k) == v for k, v in equals.items())]


@pytest.mark.parametrize(
    "equals",
    [{"did": "z1"}, {"did": None}, {"name": None}, {"flag": True}, {"n": 10.5}, {"n": 1}, {"did": "z1", "n": 3}, {}],
)
def test_find_filters_as_python_equality(store: Store, equals: dict[str, Any]) -> None:
    assert [o["id"] for o in store.find("customer", False, **equals)] == python_find(False, **equals)


def test_find_keeps_kind_and_mode_apart_and_filters_nested_values_in_python(store: Store) -> None:
    assert [o["id"] for o in store.find("customer", True, did="z1")] == ["cus_e"]
    assert store.find("invoice", False, customer_id="cus_a")[0]["id"] == "in_a"
    assert store.find("customer", False, metadata={"plan": "pro"}) == []
    assert store.first("customer", False, did="z2") == ROWS[1]


@pytest.mark.parametrize(("field", "descending"), list(itertools.product(["created_at", "name", "n"], [True, False])))
def test_page_orders_and_slices_as_the_python_sort(store: Store, field: str, descending: bool) -> None:
    mode = [r for r in ROWS if not r["livemode"]]
    keyed = sorted(enumerate(mode), key=lambda p: (_sort_key(p[1].get(field)), p[0]), reverse=descending)
    expected = [row["id"] for _, row in keyed]
    for offset, limit in [(0, 2), (2, 2), (4, 2), (0, 10), (6, 2)]:
        count, rows = store.page("customer", False, order_by=field, descending=descending, offset=offset, limit=limit)
        assert count == len(mode)
        assert [r["id"] for r in rows] == expected[offset : offset + limit]


def test_page_filters_and_refuses_what_it_cannot_order_or_filter_in_sql(store: Store) -> None:
    count, rows = store.page("customer", False, order_by="created_at", descending=True, offset=0, limit=5, did="z1")
    assert count == 2 and [r["id"] for r in rows] == ["cus_c", "cus_a"]
    with pytest.raises(ValueError, match="cannot order by"):
        store.page("customer", False, order_by="x') --", descending=True, offset=0, limit=5)
    with pytest.raises(ValueError, match="plain values only"):
        store.page("customer", False, order_by="name", descending=True, offset=0, limit=5, metadata={"a": "b"})


def python_order(field: str, descending: bool) -> list[str]:
    """The test-mode ids in the lists' Python order (stable: ties by age)."""
    mode = [r for r in ROWS if not r["livemode"]]
    keyed = sorted(enumerate(mode), key=lambda p: (_sort_key(p[1].get(field)), p[0]), reverse=descending)
    return [row["id"] for _, row in keyed]


@pytest.mark.parametrize(
    ("field", "descending"), list(itertools.product(["created_at", "name", "n", "flag"], [True, False]))
)
def test_cursor_pages_seek_as_the_python_sort_across_ties_nulls_and_types(
    store: Store, field: str, descending: bool
) -> None:
    """Keyset pages from every row, both ways: `created_at` has three rows of one instant, `name`,
    `n` and `flag` have NULLs and absent values, `n` integers and a float, `flag` a boolean."""
    expected = python_order(field, descending)
    for at, cursor in enumerate(expected):
        for limit in (1, 2, 9):
            count, after = store.page(
                "customer", False, order_by=field, descending=descending, limit=limit, starting_after=cursor
            )
            assert count == len(expected)
            assert [r["id"] for r in after] == expected[at + 1 : at + 1 + limit]
            _, before = store.page(
                "customer", False, order_by=field, descending=descending, limit=limit, ending_before=cursor
            )
            assert [r["id"] for r in before] == expected[max(0, at - limit) : at]


def test_a_cursor_must_be_a_row_of_the_filtered_list(store: Store) -> None:
    count, rows = store.page(
        "customer", False, order_by="name", descending=False, limit=5, starting_after="cus_c", did="z1"
    )
    assert count == 2 and [r["id"] for r in rows] == ["cus_a"]
    for cursor, equals in [("cus_b", {"did": "z1"}), ("cus_e", {}), ("in_a", {}), ("cus_none", {}), ("nul\x00", {})]:
        with pytest.raises(LookupError, match="not an object the filters match"):
            store.page("customer", False, order_by="name", descending=False, limit=5, ending_before=cursor, **equals)
    with pytest.raises(ValueError, match="one cursor"):
        store.page("customer", False, order_by="name", descending=False, limit=5, starting_after="a", ending_before="b")


def statements_of(store: Store, work: Callable[[], object]) -> int:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    return len(seen)


def test_a_first_page_is_one_statement_a_later_or_cursor_page_two(store: Store) -> None:
    def page(**how: Any) -> Callable[[], object]:
        return lambda: store.page("customer", False, order_by="created_at", descending=True, limit=2, **how)

    store.page("customer", False, order_by="created_at", descending=True, limit=2)  # flushes the fixture's rows
    assert statements_of(store, page()) == 1
    assert statements_of(store, page(offset=2)) == 2
    assert statements_of(store, page(offset=4)) == 2  # from the other end
    assert statements_of(store, page(starting_after="cus_c")) == 2
    assert store.page("customer", False, order_by="name", descending=True, limit=2, did="none") == (0, [])


CONDITIONS: list[list[Condition]] = [
    [OneOf("did", ("z1", "z2"))],
    [OneOf("did", ())],
    [NoneOf("did", ("z1",))],  # absent and null rows stay
    [NoneOf("name", ("a", "b"))],
    [NoneOf("name", ())],
    [NoneOf("did", ("z1",)), NoneOf("name", ("B",))],
    [Bound("n", low=2, high=10)],
    [Bound("n", low=3)],
    [Bound("name", low=1)],  # text is never within a numeric bound
    [Bound("n", low="a")],  # nor a number within a text one
    [Bound("created_at", low="2024-01-02", high="2024-01-03", high_open=True)],
    [OneOf("did", ("z1",)), Bound("n", high=5), NoneOf("name", ("a",))],
]


@pytest.mark.parametrize("conditions", CONDITIONS, ids=repr)
def test_conditions_filter_as_their_python_test(store: Store, conditions: list[Condition]) -> None:
    mode = [r for r in ROWS if not r["livemode"]]
    expected = [r["id"] for r in mode if all(c.test(r) for c in conditions)]
    assert [o["id"] for o in store.find("customer", False, *conditions)] == expected
    count, rows = store.page("customer", False, *conditions, order_by="created_at", descending=False, offset=0, limit=9)
    keyed = sorted(enumerate(r for r in mode if r["id"] in expected), key=lambda p: (p[1]["created_at"], p[0]))
    assert count == len(expected) and [r["id"] for r in rows] == [row["id"] for _, row in keyed]
    assert store.find("customer", True, *conditions) == [
        r for r in ROWS if r["livemode"] and all(c.test(r) for c in conditions)
    ]


def test_conditions_and_fields_name_plain_fields_only(store: Store) -> None:
    for condition in (OneOf("did') --", ("z1",)), NoneOf("a b", ()), Bound("n)", low=1)):
        with pytest.raises(ValueError, match="not a plain field name"):
            store.find("customer", False, condition)
    with pytest.raises(ValueError, match="not a plain field name"):
        field("x'y")


def test_buffered_writes_read_back_within_and_across_transactions() -> None:
    """Writes wait for the end of the transaction (or a read that needs them), yet every read in it
    sees them; an id taken twice is refused as the database refuses it; edits not saved change nothing."""
    store = Store()
    try:
        with store.transaction():
            made = store.insert("customer", {"id": "cus_x", "livemode": False, "name": "first"})
            made["name"] = "edited, not saved"
            assert store.get("customer", "cus_x", False) == {"id": "cus_x", "livemode": False, "name": "first"}
            assert store.get("invoice", "cus_x", False) is None  # another kind
            assert store.get("customer", "cus_x", True) is None  # another mode
            store.save("customer", {"id": "cus_x", "livemode": False, "name": "second"})
            assert store.find("customer", False, name="second")[0]["id"] == "cus_x"
        with store.transaction():  # a save of a row this transaction never read, then a read of it
            store.save("customer", {"id": "cus_x", "livemode": False, "name": "third"})
            assert store.get("customer", "cus_x", False) == {"id": "cus_x", "livemode": False, "name": "third"}
        with pytest.raises(sa.exc.IntegrityError), store.transaction():
            store.insert("customer", {"id": "cus_y", "livemode": False})
            store.insert("customer", {"id": "cus_y", "livemode": False})
        with store.transaction():
            assert store.get("customer", "cus_y", False) is None  # the failed transaction left nothing
            assert store.get("customer", "cus_x", False)["name"] == "third"  # type: ignore[index]
        with pytest.raises(RuntimeError, match="outside a transaction"):
            store.get("customer", "cus_x", False)
    finally:
        store.close()


# -- the webhook queue ---------------------------------------------------------------------------

QUEUE = [  # (delivery, endpoint, due: seconds from now)
    ("whd_1", "we_slow", -10),
    ("whd_2", "we_slow", -9),
    ("whd_3", "we_slow", -8),
    ("whd_4", "we_b", -7),
    ("whd_5", "we_c", -6),
    ("whd_6", "we_c", 5),
]


def queue_up(store: Store, now: float) -> None:
    for delivery_id, endpoint_id, due in QUEUE:
        store.queue_delivery(delivery_id, "evt_x", endpoint_id, False, now + due)


def claimed(store: Store, now: float, limit: int = 10, **busy: Any) -> list[str]:
    return [d["id"] for d in store.claim_deliveries(now, 60.0, limit, **busy)]


def test_the_webhook_queue_hands_out_each_endpoints_oldest_due_delivery_and_none_of_one_under_way(
    store: Store,
) -> None:
    now = time.time()
    queue_up(store, now)

    def settled(*delivery_ids: str) -> None:
        for delivery_id in delivery_ids:
            store.settle_delivery(delivery_id, state="delivered", attempts=1, next_at=0.0)

    assert store.next_delivery_at(now) == pytest.approx(now - 10)
    assert claimed(store, now, busy={"we_c"}) == ["whd_1", "whd_4"]  # one an endpoint, oldest first; we_c busy here
    assert claimed(store, now) == ["whd_5"]  # the other endpoints are under way (leased), for any process
    assert claimed(store, now) == [] and store.next_delivery_at(now) is None
    settled("whd_1")
    assert claimed(store, now) == ["whd_2"]  # we_slow's next, once its attempt is over
    settled("whd_2", "whd_4", "whd_5")
    assert claimed(store, now, limit=1) == ["whd_3"]  # one lane left: the delivery due longest
    settled("whd_3")
    assert claimed(store, now) == [] and store.next_delivery_at(now) == pytest.approx(now + 5)  # not yet due


# -- the schema ------------------------------------------------------------------------------------


def test_object_counts_follow_inserts_deletes_and_moves_and_count_a_list() -> None:
    """SQLite's `object_counts` is what `page` counts an unfiltered list by (and a list leaving a
    few rows out by an indexed field): it must follow every write, in the writing transaction."""
    store = Store()
    try:
        with store.transaction():
            for n in range(5):
                store.insert(
                    "invoice", {"id": f"in_{n}", "livemode": n == 4, "billing_reason": "stake" if n < 2 else None}
                )
        with store.transaction():
            store.delete("invoice", "in_3")
            store.conn.execute(sa.text("UPDATE objects SET kind = 'moved' WHERE id = 'in_2'"))
        with pytest.raises(RuntimeError), store.transaction():  # a rolled-back insert counts nothing
            store.insert("invoice", {"id": "in_9", "livemode": False})
            store.page("invoice", False, order_by="created_at", descending=True, limit=1)
            raise RuntimeError
        with store.transaction():
            counts = {
                (k, bool(m)): n
                for k, m, n in store.conn.execute(sa.text("SELECT kind, livemode, n FROM object_counts"))
            }
            assert counts == {("invoice", False): 2, ("invoice", True): 1, ("moved", False): 1}
            hidden = NoneOf("billing_reason", ("stake", "recharge"))
            assert store.page("invoice", False, hidden, order_by="created_at", descending=True, limit=1) == (0, [])
            assert (
                store.page("invoice", False, NoneOf("billing_reason", ()), order_by="id", descending=True, limit=1)[0]
                == 2
            )
            assert store.page("invoice", True, hidden, order_by="created_at", descending=True, limit=1)[0] == 1
            assert store.page("gone", True, order_by="created_at", descending=True, limit=1, offset=1) == (0, [])
    finally:
        store.close()


def test_a_version_3_database_is_upgraded_counting_its_objects(tmp_path: Path) -> None:
    db = str(tmp_path / "v3.sqlite")
    with Store(db) as store, store.transaction():  # made as version 3 was: no object_counts, no triggers
        for trigger in ("objects_counted_insert", "objects_counted_delete", "objects_counted_move"):
            store.conn.execute(sa.text(f"DROP TRIGGER {trigger}"))
        store.conn.execute(sa.text("DROP TABLE object_counts"))
        store.set_meta("schema_version", "3")
        for n in range(3):
            store.insert("meter_event", {"id": f"mevt_{n}", "livemode": False, "created_at": f"2024-0{n + 1}"})
    with Store(db) as store:
        with store.transaction():
            assert store.get_meta("schema_version") == str(SCHEMA_VERSION) == "5"
            count, rows = store.page("meter_event", False, order_by="created_at", descending=True, limit=1)
            assert count == 3 and rows[0]["id"] == "mevt_2"
            store.insert("meter_event", {"id": "mevt_3", "livemode": False, "created_at": "2024-04"})
        with store.transaction():  # the triggers count what comes after
            assert store.page("meter_event", False, order_by="created_at", descending=True, limit=1)[0] == 4


def test_a_version_4_database_gains_the_customer_locks_table(tmp_path: Path) -> None:
    db = str(tmp_path / "v4.sqlite")
    with Store(db) as store, store.transaction():  # made as version 4 was: no customer_locks
        store.conn.execute(sa.text("DROP TABLE customer_locks"))
        store.set_meta("schema_version", "4")
        store.insert("customer", {"id": "cus_kept", "livemode": False})
    with Store(db) as store, store.transaction():
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION) == "5"
        assert sa.inspect(store.conn).has_table("customer_locks")
        assert store.get("customer", "cus_kept", False) == {"id": "cus_kept", "livemode": False}
        store.lock_customer("cus_kept")  # the table is usable
