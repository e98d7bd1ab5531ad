"""Read models in PostgreSQL through asyncpg (production).

Each commit is one transaction: move the positions (only from the expected values), apply
the changes grouped into executemany batches, and NOTIFY the board channel, which
PostgreSQL delivers only if the transaction commits. Rebuilds load rows with COPY.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from projections.catalog import Projection
from projections.copier import CopyThread, copy_connection
from projections.migrations import AsyncpgSession, migrate_async
from projections.schema import Table, physical
from projections.sql import numbered
from projections.store import (
    BoardListener,
    BulkLoader,
    advance_args,
    combined_statements,
    conflict,
    drop_statements,
    generation_index_statements,
    generation_statements,
)
from projections.tracking import (
    ADVANCE,
    DELETE_GENERATION,
    DELETE_TRACKING,
    INIT_TRACKING,
    INSERT_GENERATION,
    MAKE_LIVE,
    RETIRE_LIVE,
    SCHEMA,
    SELECT_GENERATIONS,
    SELECT_TRACKING,
    STORE_SOURCE,
    Generation,
    Position,
    Target,
    Touched,
    Work,
    board_payload,
    parse_payload,
)

log = logging.getLogger("corridor.projections")

BOARD_CHANNEL = "corridor_board"
NOTIFY_LIMIT = 7000  # PostgreSQL refuses payloads of 8000 bytes or more
COPY_CHUNK = 50_000
INDEX_MEMORY = "256MB"

_SQL = {name: numbered(sql, "postgres") for name, sql in {
    "advance": ADVANCE, "init": INIT_TRACKING, "insert_generation": INSERT_GENERATION,
    "retire": RETIRE_LIVE, "live": MAKE_LIVE, "delete_generation": DELETE_GENERATION,
    "delete_tracking": DELETE_TRACKING,
}.items()}


CONNECT_TIMEOUT_SECONDS = 5.0
"""A pool's new connection: asyncpg waits 60 s by default, and a read while the database is
unreachable (not refusing) would hold its caller that long before its 503. A connection
lost in an outage is replaced on the next acquire, with no backoff to wait out."""


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg is untyped
    """A pool's connection, handed back without asyncpg's reset query (advisory unlock,
    CLOSE ALL, UNLISTEN, RESET ALL): that is one more round trip on every release, which
    each read waits for, and on a busy machine it was as slow as the read itself. This store
    leaves no session state on pooled connections: no LISTEN (its own connection), advisory
    lock or cursor, and the one SET is reset by whoever sets it. An open transaction is still
    rolled back on release (asyncpg does that apart from the query). The reset query also
    weeded out connections an error had left mid-operation (a database shutting down): those
    are now closed by `PostgresStore.connection` instead."""

    def get_reset_query(self) -> str:
        return ""


class PostgresStore:
    """Read models, generations and positions in one PostgreSQL schema."""

    dialect = "postgres"

    def __init__(self, dsn: str, schema: str = "public", pool_size: int = 6) -> None:
        self.dsn, self.schema, self.pool_size = dsn, schema, pool_size
        self.before_commit: Callable[[], None] | None = None
        self._pool: asyncpg.Pool | None = None
        self._listeners: list[BoardListener] = []
        self._listen_conn: asyncpg.Connection | None = None
        self._listen_lock = asyncio.Lock()
        self._copy_conn: asyncpg.Connection | None = None
        """bulk_load's own connection, with the COPY-only timestamp codec (copier.py)."""
        self._copying = asyncio.Lock()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("PostgresStore.start() was not called")
        return self._pool

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; one that saw an error (or a cancellation) is closed rather
        than handed to the next read: it may be mid-operation (seen as 'cannot switch to
        state 12; another operation is in progress' while PostgreSQL shut down)."""
        async with self.pool.acquire() as conn:
            try:
                yield conn
            except BaseException:
                conn.terminate()
                raise

    async def connect(self) -> asyncpg.Connection:
        """A connection of its own (rebuild readers, listeners), on the same schema."""
        return await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})

    async def start(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.pool_size, timeout=CONNECT_TIMEOUT_SECONDS,
            server_settings={"search_path": self.schema}, connection_class=PooledConnection)
        async with self.connection() as conn:
            await migrate_async(AsyncpgSession(conn), SCHEMA)

    async def close(self) -> None:
        if self._copy_conn is not None:
            await self._copy_conn.close()
            self._copy_conn = None
        if self._listen_conn is not None:
            await self._listen_conn.close()
            self._listen_conn = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def generations(self) -> list[Generation]:
        return [Generation(**r) for r in await self.fetch(SELECT_GENERATIONS)]

    async def positions(self) -> list[Position]:
        return [Position(**r) for r in await self.fetch(SELECT_TRACKING)]

    async def create_generation(self, projection: Projection, generation: int, state: str,
                                position: int, *, deferred: bool = False) -> None:
        now = datetime.now(UTC)
        async with self.connection() as conn, conn.transaction():
            for sql in generation_statements(projection, generation, self.dialect,
                                             deferred=deferred):
                await conn.execute(sql)
            await conn.execute(_SQL["insert_generation"], projection.name, generation, state,
                               projection.version, now)
            await conn.execute(_SQL["init"], projection.name, generation, STORE_SOURCE, 0,
                               position, position, now)

    async def index_generation(self, projection: Projection, generation: int) -> None:
        # Index builds run side by side on the pool's connections (PostgreSQL sorts each in
        # its own backend), then statistics are gathered for the planner.
        async def build(sql: str) -> None:
            async with self.connection() as conn:
                await conn.execute(f"SET maintenance_work_mem = '{INDEX_MEMORY}'")
                try:
                    await conn.execute(sql)
                finally:  # the connection goes back to the pool as it came (no reset query)
                    await conn.execute("RESET maintenance_work_mem")
        statements = generation_index_statements(projection, generation, self.dialect)
        await asyncio.gather(*(build(sql) for sql in statements))
        async with self.connection() as conn:
            for table in projection.tables:
                await conn.execute(f"ANALYZE {physical(table.name, generation)}")

    async def drop_generation(self, projection: Projection, generation: int) -> None:
        async with self.connection() as conn, conn.transaction():
            for sql in drop_statements(projection, generation):
                await conn.execute(sql)
            await conn.execute(_SQL["delete_generation"], projection.name, generation)
            await conn.execute(_SQL["delete_tracking"], projection.name, generation)

    async def init_tracking(self, target: Target, source: str, parts: Iterable[int],
                            position: int) -> None:
        now = datetime.now(UTC)
        rows = [(target.name, target.generation, source, p, position, None, now) for p in parts]
        async with self.connection() as conn:
            await conn.executemany(_SQL["init"], rows)

    async def commit(self, works: Sequence[Work], *, switch: Sequence[Target] = (),
                     touched: Touched | None = None) -> None:
        async with self.connection() as conn, conn.transaction():
            now = datetime.now(UTC)
            await _advance(conn, works, now)
            for sql, args in combined_statements(works):
                await _run(conn, sql, args)
            for target in switch:
                await conn.execute(_SQL["retire"], target.name)
                await conn.execute(_SQL["live"], now, target.name, target.generation)
            if touched:
                await conn.execute("SELECT pg_notify($1, $2)", BOARD_CHANNEL,
                                   board_payload(touched, NOTIFY_LIMIT))
            if self.before_commit is not None:
                self.before_commit()

    async def bulk_load(self, target: Target, table: Table,
                        rows: Sequence[tuple[Any, ...]]) -> None:
        into = physical(table.name, target.generation)
        async with self._copying:
            if self._copy_conn is None:
                self._copy_conn = await copy_connection(self.dsn, self.schema)
            conn = self._copy_conn
            async with conn.transaction():
                await self._copy(conn, into, table, rows)

    async def _copy(self, conn: asyncpg.Connection, into: str, table: Table,
                    rows: Sequence[tuple[Any, ...]]) -> None:
        for start in range(0, len(rows), COPY_CHUNK):
            await conn.copy_records_to_table(
                into, records=rows[start:start + COPY_CHUNK],
                columns=list(table.column_names), schema_name=self.schema)

    def bulk_loader(self) -> BulkLoader:
        return BackgroundLoader(CopyThread(self.dsn, self.schema))

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        async with self.connection() as conn:
            rows = await conn.fetch(numbered(sql, self.dialect), *args)
        return [dict(r) for r in rows]

    async def listen_board(self, listener: BoardListener) -> Callable[[], None]:
        self._listeners.append(listener)
        if len(self._listeners) == 1:
            await self.listen(BOARD_CHANNEL, self._deliver)
        return lambda: self._listeners.remove(listener)

    def _deliver(self, payload: str) -> None:
        touched = parse_payload(payload)
        for listener in list(self._listeners):
            listener(touched)

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` on every NOTIFY on the channel (one shared connection)."""
        async with self._listen_lock:
            if self._listen_conn is None:
                self._listen_conn = await self.connect()
            await self._listen_conn.add_listener(
                channel, lambda _conn, _pid, _channel, payload: callback(payload))


ADVANCE_ALL = (
    "UPDATE projection_tracking t SET position = v.position, store_position = v.store_position, "
    "updated_at = $1 FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], "
    "$6::bigint[], $7::bigint[], $8::bigint[]) AS v(projection, generation, source, part, "
    "expected, position, store_position) WHERE t.projection = v.projection AND "
    "t.generation = v.generation AND t.source = v.source AND t.part = v.part AND "
    "t.position = v.expected RETURNING t.projection, t.generation, t.source, t.part")
"""Every position a commit moves, in one statement (one round trip, not one per read model);
a row whose position another runner moved first is not returned."""


async def _advance(conn: asyncpg.Connection, works: Sequence[Work], now: datetime) -> None:
    """Move every work's positions from where it expects them; PositionConflict naming the
    first one another runner moved first (the transaction then rolls back)."""
    marks = [(work, mark) for work in works for mark in work.marks]
    if not marks:
        return
    keys = [(w.target.name, w.target.generation, m.source, m.part) for w, m in marks]
    if len(set(keys)) < len(keys):  # one position moved twice: in order, one at a time
        for work, mark in marks:
            if await conn.execute(_SQL["advance"], *advance_args(work, mark, now)) != "UPDATE 1":
                raise conflict(work, mark)
        return
    columns = list(zip(*[(w.target.name, w.target.generation, m.source, m.part, m.expected,
                          m.position, m.store_position) for w, m in marks], strict=True))
    moved = {tuple(r) for r in await conn.fetch(ADVANCE_ALL, now, *map(list, columns))}
    for work, mark in marks:
        if (work.target.name, work.target.generation, mark.source, mark.part) not in moved:
            raise conflict(work, mark)  # the first in order, as one at a time would name


async def _run(conn: asyncpg.Connection, sql: str, args: list[list[Any]]) -> None:
    if len(args) == 1:
        await conn.execute(sql, *args[0])
    elif args:
        await conn.executemany(sql, args)


class BackgroundLoader:
    """A rebuild's streamed rows, copied by a thread of their own (projections.copier)."""

    def __init__(self, copier: CopyThread) -> None:
        self.copier = copier

    async def load(self, target: Target, table: Table,
                   rows: Sequence[tuple[Any, ...]]) -> None:
        await self.copier.load(physical(table.name, target.generation), table.column_names,
                               rows)

    async def finish(self) -> None:
        await self.copier.finish()
