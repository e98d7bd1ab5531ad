"""`corridor project --from store` (and the supervisor of `serve --writer-process`) is woken
by the store's NOTIFY, not by its poll: with the poll stretched to a minute, events written
by another process reach the read models within seconds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from projection_scenario import Scenario
from projection_settings import pg_settings

from projections.catalog import PROJECTIONS
from services.runtime.store_follower import follow_store
from services.storage.application import CorridorApplication
from services.storage.readmodels import events_channel, store_config

pytestmark = pytest.mark.postgres


async def positions_reach(settings: object, position: int, timeout: float) -> list[int]:
    store = store_config(settings).open()  # type: ignore[arg-type]
    await store.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            reached = [p.position for p in await store.positions()]
            late = asyncio.get_running_loop().time() > deadline
            if late or (len(reached) == len(PROJECTIONS) and min(reached) >= position):
                return reached
            await asyncio.sleep(0.02)
    finally:
        await store.close()


def test_the_channel_is_the_one_the_recorder_notifies(pg_app: CorridorApplication,
                                                      fresh_pg_database: str,
                                                      tmp_path: Path) -> None:
    settings = pg_settings(fresh_pg_database, tmp_path)

    assert events_channel(settings) == pg_app.recorder.channel_name  # type: ignore[attr-defined]


async def test_the_store_runner_is_woken_by_notify_not_by_its_poll(
        pg_app: CorridorApplication, fresh_pg_database: str, tmp_path: Path) -> None:
    settings = pg_settings(fresh_pg_database, tmp_path)
    scenario = Scenario(pg_app)
    scenario.staff()
    stop = asyncio.Event()
    woken: list[int] = []
    following = asyncio.create_task(follow_store(
        settings, stop, idle_seconds=60.0, on_news=[lambda: woken.append(1)]))
    try:
        first = await positions_reach(settings, scenario.last_position, timeout=10)
        assert min(first) >= scenario.last_position  # the first step runs at start

        scenario.report_resources()
        later = await positions_reach(settings, scenario.last_position, timeout=5)
    finally:
        stop.set()
        await following

    assert min(later) >= scenario.last_position
    assert woken  # the same NOTIFY wakes the policies beside the runner
