"""A rebuild split by stream: every read model keeps the partition contract on a whole day's
events, and the partitions' rows plus their crossing changes make what one pass makes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from projection_checks import all_records, expected
from projection_scenario import Scenario
from projection_settings import pg_settings

from projections.catalog import PROJECTIONS
from projections.changes import Increment, Latest
from projections.memory import MemoryTables
from projections.partition import Crossing, Partition, Router, own_rows_only
from projections.rebuild import PartSource
from projections.records import EventRecord
from projections.schema import normalised
from projections.sources import SQLiteEventSource
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.readmodels import source_config


@pytest.fixture
def day(sqlite_app: CorridorApplication) -> list[EventRecord]:
    Scenario(sqlite_app).full_day(cases=30)
    return all_records(sqlite_app)


def test_every_read_model_changes_other_streams_rows_only_by_increment_or_latest(
        day: list[EventRecord]) -> None:
    crossing = Counter()
    for projection in PROJECTIONS:
        for record in day:
            changes = projection.project(record)
            own_rows_only(projection.name, projection.tables, record, changes)
            crossing[projection.name] += sum(isinstance(c, Increment | Latest) for c in changes)

    assert len({r.type for r in day}) >= 25  # the day covers most kinds of event
    assert crossing["volunteer_workload"] > 0  # and some changes do cross streams


@pytest.mark.parametrize("count", [2, 3])
def test_partitions_and_their_crossing_changes_build_what_one_pass_builds(
        day: list[EventRecord], count: int) -> None:
    parts = [Partition(i, count) for i in range(count)]
    for projection in PROJECTIONS:
        union = MemoryTables(projection.tables)
        crossing = Crossing()
        for part in parts:
            router = Router(projection.name, projection.tables, part)
            memory = MemoryTables(projection.tables, router.here)
            for record in (r for r in day if part.holds(r.stream_id)):
                memory.apply(projection.project(record))
            for name, table in memory.tables.items():
                overlap = set(table.rows) & set(union.tables[name].rows)
                assert not overlap, f"{name}: rows built in two partitions"
                union.tables[name].rows.update(table.rows)
            crossing.extend(router.crossing.changes())
        union.apply(crossing.changes())

        want = expected([projection], day)
        for table in projection.tables:
            assert normalised(table, union.rows(table.name)) == want[table.name], table.name


async def _shares_cover_every_event_once(source: PartSource, count: int) -> None:
    everything = [r.position for r in await source.read(0, 100_000)]
    shares = []
    for part in (Partition(i, count) for i in range(count)):
        records, last = await source.read_part(0, 100_000, part)
        assert last == everything[-1]
        assert all(part.holds(r.stream_id) for r in records)
        shares += [r.position for r in records]
    assert sorted(shares) == everything


async def test_the_partitions_of_the_embedded_store_cover_every_event_once(
        sqlite_app: CorridorApplication, tmp_path: Path) -> None:
    Scenario(sqlite_app).full_day(cases=10)
    source = SQLiteEventSource(Settings(store="sqlite", data_dir=tmp_path).sqlite_path)
    try:
        await _shares_cover_every_event_once(source, 2)
    finally:
        await source.close()


@pytest.mark.postgres
@pytest.mark.parametrize("count", [2, 3])
async def test_postgresql_picks_each_partitions_events_as_partition_holds_them(
        pg_app: CorridorApplication, fresh_pg_database: str, tmp_path: Path,
        count: int) -> None:
    Scenario(pg_app).full_day(cases=10)
    source = source_config(pg_settings(fresh_pg_database, tmp_path)).open()
    try:
        await _shares_cover_every_event_once(source, count)
    finally:
        await source.close()
