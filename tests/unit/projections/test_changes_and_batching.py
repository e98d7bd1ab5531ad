"""Changes, their SQL, and batching them into few statements without changing the result."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.batching import plan
from projections.changes import (
    Change,
    Delete,
    Increment,
    Insert,
    Latest,
    Update,
    Upsert,
    parameters,
    runs,
    shape,
)
from projections.memory import MemoryTables
from projections.schema import INT, TEXT, Column, Table
from projections.sql import statement

ROWS = Table("rows", (Column("k", TEXT), Column("group_name", TEXT), Column("n", INT, 0),
                      Column("label", TEXT), Column("seen", INT)), key=("k",))


def test_null_in_a_match_is_part_of_the_shape_and_not_a_parameter() -> None:
    change = Update("rows", {"k": "a", "label": None}, {"n": 3})

    assert shape(change) == ("update", "rows", ("k",), ("label",), ("n",))
    assert parameters(change) == [3, "a"]
    assert statement(shape(change), "rows", ("k",), "postgres") == (
        "UPDATE rows SET n = $1 WHERE k = $2 AND label IS NULL")


def test_upserts_overwrite_only_the_named_columns() -> None:
    sql = statement(shape(Upsert("rows", {"k": "a"}, {"label": "x"})), "t", ("k",), "sqlite")

    assert sql == ("INSERT INTO t (k, label) VALUES (?, ?) ON CONFLICT (k) "
                   "DO UPDATE SET label = excluded.label")


def test_latest_keeps_the_larger_value_in_both_dialects() -> None:
    change = Latest("rows", {"k": "a"}, "seen", 5)

    assert "GREATEST(t.seen, excluded.seen)" in statement(shape(change), "t", ("k",), "postgres")
    assert "MAX(COALESCE(t.seen, excluded.seen), excluded.seen)" in statement(
        shape(change), "t", ("k",), "sqlite")


def test_runs_group_consecutive_changes_of_one_shape() -> None:
    changes: list[Change] = [Insert("rows", {"k": "a"}), Insert("rows", {"k": "b"}),
                             Increment("rows", {"k": "a"}, "n", 1), Insert("rows", {"k": "c"})]

    assert [len(run) for _, run in runs(changes)] == [2, 1, 1]


def test_the_plan_puts_independent_rows_in_one_statement() -> None:
    changes: list[Change] = []
    for key in "abcdef":
        changes += [Upsert("rows", {"k": key}, {"label": key}),
                    Increment("rows", {"k": key}, "n", 1)]

    groups = plan(changes, {"rows": ROWS})

    assert [(g[0][0], len(g[1])) for g in groups] == [("upsert", 6), ("increment", 6)]


def test_changes_following_each_other_to_one_row_are_folded_into_one() -> None:
    changes: list[Change] = []
    for seen in (3, 9, 5):  # a busy volunteer: each event raises their last activity
        changes += [Latest("rows", {"k": "a"}, "seen", seen),
                    Increment("rows", {"k": "a"}, "n", 1)]
    changes += [Upsert("rows", {"k": "a"}, {"label": "x"}),
                Upsert("rows", {"k": "a"}, {"group_name": "g"})]

    groups = plan(changes, {"rows": ROWS})

    assert [(g[0][0], len(g[1])) for g in groups] == [("latest", 1), ("increment", 1),
                                                       ("upsert", 1)]
    [(_, [latest]), (_, [increment]), (_, [upsert])] = groups
    assert isinstance(latest, Latest) and latest.value == 9
    assert isinstance(increment, Increment) and increment.delta == 3
    assert isinstance(upsert, Upsert) and upsert.values == {"label": "x", "group_name": "g"}


def test_a_change_matching_its_row_by_more_than_the_key_is_not_a_barrier() -> None:
    changes: list[Change] = [Upsert("rows", {"k": "a"}, {"label": "x"}),
                             Update("rows", {"k": "b", "label": "y"}, {"label": "z"}),
                             Upsert("rows", {"k": "c"}, {"label": "x"})]

    ops = [(g[0][0], len(g[1])) for g in plan(changes, {"rows": ROWS})]

    assert sorted(ops) == [("update", 1), ("upsert", 2)]  # one layer: no barrier between


def test_a_change_matching_other_columns_orders_against_everything() -> None:
    changes: list[Change] = [Upsert("rows", {"k": "a"}, {"group_name": "g"}),
                             Update("rows", {"group_name": "g"}, {"label": "x"}),
                             Upsert("rows", {"k": "b"}, {"group_name": "g"})]

    ops = [g[0][0] for g in plan(changes, {"rows": ROWS})]

    assert ops == ["upsert", "update", "upsert"]


keys = st.sampled_from("abcd")
groups = st.sampled_from(["g", "h", None])
change_strategy = st.one_of(
    st.builds(lambda k, g: Insert("rows", {"k": k, "group_name": g}), keys, groups),
    st.builds(lambda k, label: Upsert("rows", {"k": k}, {"label": label}), keys,
              st.sampled_from(["x", "y"])),
    st.builds(lambda k, d: Increment("rows", {"k": k}, "n", d), keys, st.integers(-3, 3)),
    st.builds(lambda k, v: Latest("rows", {"k": k}, "seen", v), keys, st.integers(0, 9)),
    st.builds(lambda g, label: Update("rows", {"group_name": g}, {"label": label}), groups,
              st.sampled_from(["p", "q"])),
    st.builds(lambda k: Delete("rows", {"k": k}), keys),
    st.builds(lambda g: Delete("rows", {"group_name": g}), groups),
    st.builds(lambda k, g: Upsert("rows", {"k": k}, {"group_name": g, "label": "z"}), keys,
              groups),
    st.builds(lambda k, v: Latest("rows", {"k": k}, "seen", v), keys,
              st.one_of(st.none(), st.integers(0, 9))),
    st.builds(lambda k, g, label: Update("rows", {"k": k, "group_name": g}, {"label": label}),
              keys, groups, st.sampled_from(["p", "q"])),
    st.builds(lambda k, g: Delete("rows", {"k": k, "group_name": g}), keys, groups),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(change_strategy, max_size=40))
def test_applying_the_plan_gives_what_applying_one_by_one_gives(changes: list[Change]) -> None:
    one_by_one, planned = MemoryTables([ROWS]), MemoryTables([ROWS])
    one_by_one.apply(changes)
    for _, group in plan(changes, {"rows": ROWS}):
        planned.apply(group)

    assert planned.rows("rows") == one_by_one.rows("rows")


def test_many_upserts_of_one_shape_go_to_postgresql_as_one_statement_over_column_arrays() -> None:
    from projections.catalog import Projection
    from projections.store import change_statements
    from projections.tracking import Target, Work

    projection = Projection("rows", 1, (ROWS,), lambda r: [], "test rows")
    changes: list[Change] = [Upsert("rows", {"k": k}, {"label": f"l{k}", "n": i})
                             for i, k in enumerate("abc")]
    work = Work(Target(projection, 4), [], changes)

    [(sql, args)] = change_statements(work, "postgres")

    assert sql == ("INSERT INTO rm_rows_g4 (k, label, n) SELECT * FROM unnest($1::text[], "
                   "$2::text[], $3::bigint[]) ON CONFLICT (k) DO UPDATE SET "
                   "label = excluded.label, n = excluded.n")
    assert args == [[["a", "b", "c"], ["la", "lb", "lc"], [0, 1, 2]]]
    one = Work(Target(projection, 4), [], changes[:1])
    assert change_statements(one, "postgres")[0][1] == [["a", "la", 0]]  # one row: plain
    assert len(change_statements(work, "sqlite")[0][1]) == 3  # SQLite: row by row


def test_a_group_changes_its_rows_in_key_order_whatever_order_the_events_came_in() -> None:
    from projections.catalog import Projection
    from projections.store import change_statements
    from projections.tracking import Target, Work

    projection = Projection("rows", 1, (ROWS,), lambda r: [], "test rows")
    changes: list[Change] = [Latest("rows", {"k": k}, "seen", 1) for k in "cab"]

    [(_, args)] = change_statements(Work(Target(projection, 1), [], changes), "postgres")

    assert [row[0] for row in args] == ["a", "b", "c"]  # two workers lock them alike
