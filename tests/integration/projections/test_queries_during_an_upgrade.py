"""During an upgrade the process that keeps the read models rebuilds those another release
built (projections.rebuild.rebuild_stale); a process that only reads them (an HTTP worker
beside it) meanwhile answers 'being rebuilt' for those, and reads the others as before,
instead of running this release's queries on tables of the old shape."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from projections.catalog import PROJECTIONS
from projections.service import ProjectionService, ReadModelRebuilding
from projections.sqlite_store import SQLiteStore

CHANGED = "case_board"
NEXT_RELEASE = tuple(replace(p, version=p.version + 1) if p.name == CHANGED else p
                     for p in PROJECTIONS)


async def test_a_reader_of_the_next_release_waits_for_the_changed_read_model(
        tmp_path: Path) -> None:
    path = tmp_path / "read-models.sqlite"
    running = ProjectionService(SQLiteStore(path))  # this release made the live tables
    await running.start()
    await running.stop()
    reader = ProjectionService(SQLiteStore(path), projections=NEXT_RELEASE)
    await reader.start()
    try:
        with pytest.raises(ReadModelRebuilding) as refused:
            await reader.table(CHANGED, "case_board")
        audit = await reader.table("audit_trail", "audit_trail")

        assert refused.value.http_status == 503
        assert f"{CHANGED} is being rebuilt" in str(refused.value)
        assert audit.startswith("rm_audit_trail_g")
    finally:
        await reader.stop()


async def test_the_same_release_reads_its_own_tables(tmp_path: Path) -> None:
    service = ProjectionService(SQLiteStore(tmp_path / "read-models.sqlite"))
    await service.start()
    try:
        assert (await service.table(CHANGED, "case_board")).startswith("rm_case_board_g")
    finally:
        await service.stop()
