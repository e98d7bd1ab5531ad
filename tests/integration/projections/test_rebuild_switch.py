"""Rebuilding from zero into a new generation and switching over while the runner runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from projection_checks import actual, all_records, differences, expected, settled
from projection_scenario import Scenario
from projection_settings import pg_settings

from projections.catalog import PROJECTIONS
from projections.generations import ensure_live, live_of
from projections.parallel import ProcessFill
from projections.rebuild import rebuild
from projections.runner import RecorderSource, StoreRunner
from projections.sources import PostgresEventSource, SQLiteEventSource
from projections.store import ReadModelStore
from projections.tracking import BUILDING, LIVE, RETIRED
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.readmodels import source_config, store_config


class RebuildContract:
    """Blue/green rebuilds on every backend."""

    app: CorridorApplication
    store: ReadModelStore
    source: PostgresEventSource | SQLiteEventSource

    async def states(self) -> dict[tuple[str, int], str]:
        return {(g.projection, g.generation): g.state for g in await self.store.generations()}

    async def test_a_rebuild_fills_a_new_generation_and_switches_while_writes_go_on(
            self) -> None:
        scenario = Scenario(self.app)
        scenario.full_day(cases=20)
        await ensure_live(self.store, PROJECTIONS)
        runner = StoreRunner(self.store, RecorderSource(self.app.recorder), PROJECTIONS,
                             batch_size=50, idle_seconds=0.02)
        stop = asyncio.Event()
        following = asyncio.create_task(runner.run(stop))
        writing = asyncio.create_task(asyncio.to_thread(scenario.cases_round, 10))

        report = await rebuild(self.store, self.source, PROJECTIONS)
        await writing
        scenario.cases_round(3)  # after the switch: the runner now feeds generation 2
        await settled(self.store, scenario.last_position)
        stop.set()
        await following

        assert report.switched and set(report.generations.values()) == {2}
        states = await self.states()
        assert {s for (_, g), s in states.items() if g == 2} == {LIVE}
        assert {s for (_, g), s in states.items() if g == 1} == {RETIRED}
        want = expected(PROJECTIONS, all_records(self.app))
        got = await actual(self.store, PROJECTIONS)
        assert differences(got, want) == {}

    async def test_the_retired_generation_is_kept_once_then_dropped(self) -> None:
        Scenario(self.app).full_day(cases=5)
        await ensure_live(self.store, PROJECTIONS)

        await rebuild(self.store, self.source, PROJECTIONS)
        await rebuild(self.store, self.source, PROJECTIONS)

        states = await self.states()
        assert {g for (_, g) in states} == {2, 3}
        assert {s for (_, g), s in states.items() if g == 2} == {RETIRED}
        assert await self.store.fetch("SELECT COUNT(*) AS n FROM rm_audit_events_g3")

    async def test_a_rebuild_that_does_not_switch_leaves_queries_on_the_old_generation(
            self) -> None:
        Scenario(self.app).full_day(cases=5)
        await ensure_live(self.store, PROJECTIONS)

        report = await rebuild(self.store, self.source, PROJECTIONS, switch=False)

        live = live_of(await self.store.generations())
        assert {g.generation for g in live.values()} == {1}
        assert set((await self.states()).values()) == {LIVE, BUILDING}
        assert not report.switched
        want = expected(PROJECTIONS, all_records(self.app))
        assert differences(await actual(self.store, PROJECTIONS, report.generations),
                           want) == {}


class TestRebuildOnSQLite(RebuildContract):
    @pytest.fixture(autouse=True)
    async def _backend(self, sqlite_app: CorridorApplication, sqlite_store: ReadModelStore,
                       tmp_path: Path) -> AsyncIterator[None]:
        self.app, self.store = sqlite_app, sqlite_store
        self.source = source_config(Settings(store="sqlite", data_dir=tmp_path)).open()
        yield
        await self.source.close()


@pytest.mark.postgres
class TestRebuildOnPostgres(RebuildContract):
    @pytest.fixture(autouse=True)
    async def _backend(self, pg_app: CorridorApplication, pg_store: ReadModelStore,
                       fresh_pg_database: str, tmp_path: Path) -> AsyncIterator[None]:
        self.app, self.store = pg_app, pg_store
        self.source = source_config(pg_settings(fresh_pg_database, tmp_path)).open()
        yield
        await self.source.close()


@pytest.mark.postgres
class TestRebuildInProcessesOnPostgres:
    """The fill split over processes by stream (`corridor rebuild --processes N`), with the
    changes that cross into another process's rows applied after the load, gives the same
    read models as one process."""

    @pytest.fixture(autouse=True)
    async def _backend(self, pg_app: CorridorApplication, pg_store: ReadModelStore,
                       fresh_pg_database: str, tmp_path: Path) -> AsyncIterator[None]:
        self.app, self.store = pg_app, pg_store
        settings = pg_settings(fresh_pg_database, tmp_path)
        self.source_config = source_config(settings)
        self.store_config = store_config(settings)
        self.source = self.source_config.open()
        yield
        await self.source.close()

    @pytest.mark.parametrize("processes", [2, 3])
    async def test_processes_each_with_a_share_of_the_streams_build_what_one_would(
            self, processes: int) -> None:
        Scenario(self.app).full_day(cases=20)
        await ensure_live(self.store, PROJECTIONS)
        parallel = ProcessFill(self.store_config, self.source_config, processes)

        report = await rebuild(self.store, self.source, PROJECTIONS, parallel=parallel)

        head = self.app.recorder.max_notification_id()
        assert report.switched and set(report.generations.values()) == {2}
        assert report.events == head  # each event projected once, by one process
        want = expected(PROJECTIONS, all_records(self.app))
        assert differences(await actual(self.store, PROJECTIONS), want) == {}
        positions = {p.projection: p.position for p in await self.store.positions()
                     if p.generation == 2}
        assert positions == dict.fromkeys((p.name for p in PROJECTIONS), head)
        indexes = await self.store.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'rm_audit_events_g2'")
        assert indexes  # built once, by the process that loaded its rows last
