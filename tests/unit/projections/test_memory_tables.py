"""In-memory tables apply changes exactly as the SQL writers do."""

from __future__ import annotations

from projections.changes import Delete, Increment, Insert, Latest, Update, Upsert
from projections.memory import MemoryTables
from projections.schema import INT, TEXT, Column, Table

ROWS = Table("rows", (Column("k", TEXT), Column("n", INT, 0), Column("label", TEXT),
                      Column("seen", INT)), key=("k",))


def tables() -> MemoryTables:
    return MemoryTables([ROWS])


def test_insert_keeps_the_first_row_with_a_key() -> None:
    t = tables()
    t.apply([Insert("rows", {"k": "a", "label": "first"}),
             Insert("rows", {"k": "a", "label": "second"})])

    assert t.rows("rows") == [{"k": "a", "n": 0, "label": "first", "seen": None}]


def test_upsert_creates_with_defaults_then_overwrites_only_named_columns() -> None:
    t = tables()
    t.apply([Upsert("rows", {"k": "a"}, {"label": "x"}), Increment("rows", {"k": "a"}, "n", 2),
             Upsert("rows", {"k": "a"}, {"seen": 4})])

    assert t.rows("rows") == [{"k": "a", "n": 2, "label": "x", "seen": 4}]


def test_increment_creates_the_row_with_the_delta() -> None:
    t = tables()
    t.apply([Increment("rows", {"k": "a"}, "n", -1)])

    assert t.rows("rows")[0]["n"] == -1


def test_latest_never_goes_back() -> None:
    t = tables()
    t.apply([Latest("rows", {"k": "a"}, "seen", 5), Latest("rows", {"k": "a"}, "seen", 3)])

    assert t.rows("rows")[0]["seen"] == 5


def test_update_matches_null_and_other_columns() -> None:
    t = tables()
    t.apply([Insert("rows", {"k": "a"}), Insert("rows", {"k": "b", "label": "x"}),
             Update("rows", {"label": None}, {"label": "filled"})])

    assert [r["label"] for r in t.rows("rows")] == ["filled", "x"]


def test_delete_by_other_columns_removes_every_match() -> None:
    t = tables()
    t.apply([Insert("rows", {"k": k, "label": "x"}) for k in "abc"]
            + [Update("rows", {"k": "b"}, {"label": "y"}), Delete("rows", {"label": "x"})])

    assert [r["k"] for r in t.rows("rows")] == ["b"]


def test_rows_drain_as_tuples_in_column_order() -> None:
    t = tables()
    t.apply([Insert("rows", {"k": "a", "label": "x"})])

    assert t.drain_records("rows") == [("a", 0, "x", None)]
    assert t.rows("rows") == []
