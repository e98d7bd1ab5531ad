"""COPY rows out on a thread of its own while a rebuild goes on projecting.

Why: a rebuild's fill used to wait for every COPY of audit rows; PostgreSQL ingests them on
its own core, so the fill (CPU-bound Python) and the ingest can overlap. The thread runs
its own event loop and asyncpg connection (an asyncpg connection belongs to one loop), and
takes chunks from a bounded queue, so at most a few chunks of rows wait in memory. A COPY
that fails is reported by the next `load` or by `finish`; the rebuild then fails as a
whole and its "building" generation is dropped by the next rebuild, as after any crash.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import uvloop

PENDING_CHUNKS = 3
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
"""Where PostgreSQL's binary timestamps count from."""
MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> tuple[int]:
    """A timestamptz in PostgreSQL's binary form: microseconds since PG_EPOCH. asyncpg's
    own encoder does more work per value (a time-zone conversion and a timedelta's
    fields); a rebuild copies millions. Naive times count as local time, as
    asyncpg takes them."""
    if moment.tzinfo is None:
        moment = moment.astimezone(UTC)
    return ((moment - PG_EPOCH) // MICROSECOND,)


def _moment(micros: tuple[int]) -> datetime:
    return PG_EPOCH + micros[0] * MICROSECOND


async def copy_connection(dsn: str, schema: str) -> asyncpg.Connection:
    """A connection for COPY only, with the faster timestamp encoder (times it reads back
    are the same aware UTC datetimes; 'infinity' would not be, so it is kept from reads)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    await conn.set_type_codec("timestamptz", schema="pg_catalog", encoder=_micros,
                              decoder=_moment, format="tuple")
    return conn


@dataclass(frozen=True)
class Chunk:
    table: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]


class CopyThread:
    """Copies chunks of rows into PostgreSQL tables, in order, on a thread of its own."""

    def __init__(self, dsn: str, schema: str, pending: int = PENDING_CHUNKS) -> None:
        self.dsn, self.schema = dsn, schema
        self._chunks: queue.Queue[Chunk | None] = queue.Queue(maxsize=pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="rebuild-copy", daemon=True)
        self._thread.start()
        self.rows = 0

    async def load(self, table: str, columns: Sequence[str],
                   rows: Sequence[tuple[Any, ...]]) -> None:
        """Queue rows for COPY; waits (without blocking the loop) while the queue is full."""
        self._raise_if_failed()
        chunk = Chunk(table, tuple(columns), rows)
        try:
            self._chunks.put_nowait(chunk)
        except queue.Full:
            await asyncio.to_thread(self._chunks.put, chunk)

    async def finish(self) -> None:
        """Wait until every queued row is copied; raise what went wrong, if anything did."""
        await asyncio.to_thread(self._chunks.put, None)
        await asyncio.to_thread(self._thread.join)
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"copying rows out failed: {self._error}") from self._error

    def _run(self) -> None:
        try:
            uvloop.run(self._copy_all())
        except BaseException as error:  # reported to the rebuild by load() / finish()
            self._error = error
            self._drain()

    async def _copy_all(self) -> None:
        conn = await copy_connection(self.dsn, self.schema)
        try:
            while True:
                chunk = self._chunks.get()  # this loop has nothing else to do meanwhile
                if chunk is None:
                    return
                await conn.copy_records_to_table(chunk.table, records=chunk.rows,
                                                 columns=list(chunk.columns),
                                                 schema_name=self.schema)
                self.rows += len(chunk.rows)
        finally:
            await conn.close()

    def _drain(self) -> None:
        """After a failure: take what is queued so no producer waits forever."""
        while True:
            try:
                if self._chunks.get(timeout=5) is None:
                    return
            except queue.Empty:
                return
