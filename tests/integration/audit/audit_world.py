"""Shared ground for the audit's integration tests: one contract, two stores.

A contract class holds the tests; `SQLiteStore` and `PostgresStore` only choose the settings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

import services.audit.access_commands  # noqa: F401  (registers the audit commands)
from bench.audit_replay import Scenario
from domain.access import access_log_id
from services.audit.queries import AuditQueries, Viewed
from services.auth import CallerRole, Principal
from services.bootstrap import Runtime, build_runtime
from services.runtime.outcomes import Accepted
from services.settings import Settings
from services.storage.sealing import new_master_key

AUDITOR = "auditor-1"
SUPERVISOR = "supervisor-1"


class SQLiteStore:
    """The embedded store in a temporary folder."""

    @pytest.fixture
    def settings(self, tmp_path: Any) -> Settings:
        return Settings(store="sqlite", data_dir=tmp_path / "data", snapshot_interval=50)


@pytest.mark.postgres
class PostgresStore:
    """A brand-new database on the real PostgreSQL server started by deploy/test.sh."""

    @pytest.fixture
    def settings(self, fresh_pg_database: str, tmp_path: Any) -> Settings:
        return Settings(store="postgres", pg_dsn=fresh_pg_database, data_dir=tmp_path,
                        master_key=new_master_key(), auth_secret="test", snapshot_interval=50)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = build_runtime(settings, start_writer=False)
    try:
        yield built
    finally:
        built.app.close()


@dataclass
class Story:
    """A case told through real commands, with the business time after each step."""

    scenario: Scenario
    case_id: UUID
    person_id: UUID
    worker: UUID
    checker: UUID
    resource: UUID
    times: dict[str, datetime] = field(default_factory=dict)

    def run(self, name: str, actor: str, **fields: Any) -> Accepted:
        return self.scenario.run(name, actor, **fields)

    def mark(self, label: str) -> None:
        self.times[label] = self.scenario.clock


def tell_a_case(runtime: Runtime) -> Story:
    """Open (v1), take (v2), advice relying on a verified route (v3), a note (v4); then the
    route is marked unsafe and the case is flagged about it (v5)."""
    scenario = Scenario(runtime)
    worker = scenario.volunteer("Olena", ["volunteer", "supervisor"])
    checker = scenario.volunteer("Taras", ["fact_checker"])
    resource = scenario.verified_resource(worker, checker)
    story = Story(scenario, uuid4(), uuid4(), worker, checker, resource)
    story.mark("before")
    case_id, person_id = scenario.open_case("Iryna")
    story.case_id, story.person_id = case_id, person_id
    story.mark("opened")
    story.run("cases.take", str(worker), case_id=case_id)
    story.mark("taken")
    story.run("cases.give_advice", str(worker), case_id=case_id,
              text="stay put, wait for the convoy", resource_ids=[resource])
    story.mark("advised")
    story.run("cases.add_note", str(worker), case_id=case_id, text="Iryna's son has asthma")
    story.mark("noted")
    story.run("resources.mark_unsafe", str(worker), resource_id=resource, reason="shelled")
    story.run("cases.flag", str(worker), case_id=case_id, flag_id=uuid4(),
              reason="route unsafe", resource_id=resource)
    story.mark("flagged")
    return story


def grant(story: Story, auditor: str = AUDITOR) -> None:
    story.run("audit.grant", SUPERVISOR, stream_id=story.case_id, auditor=auditor,
              purpose="complaint 17")


def shown(runtime: Runtime, viewed: Viewed[Any], actor: str = AUDITOR) -> Any:
    """Record the view through the writer (as the API and CLI do), then hand back the result."""
    principal = Principal(actor=actor, roles=frozenset({CallerRole.AUDITOR}))
    [outcome] = runtime.writer.execute_now([runtime.submission("audit.record_view",
                                                                viewed.record, principal)])
    assert isinstance(outcome, Accepted), outcome
    return viewed.result


def access_events(runtime: Runtime, stream_id: UUID) -> list[Any]:
    return list(runtime.app.events.get(access_log_id(stream_id)))


def queries(runtime: Runtime) -> AuditQueries:
    return AuditQueries(runtime.app)


# --- changing the database behind the application's back ---------------------------------


def execute_sql(runtime: Runtime, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run SQL directly on the store, as an intruder with database access would.

    `{events}` and `{snapshots}` name the application's tables (stored_events on SQLite,
    corridor_events on PostgreSQL).
    """
    snapshots: Any = runtime.app.snapshots
    sql = sql.format(events=runtime.app.recorder.events_table_name,  # type: ignore[attr-defined]
                     snapshots=snapshots.recorder.events_table_name)
    settings = runtime.settings
    if settings.store == "sqlite":
        connection = sqlite3.connect(settings.sqlite_path)
        try:
            rows = connection.execute(sql, params).fetchall()
            connection.commit()
            return rows
        finally:
            connection.close()
    assert settings.pg_dsn is not None
    with psycopg.connect(settings.pg_dsn, autocommit=True) as connection:
        cursor = connection.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def stream_key(runtime: Runtime, stream_id: UUID) -> Any:
    return stream_id.hex if runtime.settings.store == "sqlite" else stream_id


def stored_state(runtime: Runtime, stream_id: UUID, version: int,
                 table: str = "{events}") -> bytes:
    [(state,)] = execute_sql(runtime, f"SELECT state FROM {table} WHERE originator_id = ? "
                             "AND originator_version = ?", (stream_key(runtime, stream_id),
                                                            version))
    return bytes(state)


def overwrite_state(runtime: Runtime, stream_id: UUID, version: int, state: bytes,
                    table: str = "{events}") -> None:
    execute_sql(runtime, f"UPDATE {table} SET state = ? WHERE originator_id = ? "
                "AND originator_version = ?", (state, stream_key(runtime, stream_id), version))


def alter_the_advice(runtime: Runtime, story: Story, version: int = 3) -> None:
    """Change one byte of the advice (version 3): the route it relied on, the readable part
    of it (its text is sealed). It still replays, naming another resource."""
    old = story.resource.hex.encode()
    change_one_byte(runtime, story.case_id, version, old, old[:-1] + (
        b"0" if old[-1:] != b"0" else b"1"))


def change_one_byte(runtime: Runtime, stream_id: UUID, version: int, old: bytes, new: bytes,
                    table: str = "{events}") -> None:
    """Replace one byte of a stored event's (or snapshot's) JSON with an UPDATE."""
    assert len(old) == len(new) and sum(a != b for a, b in zip(old, new, strict=True)) == 1
    state = stored_state(runtime, stream_id, version, table)
    assert old in state, state
    overwrite_state(runtime, stream_id, version, state.replace(old, new, 1), table)
