"""Projection lag as a reader sees it: from a command's 200 answer to its case's board row
showing that version. One query per poll asks for every case still awaited."""

from __future__ import annotations

import asyncio
import time
from array import array
from uuid import UUID

import asyncpg

from bench.mix import Command
from projections.schema import physical

POLL_SECONDS = 0.005


async def live_board(dsn: str, timeout: float = 60.0) -> str:
    """The live case board table, once a runner or worker has created it."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(dsn)
    try:
        while time.monotonic() < deadline:
            try:
                generation = await conn.fetchval(
                    "SELECT generation FROM projection_generations "
                    "WHERE projection = 'case_board' AND state = 'live'")
            except asyncpg.UndefinedTableError:
                generation = None
            if generation is not None:
                return physical("case_board", int(generation))
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    raise TimeoutError(f"no live case board within {timeout:.0f}s")


class LagProbe:
    """Collects acknowledged case versions and times when the board shows each of them."""

    def __init__(self, dsn: str, board: str) -> None:
        self.dsn, self.board = dsn, board
        self.pending: dict[str, list[tuple[int, float]]] = {}
        self.lags: array[float] = array("d")
        self.polls = 0
        self.since = 0.0
        """Answers before this perf_counter time (the warm-up) are not timed."""
        self._stop = asyncio.Event()

    def acknowledged(self, command: Command, stream_id: UUID, version: int,
                     at: float) -> None:
        """AckListener for the load generator: await this case version on the board."""
        if at >= self.since and command.path.startswith("/cases/"):
            self.pending.setdefault(str(stream_id), []).append((version, at))

    async def run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        id_type = await conn.fetchval(  # text or uuid, as the projection declares it
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = $1::regclass AND attname = 'case_id'", self.board)
        query = await conn.prepare(f"SELECT case_id, version FROM {self.board} "
                                   f"WHERE case_id = ANY($1::{id_type}[])")
        try:
            while not (self._stop.is_set() and not self.pending):
                if self.pending:
                    rows = await query.fetch(list(self.pending))
                    self._seen(rows, time.perf_counter())
                    self.polls += 1
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await conn.close()

    def _seen(self, rows: list[asyncpg.Record], at: float) -> None:
        for row_id, version in rows:
            case_id = str(row_id)
            waiting = self.pending.get(case_id)
            if not waiting or version is None:
                continue
            still = [(v, t) for v, t in waiting if v > version]
            for v, acknowledged_at in waiting:
                if v <= version:
                    self.lags.append(at - acknowledged_at)
            if still:
                self.pending[case_id] = still
            else:
                del self.pending[case_id]

    async def drain(self, timeout: float) -> int:
        """Stop taking new acks' turn; wait for what is pending; returns how many never showed."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        missing = sum(len(v) for v in self.pending.values())
        self.pending.clear()
        return missing
