"""A read-model commit moves each position only from where it expects it, all of them in
one transaction with the rows: when another runner moved one first, the commit is refused
naming that read model, and none of its rows or other positions are kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from projections.catalog import PROJECTIONS
from projections.changes import Upsert
from projections.generations import ensure_live, live_targets
from projections.pg_store import PostgresStore
from projections.schema import physical
from projections.sqlite_store import SQLiteStore
from projections.store import ReadModelStore
from projections.tracking import Mark, PositionConflict, Target, Work


@pytest.fixture
def sqlite_store(tmp_path: Path) -> ReadModelStore:
    return SQLiteStore(tmp_path / "read-models.sqlite")


@pytest.fixture
def postgres_store(fresh_pg_database: str) -> ReadModelStore:
    return PostgresStore(fresh_pg_database)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unstarted(request: pytest.FixtureRequest) -> ReadModelStore:
    found: ReadModelStore = request.getfixturevalue(f"{request.param}_store")
    return found


@pytest.fixture
async def store(unstarted: ReadModelStore) -> AsyncIterator[ReadModelStore]:
    found = unstarted
    await found.start()
    await ensure_live(found, PROJECTIONS)
    try:
        yield found
    finally:
        await found.close()


def works(targets: dict[str, Target], expected: int, position: int, label: str) -> list[Work]:
    board, audit = targets["case_board"], targets["audit_trail"]
    row = Upsert("case_board", {"case_id": "00000000-0000-4000-8000-000000000001"},
                 {"status": label})
    return [Work(board, [Mark(expected, position, position)], [row]),
            Work(audit, [Mark(expected, position, position)])]


async def test_a_position_moved_by_another_runner_refuses_the_whole_commit(
        store: ReadModelStore) -> None:
    targets = {t.target.name: t.target for t in await live_targets(store, PROJECTIONS)}
    await store.commit(works(targets, 0, 5, "first"))
    moved_first = [w for w in works(targets, 5, 9, "second") if w.target.name == "audit_trail"]
    await store.commit(moved_first)  # another runner moves the audit trail alone

    with pytest.raises(PositionConflict) as refused:
        await store.commit(works(targets, 5, 9, "third"))

    assert "audit_trail" in str(refused.value)
    positions = {(p.projection, p.position) for p in await store.positions()
                 if p.projection in ("case_board", "audit_trail")}
    assert positions == {("case_board", 5), ("audit_trail", 9)}
    table = physical("case_board", targets["case_board"].generation)
    rows = await store.fetch(f"SELECT status FROM {table}")
    assert [r["status"] for r in rows] == ["first"]
