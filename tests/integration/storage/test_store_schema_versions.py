"""The write side's schema versions on both stores: a store left at an older version (or
from before there were versions) is migrated to the latest with its events, receipts, keys
and hash chain intact; a store newer than the code, or one a non-migrating process finds
behind, is refused with both versions named; processes starting at once on a fresh
PostgreSQL database all start, and each migration is applied once."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

import services.commands.catalog  # noqa: F401  (registers the commands)
from domain.base import Meta
from projections.migrations import StoreTooNew
from services.audit.verify import verify_store
from services.clock import now
from services.commands import CATALOG
from services.runtime.outcomes import Accepted
from services.runtime.writer import CommandWriter, Submission
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.migrations import STORE, StoreNotMigrated

KEY = bytes(range(32))
INTAKE = {"safe_now": False, "region": "Kharkiv", "destination": "Lviv",
          "contact_channel": "phone"}


class CorridorAtFirstVersion(CorridorApplication):
    """corridor as a release that knew only schema version 1 ran it."""

    name = CorridorApplication.name  # eventsourcing names tables after the application
    store_schema = STORE.up_to(1)


@dataclass
class History:
    """What was written through the application before the upgrade."""

    names: dict[UUID, str] = field(default_factory=dict)
    """Case person -> the name sealed under their key."""
    sent: list[Submission] = field(default_factory=list)
    answers: dict[UUID, Accepted] = field(default_factory=dict)
    """Command id -> its answer, kept as its receipt."""
    events: list[tuple[UUID, int]] = field(default_factory=list)


def submission(name: str, **fields: Any) -> Submission:
    """What the HTTP endpoint for `name` hands the writer, from the service's own tools."""
    spec = CATALOG[name]
    body = spec.body.model_validate({"command_id": uuid4(), **fields})
    meta = Meta(actor="admin", at=now(), command_id=body.command_id,
                correlation_id=body.command_id)
    return Submission(command_id=body.command_id, name=name, payload=body, meta=meta,
                      handler=spec.handler, expected_version=body.expected_version,
                      subjects=body.new_subjects())


def send_all(app: CorridorApplication, sent: list[Submission]) -> dict[UUID, Accepted]:
    """Each command through the real command writer, in order; their answers."""
    writer = CommandWriter(app)
    writer.start()
    try:
        answers = {}
        for each in sent:
            outcome = writer.submit(replace(each, future=Future())).result(timeout=30)
            assert isinstance(outcome, Accepted), outcome
            answers[each.command_id] = outcome
        return answers
    finally:
        writer.stop()


def write_history(app: CorridorApplication) -> History:
    """Cases with a person's sealed name each (a data key), a volunteer, their receipts and
    chain rows."""
    history = History()
    history.sent.append(submission("volunteers.register", volunteer_id=uuid4(),
                                   display_name="Olena"))
    for n in range(3):
        person, name = uuid4(), f"Person {n} of the old schema"
        history.names[person] = name
        history.sent.append(submission("cases.open", case_id=uuid4(), person_id=person,
                                       intake={**INTAKE, "name": name}))
    history.answers = send_all(app, history.sent)
    history.events = stored_events(app)
    return history


def stored_events(app: CorridorApplication) -> list[tuple[UUID, int]]:
    return [(n.originator_id, n.originator_version)
            for n in app.recorder.select_notifications(start=1, limit=10_000)]


class SchemaVersionsContract:
    """The same behaviour on each store; subclasses give the settings and raw SQL."""

    @pytest.fixture
    def settings(self) -> Settings:
        raise NotImplementedError

    def sql(self, settings: Settings, statement: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def chain_indexes(self, settings: Settings) -> list[str]:
        """The secondary indexes of event_chain."""
        raise NotImplementedError

    def versions(self, settings: Settings) -> list[int]:
        return [r[0] for r in self.sql(settings, "SELECT version FROM schema_version "
                                                 "ORDER BY version")]

    @pytest.mark.parametrize("left_by", ["a release at version 1", "a release before versions"])
    def test_an_older_store_migrates_to_the_latest_and_keeps_events_receipts_keys_and_chain(
            self, settings: Settings, left_by: str) -> None:
        old = CorridorAtFirstVersion(settings, KEY)
        history = write_history(old)
        old.close()
        assert self.versions(settings) == [1]
        assert self.chain_indexes(settings) == ["event_chain_time"]
        if left_by == "a release before versions":
            self.sql(settings, "DROP TABLE schema_version")

        app = CorridorApplication(settings, KEY)
        try:
            assert self.versions(settings) == list(range(1, STORE.latest + 1))
            assert self.chain_indexes(settings) == ["event_chain_as_of"]
            assert stored_events(app) == history.events
            for answer in history.answers.values():
                if answer.events == ["CaseOpened"]:
                    case = app.readers.get(answer.stream_id)
                    revealed = app.sealer.reveal(case.personal)
                    assert revealed is not None
                    assert revealed["name"] == history.names[case.person_id]
            retried = send_all(app, history.sent)  # answered from the receipts
            assert {c: a.model_copy(update={"duplicate": False, "position": None})
                    for c, a in retried.items()} \
                == {c: a.model_copy(update={"position": None})
                    for c, a in history.answers.items()}
            assert all(a.duplicate for a in retried.values())
            assert stored_events(app) == history.events
            report = verify_store(app)
            assert report.ok, report.first_break
            assert report.events_checked == len(history.events)
        finally:
            app.close()

    def test_a_store_newer_than_this_corridor_is_refused_naming_both_versions(
            self, settings: Settings) -> None:
        CorridorApplication(settings, KEY).close()
        newer = STORE.latest + 3
        self.sql(settings, f"INSERT INTO schema_version (version, name) "
                           f"VALUES ({newer}, 'from a later release')")

        with pytest.raises(StoreTooNew) as refused:
            CorridorApplication(settings, KEY)

        assert str(refused.value) == (f"the store is at schema version {newer}; this corridor "
                                      f"knows up to {STORE.latest}: upgrade corridor")

    def test_a_process_that_may_not_migrate_refuses_a_store_behind_it_and_changes_nothing(
            self, settings: Settings) -> None:
        CorridorAtFirstVersion(settings, KEY).close()

        with pytest.raises(StoreNotMigrated, match=f"version 1; this corridor needs "
                                                   f"{STORE.latest}"):
            CorridorApplication(settings.model_copy(update={"create_tables": False}), KEY)

        assert self.versions(settings) == [1]

    def test_a_process_that_may_not_migrate_starts_on_a_store_at_the_latest_version(
            self, settings: Settings) -> None:
        CorridorApplication(settings, KEY).close()

        CorridorApplication(settings.model_copy(update={"create_tables": False}), KEY).close()

        assert self.versions(settings) == list(range(1, STORE.latest + 1))


class TestSchemaVersionsOnSQLite(SchemaVersionsContract):
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return Settings(store="sqlite", data_dir=tmp_path, reactions_in_process=False,
                        kafka_bootstrap=None)

    def sql(self, settings: Settings, statement: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(settings.sqlite_path) as conn:
            return conn.execute(statement).fetchall()

    def chain_indexes(self, settings: Settings) -> list[str]:
        return [r[0] for r in self.sql(settings, "SELECT name FROM sqlite_master WHERE "
                                                 "type = 'index' AND tbl_name = 'event_chain' "
                                                 "AND sql IS NOT NULL")]


class TestSchemaVersionsOnPostgres(SchemaVersionsContract):
    @pytest.fixture
    def settings(self, fresh_pg_database: str) -> Settings:
        return Settings(store="postgres", pg_dsn=fresh_pg_database,
                        reactions_in_process=False, kafka_bootstrap=None)

    def sql(self, settings: Settings, statement: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(settings.pg_dsn or "") as conn:
            cursor = conn.execute(statement.encode())
            return cursor.fetchall() if cursor.description else []

    def chain_indexes(self, settings: Settings) -> list[str]:
        return [r[0] for r in self.sql(settings, "SELECT indexname FROM pg_indexes WHERE "
                                                 "tablename = 'event_chain' "
                                                 "AND indexname <> 'event_chain_pkey'")]

    def test_processes_starting_at_once_on_a_fresh_database_all_start_and_migrate_once(
            self, settings: Settings) -> None:
        # Four rather than two: the DDL of two processes seldom overlaps on two cores;
        # four overlapped in every run made without the lock.
        spawn = multiprocessing.get_context("spawn")
        ready = spawn.Barrier(4)
        processes = [spawn.Process(target=start_corridor, args=(settings.pg_dsn, ready))
                     for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(120)

        assert [p.exitcode for p in processes] == [0, 0, 0, 0]
        assert self.sql(settings, "SELECT version, count(*) FROM schema_version "
                                  "GROUP BY version ORDER BY version") \
            == [(v, 1) for v in range(1, STORE.latest + 1)]


def start_corridor(dsn: str, ready: Any) -> None:
    """A process starting corridor on `dsn` at the same moment as the others."""
    settings = Settings(store="postgres", pg_dsn=dsn, reactions_in_process=False,
                        kafka_bootstrap=None)
    ready.wait(60)
    CorridorApplication(settings, os.urandom(32)).close()
