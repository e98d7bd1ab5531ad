"""The store runner never loses a wake-up: a commit that lands while a step is reading (and
nudges the runner then) is applied at once, not after the runner's whole idle poll."""

from __future__ import annotations

import asyncio
from pathlib import Path

from projection_scenario import Scenario

from projections.catalog import PROJECTIONS
from projections.records import EventRecord
from projections.runner import RecorderSource, StoreRunner
from projections.sqlite_store import SQLiteStore
from services.storage.application import CorridorApplication


class CommitDuringRead:
    """The store's log; when armed, another writer commits (and nudges) while a read runs."""

    def __init__(self, app: CorridorApplication, scenario: Scenario) -> None:
        self.inner, self.scenario = RecorderSource(app.recorder), scenario
        self.runner: StoreRunner | None = None
        self.armed = False

    async def read(self, after: int, limit: int) -> list[EventRecord]:
        found = await self.inner.read(after, limit)
        if self.armed and self.runner is not None:
            self.armed = False
            self.scenario.report_resources()  # committed just after this read's snapshot
            self.runner.nudge()
            await asyncio.sleep(0.01)  # the step goes on a little (decoding, committing)
        return found

    async def head(self) -> int:
        return await self.inner.head()


async def reached(store: SQLiteStore, position: int, timeout: float) -> int:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        least = min([p.position for p in await store.positions()] or [0])
        if least >= position or asyncio.get_running_loop().time() > deadline:
            return least
        await asyncio.sleep(0.02)


async def test_a_commit_during_a_step_is_applied_without_waiting_for_the_poll(
        sqlite_app: CorridorApplication, tmp_path: Path) -> None:
    scenario = Scenario(sqlite_app)
    scenario.staff()
    source = CommitDuringRead(sqlite_app, scenario)
    store = SQLiteStore(tmp_path / "readmodels.sqlite")
    await store.start()
    runner = StoreRunner(store, source, PROJECTIONS, idle_seconds=60.0, gather_seconds=0)
    source.runner = runner
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:
        assert await reached(store, scenario.last_position, timeout=10) >= scenario.last_position
        source.armed = True
        runner.nudge()  # a step that reads while the next commit lands

        least = await reached(store, scenario.last_position + 1, timeout=5)
    finally:
        stop.set()
        await running
        await store.close()

    assert least >= scenario.last_position
