"""The in-process runner applies every stored event exactly once, whatever breaks when.

One contract, two backends (SQLite embedded default, PostgreSQL): each test ends by
comparing every read-model table with a fresh projection of all events in the store.
"""

from __future__ import annotations

import asyncio

import pytest
from projection_checks import (
    Boom,
    Killed,
    actual,
    all_records,
    differences,
    expected,
    fail_on,
    settled,
)
from projection_scenario import Scenario

from projections.catalog import PROJECTIONS
from projections.generations import ensure_live, live_targets
from projections.runner import RecorderSource, StoreRunner
from projections.store import ReadModelStore
from services.storage.application import CorridorApplication


class RunnerContract:
    """What every backend must do; subclasses choose the event store and read-model store."""

    app: CorridorApplication
    store: ReadModelStore

    def runner(self, batch_size: int = 40) -> StoreRunner:
        return StoreRunner(self.store, RecorderSource(self.app.recorder), PROJECTIONS,
                           batch_size=batch_size, idle_seconds=0.05)

    async def assert_equals_a_fresh_projection(self) -> None:
        want = expected(PROJECTIONS, all_records(self.app))
        got = await actual(self.store, PROJECTIONS)
        assert differences(got, want) == {}
        assert got == want

    async def test_following_the_store_equals_a_fresh_projection(self) -> None:
        Scenario(self.app).full_day(cases=15)
        await ensure_live(self.store, PROJECTIONS)

        covered = await self.runner().catch_up()

        assert covered == self.app.recorder.max_notification_id()
        await self.assert_equals_a_fresh_projection()

    async def test_a_failure_before_commit_is_rolled_back_and_redone_once(self) -> None:
        head = Scenario(self.app).full_day(cases=15)
        hook, calls = fail_on({2, 3, 5}, Boom("disk full"))
        self.store.before_commit = hook
        stop = asyncio.Event()
        task = asyncio.create_task(self.runner().run(stop))

        await settled(self.store, head)
        stop.set()
        await task

        assert len(calls) > 5, "the failed batches were retried"
        await self.assert_equals_a_fresh_projection()

    async def test_a_runner_killed_mid_transaction_resumes_from_its_stored_position(
            self) -> None:
        head = Scenario(self.app).full_day(cases=15)
        hook, _ = fail_on({3}, Killed())
        self.store.before_commit = hook

        with pytest.raises(Killed):
            await self.runner().run(asyncio.Event())
        self.store.before_commit = None
        halfway = {t.target.name: t.position for t in await live_targets(self.store,
                                                                          PROJECTIONS)}
        assert 0 < min(halfway.values()) < head, "two batches committed, the third did not"

        await self.runner().catch_up()  # a new process: positions come from the database

        await self.assert_equals_a_fresh_projection()

    async def test_a_restart_after_commit_applies_nothing_twice(self) -> None:
        scenario = Scenario(self.app)
        scenario.full_day(cases=10)
        await ensure_live(self.store, PROJECTIONS)
        await self.runner().step()  # commits a batch, then the process "dies"

        scenario.cases_round(5)
        await self.runner().catch_up()

        await self.assert_equals_a_fresh_projection()

    async def test_two_runners_racing_apply_each_batch_once(self) -> None:
        head = Scenario(self.app).full_day(cases=15)
        await ensure_live(self.store, PROJECTIONS)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(self.runner(batch_size=25).run(stop)) for _ in range(2)]

        await settled(self.store, head)
        stop.set()
        await asyncio.gather(*tasks)

        await self.assert_equals_a_fresh_projection()

    async def test_events_stored_while_the_runner_runs_all_arrive(self) -> None:
        scenario = Scenario(self.app)
        scenario.staff()
        scenario.report_resources()
        stop = asyncio.Event()
        task = asyncio.create_task(self.runner(batch_size=7).run(stop))

        for _ in range(4):
            await asyncio.to_thread(scenario.cases_round, 4)
        await settled(self.store, scenario.last_position)
        stop.set()
        await task

        await self.assert_equals_a_fresh_projection()


class TestOnSQLite(RunnerContract):
    """The embedded default: events and read models in SQLite files."""

    @pytest.fixture(autouse=True)
    def _backend(self, sqlite_app: CorridorApplication, sqlite_store: ReadModelStore) -> None:
        self.app, self.store = sqlite_app, sqlite_store


@pytest.mark.postgres
class TestOnPostgres(RunnerContract):
    """Production: events and read models in PostgreSQL."""

    @pytest.fixture(autouse=True)
    def _backend(self, pg_app: CorridorApplication, pg_store: ReadModelStore) -> None:
        self.app, self.store = pg_app, pg_store
