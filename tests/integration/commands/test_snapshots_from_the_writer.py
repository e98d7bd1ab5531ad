"""The writer takes snapshots from the aggregates it just stored, without reading them back,
and a stream rebuilt from its latest snapshot is the stream rebuilt from every event."""

from __future__ import annotations

from pathlib import Path

import pytest
from command_runtime import (
    on_the_way,
    paused,
    postgres_settings,
    reads_from_the_store,
    register,
    sqlite_settings,
    state,
    volunteer,
)
from eventsourcing.application import project_aggregate

from services.settings import Settings

INTERVAL = 10


def store_settings(kind: str, tmp_path: Path, dsn: str | None) -> Settings:
    base = postgres_settings(dsn) if kind == "postgres" else sqlite_settings(tmp_path)
    assert base.store == kind
    return base.model_copy(update={"snapshot_interval": INTERVAL})


@pytest.mark.parametrize("kind", [pytest.param("postgres", marks=pytest.mark.postgres),
                                  "sqlite"])
def test_snapshots_are_taken_at_the_interval_without_reading_the_store(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    dsn = request.getfixturevalue("fresh_pg_database") if kind == "postgres" else None
    settings = store_settings(kind, tmp_path, dsn)
    with paused(settings) as runtime:
        app, reads = runtime.app, reads_from_the_store(runtime.app)
        runtime.writer.start()
        who = volunteer(register(runtime, trained=True))
        case_id = on_the_way(runtime, who, checkpoints=2 * INTERVAL + 2)  # version 25

        assert reads == []  # every aggregate came from the writer's cache
        assert app.snapshots is not None
        versions = [s.originator_version for s in app.snapshots.get(case_id)]
        assert versions == [INTERVAL, 2 * INTERVAL]
        every_event = project_aggregate(None, app.events.get(case_id))
        from_snapshot = app.readers.get(case_id)  # the snapshot at 20, then five events
        assert from_snapshot.version == every_event.version == 2 * INTERVAL + 5
        assert state(from_snapshot) == state(every_event)
        at_snapshot = app.readers.get(case_id, version=2 * INTERVAL)
        assert state(at_snapshot) == state(project_aggregate(
            None, app.events.get(case_id, lte=2 * INTERVAL)))
