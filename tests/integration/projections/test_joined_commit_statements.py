"""PostgreSQL runs a read-model commit's statements joined into few (one per plan layer):
the rows are those that applying every change one by one gives, on a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.catalog import Projection
from projections.changes import Change, Delete, Increment, Insert, Latest, Update, Upsert
from projections.memory import MemoryTables
from projections.schema import INT, TEXT, Column, Table, create_statements, physical
from projections.store import combined_statements
from projections.tracking import Target, Work

pytestmark = pytest.mark.postgres

GENERATION = 1


def table(name: str) -> Table:
    return Table(name, (Column("k", TEXT), Column("group_name", TEXT), Column("n", INT, 0),
                        Column("label", TEXT), Column("seen", INT)), key=("k",))


PAIRS = Table("pairs", (Column("a", TEXT), Column("b", TEXT), Column("n", INT, 0)),
              key=("a", "b"))
LEFT, RIGHT = table("left_rows"), table("right_rows")
PROJECTIONS = (Projection("sides", 1, (LEFT, RIGHT), lambda r: [], "two tables"),
               Projection("pairs", 1, (PAIRS,), lambda r: [], "a two-column key"))


def changes_to(name: str) -> st.SearchStrategy[Change]:
    keys, groups = st.sampled_from("abcd"), st.sampled_from(["g", "h", None])
    return st.one_of(
        st.builds(lambda k, g: Insert(name, {"k": k, "group_name": g}), keys, groups),
        st.builds(lambda k, v: Upsert(name, {"k": k}, {"label": v}), keys, st.sampled_from("xy")),
        st.builds(lambda k, g: Upsert(name, {"k": k}, {"group_name": g, "n": 2}), keys, groups),
        st.builds(lambda k, d: Increment(name, {"k": k}, "n", d), keys, st.integers(-3, 3)),
        st.builds(lambda k, v: Latest(name, {"k": k}, "seen", v), keys,
                  st.one_of(st.none(), st.integers(0, 9))),
        st.builds(lambda g, v: Update(name, {"group_name": g}, {"label": v}), groups,
                  st.sampled_from("pq")),
        st.builds(lambda k, g, v: Update(name, {"k": k, "group_name": g}, {"label": v}), keys,
                  groups, st.sampled_from("pq")),
        st.builds(lambda k: Delete(name, {"k": k}), keys),
        st.builds(lambda g: Delete(name, {"group_name": g}), groups),
    )


pair_changes = st.one_of(
    st.builds(lambda a, b, d: Increment("pairs", {"a": a, "b": b}, "n", d),
              st.sampled_from("xy"), st.sampled_from("uv"), st.integers(1, 3)),
    st.builds(lambda a: Delete("pairs", {"a": a}), st.sampled_from("xy")),
)
batches = st.tuples(st.lists(st.one_of(changes_to("left_rows"), changes_to("right_rows")),
                             max_size=30),
                    st.lists(pair_changes, max_size=12))


@pytest.fixture
def connection(fresh_pg_database: str) -> Iterator[tuple[asyncio.AbstractEventLoop,
                                                          asyncpg.Connection]]:
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(fresh_pg_database))
    for projection in PROJECTIONS:
        for t in projection.tables:
            for sql in create_statements(t, GENERATION, "postgres"):
                loop.run_until_complete(conn.execute(sql))
    yield loop, conn
    loop.run_until_complete(conn.close())
    loop.close()


async def committed(conn: asyncpg.Connection, works: list[Work]) -> dict[str, list[Any]]:
    async with conn.transaction():
        for t in (*PROJECTIONS[0].tables, *PROJECTIONS[1].tables):
            await conn.execute(f"TRUNCATE {physical(t.name, GENERATION)}")
        for sql, args in combined_statements(works):
            if len(args) == 1:
                await conn.execute(sql, *args[0])
            else:
                await conn.executemany(sql, args)
    rows = {}
    for t in (LEFT, RIGHT, PAIRS):
        found = await conn.fetch(f"SELECT * FROM {physical(t.name, GENERATION)}")
        rows[t.name] = sorted((tuple(r[c.name] for c in t.columns) for r in found),
                              key=repr)
    return rows


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches)
def test_a_joined_commit_leaves_the_rows_one_by_one_changes_leave(
        connection: tuple[asyncio.AbstractEventLoop, asyncpg.Connection],
        batch: tuple[list[Change], list[Change]]) -> None:
    loop, conn = connection
    sides, pairs = batch
    works = [Work(Target(PROJECTIONS[0], GENERATION), [], sides),
             Work(Target(PROJECTIONS[1], GENERATION), [], pairs)]
    expected = MemoryTables([LEFT, RIGHT, PAIRS])
    expected.apply([*sides, *pairs])

    rows = loop.run_until_complete(committed(conn, works))

    for t in (LEFT, RIGHT, PAIRS):
        wanted = [tuple(r.get(c.name) for c in t.columns) for r in expected.rows(t.name)]
        assert rows[t.name] == sorted(wanted, key=repr), t.name


def test_single_changes_of_a_layer_go_as_one_statement() -> None:
    changes: list[Change] = [Upsert("left_rows", {"k": "a"}, {"label": "x"}),
                             Increment("left_rows", {"k": "b"}, "n", 1),
                             Upsert("right_rows", {"k": "a"}, {"label": "y"})]
    statements = combined_statements([Work(Target(PROJECTIONS[0], GENERATION), [], changes)])

    [(sql, [args])] = statements
    assert sql.startswith("WITH s0 AS (INSERT INTO rm_left_rows_g1")
    assert "$6" in sql and "$7" not in sql
    assert args == ["b", 1, "a", "x", "a", "y"]  # tables and shapes in one order everywhere
