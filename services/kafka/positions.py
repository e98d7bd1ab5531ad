"""The relay's durable position (table relay_positions, beside the events) and its leadership.

On PostgreSQL the leader holds a session-level advisory lock on a dedicated connection and
writes its position on that same session: a relay that lost its session (and so its lock)
can never move the position again, which is what keeps standbys from double publishing.
On SQLite (one host by nature) an exclusive file lock next to the database plays that part.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

import psycopg

TABLE = "relay_positions"
"""Made by the store's migrations (services.storage.migrations)."""


class RelayLease(Protocol):
    """Leadership plus the durable position of one named relay."""

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Wait until this process leads (True), or until asked to stop (False)."""
        ...

    async def load(self) -> int:
        """The stored position (0 before the first event was relayed)."""
        ...

    async def save(self, position: int) -> None:
        """Store the position; fails unless this process still leads."""
        ...

    async def wait_for_news(self, timeout: float) -> None:
        """Return when new events may have been stored, or after `timeout` seconds."""
        ...

    async def release(self) -> None:
        """Stop leading (standbys may take over)."""
        ...


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake up at once when asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


def lock_key(schema: str, name: str) -> int:
    """A stable signed 64-bit advisory-lock key per (schema, relay name)."""
    digest = hashlib.blake2b(f"corridor-relay:{schema}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLease:
    """Leader while holding pg_try_advisory_lock; woken by the recorder's NOTIFY channel."""

    def __init__(self, datastore: Any, name: str, channel: str, standby_poll: float = 1.0) -> None:
        kwargs = dict(datastore.pool.kwargs)
        kwargs.pop("row_factory", None)
        self._connect_kwargs = kwargs
        self._schema = datastore.schema
        self._name = name
        self._channel = channel
        self._standby_poll = standby_poll
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Wait until this process leads (True), or until asked to stop (False)."""
        key = lock_key(self._schema, self._name)
        while not stopping.is_set():
            conn = await self._connection()
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))).fetchone()
            if row is not None and row[0]:
                await self._prepare(conn)
                return True
            await pause(stopping, self._standby_poll)
        return False

    async def load(self) -> int:
        """The stored position, read on the lock's session."""
        conn = self._leading()
        cursor = await conn.execute(
            f'SELECT position FROM "{self._schema}".{TABLE} WHERE name = %s', (self._name,))
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def save(self, position: int) -> None:
        """Store the position on the lock's session."""
        # On the lock's own session: if that session died, so did our claim to lead.
        await self._leading().execute(
            f'UPDATE "{self._schema}".{TABLE} SET position = %s WHERE name = %s',
            (position, self._name))

    async def wait_for_news(self, timeout: float) -> None:
        """Return on the next NOTIFY from an event insert, or after `timeout` seconds."""
        notifies = self._leading().notifies(timeout=timeout, stop_after=1)
        # Closing the generator explicitly releases the connection's lock it holds.
        async with contextlib.aclosing(notifies) as pending:
            async for _ in pending:
                pass

    async def release(self) -> None:
        """Close the session, which releases the advisory lock."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(autocommit=True,
                                                               **self._connect_kwargs)
        return self._conn

    async def _prepare(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(f'INSERT INTO "{self._schema}".{TABLE} (name, position) '
                           "VALUES (%s, 0) ON CONFLICT (name) DO NOTHING", (self._name,))
        await conn.execute(f'LISTEN "{self._channel}"')

    def _leading(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None:
            raise RuntimeError("the relay lease is not held")
        return self._conn


class SQLiteLease:
    """Leader while holding an exclusive lock on a file beside the database; polls every 50 ms."""

    def __init__(self, datastore: Any, name: str, lock_path: Path,
                 standby_poll: float = 1.0, idle_poll: float = 0.05) -> None:
        self._datastore = datastore
        self._name = name
        self._lock_path = lock_path
        self._standby_poll = standby_poll
        self._idle_poll = idle_poll
        self._fd: int | None = None

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Wait until this process leads (True), or until asked to stop (False)."""
        while not stopping.is_set():
            if self._try_lock():
                await asyncio.to_thread(self._prepare)
                return True
            await pause(stopping, self._standby_poll)
        return False

    async def load(self) -> int:
        """The stored position."""
        return await asyncio.to_thread(sqlite_position, self._datastore, self._name)

    async def save(self, position: int) -> None:
        """Store the position (only while holding the file lock)."""
        await asyncio.to_thread(self._write, position)

    async def wait_for_news(self, timeout: float) -> None:
        """SQLite has no notifications: poll every 50 ms."""
        await asyncio.sleep(min(timeout, self._idle_poll))

    async def release(self) -> None:
        """Drop the file lock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _try_lock(self) -> bool:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _prepare(self) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(f"INSERT OR IGNORE INTO {TABLE} (name, position) VALUES (?, 0)",
                           (self._name,))

    def _write(self, position: int) -> None:
        if self._fd is None:
            raise RuntimeError("the relay lease is not held")
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(f"UPDATE {TABLE} SET position = ? WHERE name = ?",
                           (position, self._name))


def sqlite_position(datastore: Any, name: str) -> int:
    """The stored position on SQLite (0 before the relay first ran)."""
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (TABLE,))
        if cursor.fetchone() is None:
            return 0
        cursor.execute(f"SELECT position FROM {TABLE} WHERE name = ?", (name,))
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def postgres_position(datastore: Any, name: str) -> int:
    """The stored position on PostgreSQL (0 before the relay first ran)."""
    with datastore.get_connection() as conn:
        found = conn.execute("SELECT to_regclass(%s) AS t",
                             (f'"{datastore.schema}".{TABLE}',)).fetchone()
        if found is None or found["t"] is None:
            return 0
        row = conn.execute(f'SELECT position FROM "{datastore.schema}".{TABLE} WHERE name = %s',
                           (name,)).fetchone()
    return int(row["position"]) if row else 0


class RelayProgress:
    """How far the events relay has had Kafka acknowledge the store (its stored position),
    read by consumers: every event up to it is on the topic, in its partition. A projection
    worker that has consumed a partition to its end, as it stood after this was read, has
    applied every one of those events keyed to that partition (the worker's position)."""

    def __init__(self, store: str, *, pg_dsn: str | None = None, schema: str = "public",
                 sqlite_path: Path | None = None, name: str = "events") -> None:
        self._store, self._dsn, self._schema = store, pg_dsn, schema
        self._sqlite_path, self._name = sqlite_path, name
        self._conn: Any = None

    async def read(self) -> int:
        """The stored position (0 before the relay first ran)."""
        if self._store == "postgres":
            return await self._read_postgres()
        return await asyncio.to_thread(self._read_sqlite)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _read_postgres(self) -> int:
        import asyncpg

        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn)
        try:
            found = await self._conn.fetchval(
                f'SELECT position FROM "{self._schema}".{TABLE} WHERE name = $1', self._name)
        except asyncpg.UndefinedTableError:
            return 0
        return int(found or 0)

    def _read_sqlite(self) -> int:
        import sqlite3

        if self._sqlite_path is None or not self._sqlite_path.exists():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{self._sqlite_path}?mode=ro",
                                                uri=True, timeout=5)) as conn:
            try:
                row = conn.execute(f"SELECT position FROM {TABLE} WHERE name = ?",
                                   (self._name,)).fetchone()
            except sqlite3.OperationalError:  # no table yet: the relay never ran
                return 0
        return int(row[0]) if row else 0
