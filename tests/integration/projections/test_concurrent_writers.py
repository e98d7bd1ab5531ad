"""Events from writers committing concurrently all reach the read models (no skipped ids).

Several processes' worth of writers (one application and connection pool each) store
events at the same time while the runner follows the log in small batches. Should a
reader ever see notification id n+1 committed before n, it would move past n for good;
eventsourcing's PostgreSQL recorder prevents that with a table lock per insert.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from projection_checks import actual, all_records, differences, expected, settled
from projection_scenario import Scenario
from projection_settings import pg_settings

from projections.catalog import PROJECTIONS
from projections.runner import RecorderSource, StoreRunner
from projections.store import ReadModelStore
from services.storage.application import CorridorApplication

WRITERS = 4


def write_cases(app: CorridorApplication, seed: int, start: threading.Barrier) -> None:
    scenario = Scenario(app, seed=seed)
    scenario.staff(volunteers=2)
    scenario.report_resources(count=3)
    start.wait(timeout=60)
    for _ in range(5):
        scenario.cases_round(3)


@pytest.mark.postgres
async def test_concurrent_writers_events_all_arrive(fresh_pg_database: str, tmp_path: Path,
                                                    master_key: bytes, pg_app: CorridorApplication,
                                                    pg_store: ReadModelStore) -> None:
    runner = StoreRunner(pg_store, RecorderSource(pg_app.recorder), PROJECTIONS, batch_size=5,
                         idle_seconds=0.01)
    stop = asyncio.Event()
    following = asyncio.create_task(runner.run(stop))
    start = threading.Barrier(WRITERS)
    # Created one after the other: each runs eventsourcing's CREATE OR REPLACE FUNCTION.
    writers = [CorridorApplication(pg_settings(fresh_pg_database, tmp_path), master_key)
               for _ in range(WRITERS)]
    try:
        await asyncio.gather(*(asyncio.to_thread(write_cases, app, seed, start)
                               for seed, app in enumerate(writers)))
    finally:
        for app in writers:
            app.close()
    head = pg_app.recorder.max_notification_id() or 0
    await settled(pg_store, head)
    stop.set()
    await following

    records = all_records(pg_app)
    audited = await pg_store.fetch("SELECT COUNT(*) AS n FROM rm_audit_events_g1")
    assert audited[0]["n"] == len(records) > WRITERS * 5 * 3 * 5
    got = await actual(pg_store, PROJECTIONS)
    assert differences(got, expected(PROJECTIONS, records)) == {}
