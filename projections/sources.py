"""Where rebuilds read the event store: big keyset batches straight from its table.

The runner uses eventsourcing's recorder (any store); a rebuild reads the table itself,
20,000 rows at a time, ordered by notification id: PostgreSQL with asyncpg, SQLite with
sqlite3 in a thread. Which table is the service's to say (services.storage.readmodels).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from uuid import UUID

import asyncpg

from projections.partition import Partition
from projections.records import EventRecord, decode_stored

PG_SELECT = ("SELECT notification_id, originator_id, originator_version, topic, state "
             "FROM {table} WHERE notification_id > $1 ORDER BY notification_id LIMIT $2")
PG_SELECT_PART = (
    "SELECT notification_id, originator_id, originator_version, "
    "CASE WHEN mine THEN topic END, CASE WHEN mine THEN state END FROM {table} "
    "CROSS JOIN LATERAL (SELECT get_byte(uuid_send(originator_id), 15) % $3 = $4 AS mine) m "
    "WHERE notification_id > $1 ORDER BY notification_id LIMIT $2")
"""Another partition's rows come without their topic and state: only their position."""
SQLITE_SELECT = ("SELECT rowid, originator_id, originator_version, topic, state "
                 "FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?")


class PostgresEventSource:
    """The notification log read from PostgreSQL with one asyncpg connection."""

    def __init__(self, dsn: str, table: str) -> None:
        self.dsn, self.table = dsn, table
        self._conn: asyncpg.Connection | None = None

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            self._conn = await asyncpg.connect(self.dsn)
        return self._conn

    async def read(self, after: int, limit: int) -> list[EventRecord]:
        conn = await self._connection()
        rows = await conn.fetch(PG_SELECT.format(table=self.table), after, limit)
        return [decode_stored(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def read_part(self, after: int, limit: int,
                        part: Partition) -> tuple[list[EventRecord], int]:
        """The partition's events among the next `limit`: the others are not decoded."""
        conn = await self._connection()
        rows = await conn.fetch(PG_SELECT_PART.format(table=self.table), after, limit,
                                part.count, part.index)
        return ([decode_stored(r[0], r[1], r[2], r[3], r[4]) for r in rows
                 if r[3] is not None], rows[-1][0] if rows else after)

    async def head(self) -> int:
        conn = await self._connection()
        return int(await conn.fetchval(f"SELECT MAX(notification_id) FROM {self.table}") or 0)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


class SQLiteEventSource:
    """The notification log read from the embedded store's file."""

    def __init__(self, path: Path, table: str = "stored_events") -> None:
        self.path, self.table = path, table
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, check_same_thread=False)
        return self._conn

    def _read(self, after: int, limit: int) -> list[EventRecord]:
        rows = self._connection().execute(SQLITE_SELECT.format(table=self.table),
                                          (after, limit)).fetchall()
        return [decode_stored(r[0], UUID(r[1]), r[2], r[3], r[4]) for r in rows]

    async def read(self, after: int, limit: int) -> list[EventRecord]:
        return await asyncio.to_thread(self._read, after, limit)

    async def read_part(self, after: int, limit: int,
                        part: Partition) -> tuple[list[EventRecord], int]:
        """The partition's events among the next `limit` (all are decoded: the embedded
        store is rebuilt by one process, so this is not on a rebuild's hot path)."""
        records = await self.read(after, limit)
        return ([r for r in records if part.holds(r.stream_id)],
                records[-1].position if records else after)

    async def head(self) -> int:
        def top() -> int:
            row = self._connection().execute(f"SELECT MAX(rowid) FROM {self.table}").fetchone()
            return int(row[0] or 0) if row else 0
        return await asyncio.to_thread(top)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
