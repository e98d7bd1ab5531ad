"""The write side's schema versions: the tables corridor keeps beside eventsourcing's events
and snapshots (hash chain, command receipts, data keys, erased subjects, relay and reaction
positions), created and changed by the ordered migrations below and recorded in
`schema_version`. The runner, and why it is ours rather than alembic's or yoyo's:
projections.migrations.

eventsourcing creates its own tables (CREATE_TABLE); these migrations run after it, under
the same PostgreSQL advisory lock, so that processes starting at once on a fresh database
neither race on eventsourcing's DDL nor apply a migration twice. A process started with
CORRIDOR_CREATE_TABLES=false (those `serve --writer-process` starts after the writer) changes
nothing: it only checks that the store is at this code's version.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from projections.migrations import (
    Migration,
    Schema,
    SchemaVersionError,
    Session,
    SQLiteSession,
    current_version,
    migrate,
)
from services.settings import Settings

STORE = Schema(what="store", table="schema_version", lock="corridor_store", migrations=(
    Migration(1, "tables created before schema versions", postgres=(
        "CREATE TABLE IF NOT EXISTS event_chain (originator_id uuid NOT NULL, "
        "originator_version bigint NOT NULL, hash bytea NOT NULL, recorded_at timestamptz, "
        "PRIMARY KEY (originator_id, originator_version))",
        "CREATE INDEX IF NOT EXISTS event_chain_time ON event_chain (originator_id, recorded_at)",
        "CREATE TABLE IF NOT EXISTS command_receipts (command_id uuid PRIMARY KEY, "
        "outcome bytea NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE IF NOT EXISTS data_keys (subject_id uuid PRIMARY KEY, "
        "wrapped bytea NOT NULL, master_version int NOT NULL, "
        "created_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE IF NOT EXISTS erased_subjects (subject_id uuid PRIMARY KEY, "
        "erased_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE IF NOT EXISTS relay_positions (name text PRIMARY KEY, "
        "position bigint NOT NULL)",
        "CREATE TABLE IF NOT EXISTS reaction_positions (name TEXT PRIMARY KEY, "
        "position BIGINT NOT NULL)",
    ), sqlite=(
        "CREATE TABLE IF NOT EXISTS event_chain (originator_id TEXT NOT NULL, "
        "originator_version INTEGER NOT NULL, hash BLOB NOT NULL, recorded_at TEXT, "
        "PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID",
        "CREATE INDEX IF NOT EXISTS event_chain_time ON event_chain (originator_id, recorded_at)",
        "CREATE TABLE IF NOT EXISTS command_receipts (command_id TEXT PRIMARY KEY, "
        "outcome BLOB NOT NULL, recorded_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS data_keys (subject_id TEXT PRIMARY KEY, "
        "wrapped BLOB NOT NULL, master_version INTEGER NOT NULL, "
        "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS erased_subjects (subject_id TEXT PRIMARY KEY, "
        "erased_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS relay_positions (name text PRIMARY KEY, "
        "position bigint NOT NULL)",
        "CREATE TABLE IF NOT EXISTS reaction_positions (name TEXT PRIMARY KEY, "
        "position BIGINT NOT NULL)",
    )),
    # The audit's as-of probe (services.audit.store.last_recorded) orders a stream's chain
    # rows by recorded_at, then version: the events of one command share their time. On
    # PostgreSQL event_chain_time gave only the first, so each probe sorted the tied rows
    # and read the table; with the version in the index it is one index-only probe. (In
    # SQLite's WITHOUT ROWID table the old index already carried the version: the same
    # index there keeps the two schemas alike.)
    Migration(2, "event_chain_as_of: as-of probes order tied times by version", postgres=(
        "CREATE INDEX event_chain_as_of ON event_chain "
        "(originator_id, recorded_at, originator_version)",
        "DROP INDEX event_chain_time",
    ), sqlite=(
        "CREATE INDEX event_chain_as_of ON event_chain "
        "(originator_id, recorded_at, originator_version)",
        "DROP INDEX event_chain_time",
    )),
    # The blind index (services.storage.blind_index): keyed hashes of what identifies a
    # person, per case, never the plaintext; deleted with the person's key on erasure.
    Migration(3, "blind_index: keyed hashes that find the same person asking twice", postgres=(
        "CREATE TABLE blind_index (digest bytea NOT NULL, case_id uuid NOT NULL, "
        "kind text NOT NULL, subject_id uuid NOT NULL, PRIMARY KEY (digest, case_id))",
        "CREATE INDEX blind_index_case ON blind_index (case_id)",
        "CREATE INDEX blind_index_subject ON blind_index (subject_id)",
    ), sqlite=(
        "CREATE TABLE blind_index (digest BLOB NOT NULL, case_id TEXT NOT NULL, "
        "kind TEXT NOT NULL, subject_id TEXT NOT NULL, PRIMARY KEY (digest, case_id)) "
        "WITHOUT ROWID",
        "CREATE INDEX blind_index_case ON blind_index (case_id)",
        "CREATE INDEX blind_index_subject ON blind_index (subject_id)",
    )),
))
"""The write side's migrations, oldest first. Append; never edit a released one."""


class StoreNotMigrated(SchemaVersionError):
    """A process that may not change the schema found the store behind this code."""

    def __init__(self, found: int, needed: int) -> None:
        super().__init__(f"the store is at schema version {found}; this corridor needs "
                         f"{needed}: start one corridor process that may migrate it "
                         "(CORRIDOR_CREATE_TABLES=true, the default) first")


class PsycopgSession:
    """A psycopg connection in autocommit mode; each transaction looks names up in the
    store's schema (SET LOCAL: a pooled connection keeps its own search_path)."""

    dialect = "postgres"

    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self.conn, self.schema = conn, schema

    def begin(self, lock: str | None) -> None:
        self.conn.execute("BEGIN")
        self.conn.execute(SQL("SET LOCAL search_path TO {}").format(Identifier(self.schema)))
        if lock:
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                              (lock_name(lock, self.schema),))

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def execute(self, sql: str, *args: Any) -> None:
        if args:
            self.conn.execute(sql.replace("?", "%s"), args)
        else:  # DDL as written: psycopg reads no placeholders in a query without arguments
            self.conn.execute(sql)

    def scalar(self, sql: str, *args: Any) -> Any:
        row = self.conn.execute(sql.replace("?", "%s"), args).fetchone()
        if row is None:
            return None
        return next(iter(row.values())) if isinstance(row, dict) else row[0]


def lock_name(lock: str, schema: str) -> str:
    """One lock per PostgreSQL schema: stores in other schemas migrate independently."""
    return f"{lock}:{schema}"


class StoreSchema:
    """Brings one process's event store to this code's schema version around the building
    of its application: `open()` before eventsourcing creates its tables (on PostgreSQL it
    takes the lock for the session, and it refuses a store newer than this code),
    `migrate()` after."""

    def __init__(self, settings: Settings, schema: Schema = STORE) -> None:
        self.settings, self.schema = settings, schema
        self.may_migrate = settings.create_tables
        self._session: Session | None = None

    @contextlib.contextmanager
    def open(self) -> Iterator[StoreSchema]:
        with self._connected() as session:
            self._session = session
            try:
                found = current_version(session, self.schema)
                self.schema.after(found)  # a store too new is refused before anything runs
                if not self.may_migrate and found != self.schema.latest:
                    raise StoreNotMigrated(found, self.schema.latest)
                yield self
            finally:
                self._session = None

    def migrate(self) -> list[Migration]:
        """Apply what the store lacks (nothing in a process that may not migrate)."""
        if not self.may_migrate:
            return []
        assert self._session is not None, "StoreSchema.open() first"
        return migrate(self._session, self.schema)

    @contextlib.contextmanager
    def _connected(self) -> Iterator[Session]:
        if self.settings.store != "postgres":
            path = self.settings.sqlite_path
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(path, isolation_level=None,
                                                    timeout=30)) as conn:
                yield SQLiteSession(conn)
            return
        schema = self.settings.pg_schema
        with psycopg.connect(self.settings.pg_dsn or "", autocommit=True) as conn:
            if self.may_migrate:  # held while eventsourcing creates its tables, too
                conn.execute("SELECT pg_advisory_lock(hashtext(%s))",
                             (lock_name(self.schema.lock, schema),))
            yield PsycopgSession(conn, schema)
