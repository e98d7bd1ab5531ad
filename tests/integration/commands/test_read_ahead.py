"""A batch's aggregates that are not cached (evicted, or a process just started) are read in
one round trip before it runs: from their latest snapshot and the events after it, exactly
as eventsourcing would rebuild each one, and never through a read per aggregate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from command_runtime import (
    INTAKE,
    command,
    on_the_way,
    paused,
    postgres_settings,
    reads_from_the_store,
    register,
    sqlite_settings,
    state,
    volunteer,
)

from services.runtime.outcomes import Accepted
from services.settings import Settings


@pytest.fixture
def settings(fresh_pg_database: str) -> Settings:
    return postgres_settings(fresh_pg_database).model_copy(update={"snapshot_interval": 20})


@pytest.fixture
def written(settings: Settings) -> Iterator[tuple[UUID, list[UUID]]]:
    """A trained volunteer's five short cases and one long enough to have a snapshot."""
    with paused(settings) as runtime:
        runtime.writer.start()
        volunteer_id = register(runtime, trained=True)
        who = volunteer(volunteer_id)
        cases = [on_the_way(runtime, who) for _ in range(5)]
        cases.append(on_the_way(runtime, who, checkpoints=30))
        yield volunteer_id, cases


@pytest.mark.postgres
def test_a_batch_reads_every_aggregate_it_names_in_one_round_trip(
        settings: Settings, written: tuple[UUID, list[UUID]]) -> None:
    volunteer_id, cases = written
    with paused(settings) as fresh:  # another process: nothing cached
        app, reads = fresh.app, reads_from_the_store(fresh.app)
        futures = [fresh.writer.submit(command(fresh, "cases.record_checkpoint",
                                               volunteer(volunteer_id), case_id=case_id,
                                               checkpoint="Lviv")) for case_id in cases]
        fresh.writer.start()
        outcomes = [f.result(timeout=30) for f in futures]

        assert all(isinstance(o, Accepted) for o in outcomes), outcomes
        assert [o.version for o in outcomes] == [4] * 5 + [34]  # type: ignore[union-attr]
        assert fresh.writer.batches == 1
        assert fresh.writer.read_ahead == 7  # six cases and the volunteer
        assert reads == []
        assert list(app.snapshots.get(cases[-1], desc=True, limit=1))  # read from a snapshot
        for stream_id in [*cases, volunteer_id]:  # the same state a full rebuild gives
            assert state(app.repository.get(stream_id)) == state(app.readers.get(stream_id))


@pytest.mark.postgres
def test_cached_aggregates_and_streams_that_do_not_exist_are_not_read(
        settings: Settings, written: tuple[UUID, list[UUID]]) -> None:
    volunteer_id, cases = written
    with paused(settings) as fresh:
        assert fresh.app.cache_streams([cases[0], volunteer_id, uuid4()]) == 2
        assert fresh.app.cache_streams([cases[0], volunteer_id]) == 0  # cached now
        assert fresh.app.cache_streams([uuid4()]) == 0


def test_the_embedded_store_reads_each_aggregate_when_used(tmp_path: Path) -> None:
    with paused(sqlite_settings(tmp_path)) as runtime:
        runtime.writer.start()
        volunteer_id = register(runtime, trained=True)
    with paused(sqlite_settings(tmp_path)) as fresh:
        assert fresh.app.cache_streams([volunteer_id]) == 0
        assert fresh.app.repository.get(volunteer_id).id == volunteer_id


def test_a_command_names_the_streams_it_reads_but_not_the_one_it_starts() -> None:
    from services.commands import CATALOG

    case_id, bus, train, person = uuid4(), uuid4(), uuid4(), uuid4()
    opening = CATALOG["cases.open"].body.model_validate(
        {"command_id": uuid4(), "case_id": case_id, "person_id": person, "intake": INTAKE})
    advice = CATALOG["cases.give_advice"].body.model_validate(
        {"command_id": uuid4(), "case_id": case_id, "text": "go",
         "resource_ids": [bus, train]})
    assert opening.streams() == set()
    assert advice.streams() == {case_id, bus, train}
