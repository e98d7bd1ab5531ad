"""Notice another process's commits to a SQLite file, as PostgreSQL's LISTEN does.

SQLite tells no one about a commit. `PRAGMA data_version` changes on a connection whenever
another connection has committed to its file since the last look; asking it reads the WAL
index in shared memory, so looking every few milliseconds costs next to nothing while
nothing happens. The embedded store's processes use it: the supervisor to wake its
projections and policies on the writer process's commits, the HTTP workers to learn which
board rows the supervisor changed (services.runtime.writer_process).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("corridor.projections")
WATCH_SECONDS = 0.005
"""How often the file is looked at: a few milliseconds added to what another process's
commit takes to be seen here."""
RETRY_SECONDS = 0.5
"""The pause after a look that failed."""


def data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


async def watch_commits(path: Path, on_commit: Callable[[sqlite3.Connection], None],
                        stop: asyncio.Event, interval: float = WATCH_SECONDS, *,
                        on_open: Callable[[sqlite3.Connection], None] | None = None) -> None:
    """Call `on_commit(connection)` (on this loop's thread, with a read connection of the
    file) after each look that finds commits by another connection, until `stop`;
    `on_open(connection)` first, before the first look."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=1.0)
    try:
        seen = data_version(conn)
        if on_open is not None:
            on_open(conn)
        while not stop.is_set():
            await asyncio.sleep(interval)  # cheaper than waiting on `stop` with a timeout
            try:
                now = data_version(conn)
                if now != seen:
                    on_commit(conn)
                    seen = now
            except sqlite3.Error:  # e.g. locked by a checkpoint: look again, not give up
                log.warning("watching %s for commits failed; looking again", path,
                            exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
    finally:
        conn.close()
