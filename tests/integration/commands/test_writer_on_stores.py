"""The command writer on SQLite and PostgreSQL: commands that queue up are committed together,
each answered with its own version and position, and a command id is carried out once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from command_runtime import (
    command,
    paused,
    postgres_settings,
    register,
    send,
    sqlite_settings,
    stored_events,
)

from services.bootstrap import Runtime, build_runtime
from services.runtime.outcomes import Accepted
from services.settings import Settings


class WriterContract:
    """Subclasses provide `settings`."""

    @pytest.fixture
    def runtime(self, settings: Settings) -> Iterator[Runtime]:
        with paused(settings) as runtime:
            yield runtime

    def test_commands_that_queue_up_are_committed_in_one_batch(self, runtime: Runtime) -> None:
        volunteer_id = uuid4()
        runtime.writer.execute_now([command(runtime, "volunteers.register",
                                            volunteer_id=volunteer_id, display_name="Taras")])
        queued = [command(runtime, "volunteers.log_training", volunteer_id=volunteer_id,
                          minutes=10, topic=f"session {n}") for n in range(20)]
        futures = [runtime.writer.submit(s) for s in queued]
        batches_before = runtime.writer.batches

        runtime.writer.start()

        outcomes = [f.result(timeout=30) for f in futures]
        assert all(isinstance(o, Accepted) for o in outcomes)
        assert runtime.writer.batches - batches_before == 1
        assert runtime.app.repository.get(volunteer_id).training_minutes == 200

    def test_each_command_in_a_batch_answers_with_its_own_version_and_position(
            self, runtime: Runtime) -> None:
        volunteer_id = uuid4()
        queued = [command(runtime, "volunteers.register", volunteer_id=volunteer_id,
                          display_name="Taras"),
                  *(command(runtime, "volunteers.log_training", volunteer_id=volunteer_id,
                            minutes=10, topic="radio") for _ in range(3))]
        futures = [runtime.writer.submit(s) for s in queued]

        runtime.writer.start()

        outcomes = [f.result(timeout=30) for f in futures]
        assert [(o.version, o.events) for o in outcomes] == [  # type: ignore[union-attr]
            (1, ["VolunteerRegistered"]), (2, ["TrainingLogged"]), (3, ["TrainingLogged"]),
            (4, ["TrainingLogged"])]
        positions = [o.position for o in outcomes]  # type: ignore[union-attr]
        assert positions == sorted(set(positions)) and None not in positions

    def test_one_command_id_submitted_many_times_in_a_batch_is_appended_once(
            self, runtime: Runtime) -> None:
        volunteer_id = uuid4()
        runtime.writer.execute_now([command(runtime, "volunteers.register",
                                            volunteer_id=volunteer_id, display_name="Taras")])
        command_id = uuid4()
        copies = [command(runtime, "volunteers.log_training", command_id=command_id,
                          volunteer_id=volunteer_id, minutes=25, topic="maps")
                  for _ in range(8)]
        futures = [runtime.writer.submit(s) for s in copies]
        events_before = len(stored_events(runtime))

        runtime.writer.start()

        outcomes = [f.result(timeout=30) for f in futures]
        assert [o.duplicate for o in outcomes] == [False] + [True] * 7
        assert len({o.model_dump_json(exclude={"duplicate"}) for o in outcomes}) == 1
        assert len(stored_events(runtime)) == events_before + 1
        assert runtime.app.repository.get(volunteer_id).training_minutes == 25

    def test_a_version_conflict_in_a_batch_refuses_that_command_alone(
            self, runtime: Runtime) -> None:
        volunteer_id = uuid4()
        runtime.writer.execute_now([command(runtime, "volunteers.register",
                                            volunteer_id=volunteer_id, display_name="Taras")])
        queued = [command(runtime, "volunteers.log_training", volunteer_id=volunteer_id,
                          minutes=minutes, topic="drill", expected_version=expected)
                  for minutes, expected in ((10, None), (20, 0), (40, None))]
        futures = [runtime.writer.submit(s) for s in queued]
        events_before = len(stored_events(runtime))

        runtime.writer.start()

        first, conflicting, last = (f.exception(timeout=30) or f.result() for f in futures)
        assert isinstance(first, Accepted) and isinstance(last, Accepted)
        assert getattr(conflicting, "rule", None) == "VersionConflict"
        assert len(stored_events(runtime)) == events_before + 2
        assert runtime.app.repository.get(volunteer_id).training_minutes == 50

    def test_another_runtime_on_the_same_store_answers_known_command_ids_from_receipts(
            self, runtime: Runtime, settings: Settings) -> None:
        runtime.writer.start()
        volunteer_id = register(runtime)
        original = send(runtime, command(runtime, "volunteers.log_training",
                                         volunteer_id=volunteer_id, minutes=15, topic="x"))
        events = len(stored_events(runtime))
        restarted = build_runtime(settings)
        try:
            retry = send(restarted, command(restarted, "volunteers.log_training",
                                            command_id=original.command_id,
                                            volunteer_id=volunteer_id, minutes=15, topic="x"))
            assert retry == original.model_copy(update={"duplicate": True})
            assert len(stored_events(restarted)) == events
        finally:
            restarted.close()


class TestWriterOnSQLite(WriterContract):
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return sqlite_settings(tmp_path)


@pytest.mark.postgres
class TestWriterOnPostgres(WriterContract):
    @pytest.fixture
    def settings(self, fresh_pg_database: str) -> Settings:
        return postgres_settings(fresh_pg_database)
