"""Schema versions: an ordered list of migrations per database, each applied once, in its
own transaction with its row in a version table. One runner serves the write side's store
(services.storage.migrations) and the read models' bookkeeping (projections.tracking), on
PostgreSQL and SQLite.

Why a small runner of our own rather than alembic or yoyo: every migration is written per
dialect anyway (types, defaults, WITHOUT ROWID differ statement by statement), so a
library's portable operations would go unused; alembic would pull SQLAlchemy into a product
that talks to its databases through psycopg, asyncpg and sqlite3 only; and the read models'
PostgreSQL store runs on asyncpg, which neither drives. What is needed fits on a screen: an
ordered list, one transaction per migration together with its version row, and the
database's own lock, so that processes starting at once apply each migration once
(PostgreSQL: an advisory lock held by the transaction; SQLite: BEGIN IMMEDIATE, the
database's write lock). Each process reads the version again once it holds the lock.

Rules for the lists: a released migration is never edited (a store that applied it would
not see the change): add a new one at the end. Only the first migration of a list says IF
NOT EXISTS: it adopts the tables that stores created before there were versions.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, replace
from typing import Any, Protocol

import asyncpg

from projections.sql import numbered

log = logging.getLogger("corridor.migrations")


class SchemaVersionError(Exception):
    """The database is not at a schema version this code can run on."""


class StoreTooNew(SchemaVersionError):
    """The database was migrated by a newer corridor than this one."""

    def __init__(self, what: str, found: int, known: int) -> None:
        super().__init__(f"the {what} is at schema version {found}; this corridor knows up "
                         f"to {known}: upgrade corridor")
        self.found, self.known = found, known


@dataclass(frozen=True)
class Migration:
    """One change of a schema, written for each dialect."""

    version: int
    name: str
    postgres: tuple[str, ...]
    sqlite: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.postgres if dialect == "postgres" else self.sqlite


@dataclass(frozen=True)
class Schema:
    """The migrations of one database and the table that records which are applied."""

    what: str
    """What the database is called in messages ("store", "read-model store")."""
    table: str
    lock: str
    """Names the PostgreSQL advisory lock that serialises migrators."""
    migrations: tuple[Migration, ...]

    def __post_init__(self) -> None:
        versions = [m.version for m in self.migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise ValueError(f"{self.table}: migrations must be numbered 1, 2, 3...: {versions}")

    @property
    def latest(self) -> int:
        return len(self.migrations)

    def up_to(self, version: int) -> Schema:
        """The same schema as it stood at `version` (a store left at an older version)."""
        return replace(self, migrations=self.migrations[:version])

    def after(self, current: int) -> Migration | None:
        """The migration that follows `current` (None: up to date); refuses a newer store."""
        if current > self.latest:
            raise StoreTooNew(self.what, current, self.latest)
        return self.migrations[current] if current < self.latest else None

    def version_table(self, dialect: str) -> str:
        if dialect == "postgres":
            return (f"CREATE TABLE IF NOT EXISTS {self.table} (version integer PRIMARY KEY, "
                    "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        return (f"CREATE TABLE IF NOT EXISTS {self.table} (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")

    def record(self) -> str:
        return f"INSERT INTO {self.table} (version, name) VALUES (?, ?)"

    def exists(self, dialect: str) -> str:
        if dialect == "postgres":
            return "SELECT to_regclass(?) IS NOT NULL"
        return "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?"

    def current(self) -> str:
        return f"SELECT coalesce(max(version), 0) FROM {self.table}"


class Session(Protocol):
    """A connection the runner migrates through; SQL comes with '?' placeholders."""

    dialect: str

    def begin(self, lock: str | None) -> None:
        """Start a transaction; with `lock`, one that no other migrator runs beside."""

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def execute(self, sql: str, *args: Any) -> None: ...
    def scalar(self, sql: str, *args: Any) -> Any: ...


class AsyncSession(Protocol):
    """As Session, for asyncpg."""

    dialect: str

    async def begin(self, lock: str | None) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def execute(self, sql: str, *args: Any) -> None: ...
    async def scalar(self, sql: str, *args: Any) -> Any: ...


def migrate(session: Session, schema: Schema) -> list[Migration]:
    """Apply the migrations the database lacks, in order; returns those applied here (none
    when another process applied them first)."""
    applied: list[Migration] = []
    while True:
        session.begin(schema.lock)
        try:
            session.execute(schema.version_table(session.dialect))
            step = schema.after(int(session.scalar(schema.current())))
            if step is not None:
                for sql in step.statements(session.dialect):
                    session.execute(sql)
                session.execute(schema.record(), step.version, step.name)
        except BaseException:
            session.rollback()
            raise
        session.commit()
        if step is None:
            return applied
        _applied(schema, step)
        applied.append(step)


async def migrate_async(session: AsyncSession, schema: Schema) -> list[Migration]:
    """`migrate` through an asynchronous connection."""
    applied: list[Migration] = []
    while True:
        await session.begin(schema.lock)
        try:
            await session.execute(schema.version_table(session.dialect))
            step = schema.after(int(await session.scalar(schema.current())))
            if step is not None:
                for sql in step.statements(session.dialect):
                    await session.execute(sql)
                await session.execute(schema.record(), step.version, step.name)
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        if step is None:
            return applied
        _applied(schema, step)
        applied.append(step)


def current_version(session: Session, schema: Schema) -> int:
    """The database's schema version, changing nothing (0: no version table yet)."""
    session.begin(None)
    try:
        found = 0
        if session.scalar(schema.exists(session.dialect), schema.table):
            found = int(session.scalar(schema.current()))
    finally:
        session.rollback()
    return found


def _applied(schema: Schema, step: Migration) -> None:
    log.info("%s: applied schema migration %d (%s)", schema.what, step.version, step.name)


class SQLiteSession:
    """A sqlite3 connection opened with isolation_level=None (transactions are explicit)."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def begin(self, lock: str | None) -> None:
        # IMMEDIATE takes the write lock at once: a second migrator waits here, on the
        # connection's busy timeout, and then reads the version the first one left.
        self.conn.execute("BEGIN IMMEDIATE" if lock else "BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def execute(self, sql: str, *args: Any) -> None:
        self.conn.execute(sql, args)

    def scalar(self, sql: str, *args: Any) -> Any:
        row = self.conn.execute(sql, args).fetchone()
        return None if row is None else row[0]


class AsyncpgSession:
    """An asyncpg connection; names are looked up on its search_path."""

    dialect = "postgres"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._transaction: Any = None

    async def begin(self, lock: str | None) -> None:
        self._transaction = self.conn.transaction()
        await self._transaction.start()
        if lock:
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock)

    async def commit(self) -> None:
        await self._transaction.commit()

    async def rollback(self) -> None:
        await self._transaction.rollback()

    async def execute(self, sql: str, *args: Any) -> None:
        await self.conn.execute(numbered(sql, self.dialect), *args)

    async def scalar(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchval(numbered(sql, self.dialect), *args)
