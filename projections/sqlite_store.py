"""Read models in SQLite (the embedded default), through the standard library's sqlite3.

One dedicated thread owns the writing connection and runs each transaction from BEGIN to
COMMIT in one call, so nothing else can interleave with it; a second thread serves reads
(WAL mode lets readers run beside the writer). The read models live in their own file,
apart from the event store's, so projecting never competes with commands for the lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from projections.catalog import Projection
from projections.migrations import SQLiteSession, migrate
from projections.schema import Table, physical
from projections.sql import sqlite_value
from projections.sqlite_watch import watch_commits
from projections.store import (
    BoardListener,
    BulkLoader,
    DirectLoader,
    advance_args,
    change_statements,
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

R = TypeVar("R")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    _use_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _use_wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to WAL. Two processes opening a new file at once can see "database is locked"
    here (SQLite does not wait on the busy timeout for this switch): try again shortly."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _now() -> str:
    return str(sqlite_value(datetime.now(UTC)))


class SQLiteStore:
    """Read models, generations and positions in one SQLite file."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, shared: bool = False) -> None:
        self.path = path
        self.shared = shared
        """Other processes read these read models (the embedded store served by several
        processes): each commit's board changes are written to board_changes for them,
        and board listeners learn of changes from that table, whoever committed them."""
        self._watching: asyncio.Task[None] | None = None
        self._stop_watching = asyncio.Event()
        self.before_commit: Callable[[], None] | None = None
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="readmodel-writer")
        self._reader_thread = ThreadPoolExecutor(1, thread_name_prefix="readmodel-reader")
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._listeners: list[BoardListener] = []

    async def _write(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        def run() -> R:
            if self._writer is None:
                self._writer = _connect(self.path)
            return fn(self._writer)
        return await asyncio.get_running_loop().run_in_executor(self._writer_thread, run)

    async def _read(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        def run() -> R:
            if self._reader is None:
                self._reader = _connect(self.path)
            return fn(self._reader)
        return await asyncio.get_running_loop().run_in_executor(self._reader_thread, run)

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._write(lambda c: migrate(SQLiteSession(c), SCHEMA))

    async def close(self) -> None:
        if self._watching is not None:
            self._stop_watching.set()
            await self._watching
            self._watching = None
        for pool, attr in ((self._writer_thread, "_writer"), (self._reader_thread, "_reader")):
            conn = getattr(self, attr)
            if conn is not None:
                await asyncio.get_running_loop().run_in_executor(pool, conn.close)
                setattr(self, attr, None)
            pool.shutdown(wait=True)

    async def generations(self) -> list[Generation]:
        rows = await self.fetch(SELECT_GENERATIONS)
        return [Generation(**_times(r, "created_at", "switched_at")) for r in rows]

    async def positions(self) -> list[Position]:
        rows = await self.fetch(SELECT_TRACKING)
        return [Position(**_times(r, "updated_at")) for r in rows]

    async def create_generation(self, projection: Projection, generation: int, state: str,
                                position: int, *, deferred: bool = False) -> None:
        def create(c: sqlite3.Connection) -> None:
            for sql in generation_statements(projection, generation, self.dialect,
                                             deferred=deferred):
                c.execute(sql)
            c.execute(INSERT_GENERATION, (projection.name, generation, state,
                                          projection.version, _now()))
            c.execute(INIT_TRACKING, (projection.name, generation, STORE_SOURCE, 0, position,
                                      position, _now()))
        await self._write(lambda c: _transaction(c, lambda: create(c)))

    async def index_generation(self, projection: Projection, generation: int) -> None:
        statements = generation_index_statements(projection, generation, self.dialect)
        await self._write(lambda c: _transaction(c, lambda: [c.execute(s) for s in statements]))

    async def drop_generation(self, projection: Projection, generation: int) -> None:
        def drop(c: sqlite3.Connection) -> None:
            for sql in drop_statements(projection, generation):
                c.execute(sql)
            c.execute(DELETE_GENERATION, (projection.name, generation))
            c.execute(DELETE_TRACKING, (projection.name, generation))
        await self._write(lambda c: _transaction(c, lambda: drop(c)))

    async def init_tracking(self, target: Target, source: str, parts: Iterable[int],
                            position: int) -> None:
        rows = [(target.name, target.generation, source, p, position, None, _now())
                for p in parts]
        await self._write(lambda c: _transaction(c, lambda: c.executemany(INIT_TRACKING, rows)))

    async def commit(self, works: Sequence[Work], *, switch: Sequence[Target] = (),
                     touched: Touched | None = None) -> None:
        shared = board_payload(touched) if touched and self.shared else None
        await self._write(lambda c: _transaction(
            c, lambda: self._apply(c, works, switch, shared)))
        if touched and not self.shared:  # shared: the watch hands it on (_watch_board)
            self._deliver(touched)

    def _deliver(self, touched: Touched) -> None:
        for listener in list(self._listeners):
            listener(touched)

    def _apply(self, c: sqlite3.Connection, works: Sequence[Work],
               switch: Sequence[Target], shared: str | None = None) -> None:
        now = _now()
        if shared is not None:
            _share(c, shared)
        for work in works:
            for mark in work.marks:
                if c.execute(ADVANCE, advance_args(work, mark, now)).rowcount != 1:
                    raise conflict(work, mark)
            for sql, args in change_statements(work, self.dialect, sqlite_value):
                c.executemany(sql, args)
        for target in switch:
            c.execute(RETIRE_LIVE, (target.name,))
            c.execute(MAKE_LIVE, (now, target.name, target.generation))
        if self.before_commit is not None:
            self.before_commit()

    async def bulk_load(self, target: Target, table: Table,
                        rows: Sequence[tuple[Any, ...]]) -> None:
        names = table.column_names
        into = physical(table.name, target.generation)
        sql = (f"INSERT INTO {into} ({', '.join(names)}) "
               f"VALUES ({', '.join('?' for _ in names)})")
        data = [[sqlite_value(v) for v in row] for row in rows]
        await self._write(lambda c: _transaction(c, lambda: c.executemany(sql, data)))

    def bulk_loader(self) -> BulkLoader:
        return DirectLoader(self)

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        params = [sqlite_value(a) for a in args]

        def query(c: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = c.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return await self._read(query)

    async def listen_board(self, listener: BoardListener) -> Callable[[], None]:
        self._listeners.append(listener)
        if self.shared and self._watching is None:
            self._watching = asyncio.create_task(self._watch_board(), name="board-changes")
        return lambda: self._listeners.remove(listener)

    async def _watch_board(self) -> None:
        """Hand on the board changes any process commits (shared mode), in order; when
        some were pruned before this process read them, ask every stream to reload."""
        seen = 0  # the last board_changes id handed on

        def read(conn: sqlite3.Connection) -> None:
            nonlocal seen
            changes, seen = board_changes_after(
                seen, conn.execute(SELECT_BOARD_CHANGES, (seen,)).fetchall())
            for touched in changes:
                self._deliver(touched)

        def start(conn: sqlite3.Connection) -> None:
            nonlocal seen
            seen = int(conn.execute(LAST_BOARD_CHANGE).fetchone()[0])

        await watch_commits(self.path, read, self._stop_watching, on_open=start)


def _times(row: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if row[name] is not None:
            row[name] = datetime.fromisoformat(row[name])
    return row


BOARD_CHANGES_KEPT = 10_000
"""Board changes kept for the other processes (older ones are pruned): far more than the
few milliseconds between their looks ever let pile up."""
SELECT_BOARD_CHANGES = "SELECT id, payload FROM board_changes WHERE id > ? ORDER BY id"
LAST_BOARD_CHANGE = "SELECT coalesce(max(id), 0) FROM board_changes"


def board_changes_after(after: int, rows: Sequence[tuple[int, str]],
                        ) -> tuple[list[Touched], int]:
    """The changes of board_changes rows read after id `after`, in order, and the last id;
    when the next rows were pruned before they were read, one change of everything first
    (every stream reloads)."""
    if not rows:
        return [], after
    missed = [Touched(everything=True)] if after and rows[0][0] > after + 1 else []
    return missed + [parse_payload(payload) for _, payload in rows], rows[-1][0]


def _share(c: sqlite3.Connection, payload: str) -> None:
    """Write a commit's board changes for the other processes, pruning the oldest."""
    change_id = c.execute("INSERT INTO board_changes (payload) VALUES (?)", (payload,)).lastrowid
    if change_id and change_id % 1_000 == 0:
        c.execute("DELETE FROM board_changes WHERE id <= ?", (change_id - BOARD_CHANGES_KEPT,))


def _transaction(c: sqlite3.Connection, body: Callable[[], object]) -> None:
    c.execute("BEGIN IMMEDIATE")
    try:
        body()
    except BaseException:
        c.execute("ROLLBACK")
        raise
    c.execute("COMMIT")
