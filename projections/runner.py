"""The in-process runner: follow the event store's notification log into the live read models.

Each step reads up to `batch_size` notifications after the smallest live position, decodes
and projects them (in a worker thread: it is CPU work), and commits every read model's
changes with its new position in one transaction. A crash anywhere before COMMIT leaves
both the rows and the position as they were, so the restarted runner redoes the batch
exactly once; a crash after COMMIT leaves both moved.

No event is skipped when writers commit out of order: eventsourcing's PostgreSQL recorder
takes `LOCK TABLE ... IN EXCLUSIVE MODE` in every insert transaction, so notification ids
are handed out and committed in the same order and a reader never sees id n+1 before n.
SQLite has a single writer. A rolled-back insert leaves a gap in the ids forever; reading
"everything after my position" passes over it without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from projections.backoff import Backoff, sleep_or_stop
from projections.catalog import Projection
from projections.generations import LiveTarget, ensure_live, live_targets
from projections.records import EventRecord, decode_stored
from projections.store import ReadModelStore
from projections.tracking import Mark, PositionConflict, Work, touched_by

log = logging.getLogger("corridor.projections")


class EventSource(Protocol):
    """The store's notification log, decoded."""

    async def read(self, after: int, limit: int) -> list[EventRecord]: ...
    async def head(self) -> int: ...


class RecorderSource:
    """Notifications through eventsourcing's recorder (SQLite or PostgreSQL), in a thread."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def _read(self, after: int, limit: int) -> list[EventRecord]:
        notifications = self.recorder.select_notifications(after + 1, limit)
        return [decode_stored(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                for n in notifications]

    async def read(self, after: int, limit: int) -> list[EventRecord]:
        return await asyncio.to_thread(self._read, after, limit)

    async def head(self) -> int:
        return int(await asyncio.to_thread(self.recorder.max_notification_id) or 0)


def build_works(targets: Sequence[LiveTarget], records: Sequence[EventRecord]) -> list[Work]:
    """Each target's changes for the records after its own position."""
    works = []
    for live in targets:
        mine = [r for r in records if r.position > live.position]
        if not mine:
            continue
        project = live.target.projection.project
        changes = [c for r in mine for c in project(r)]
        last = mine[-1].position
        works.append(Work(live.target, [Mark(live.position, last, last)], changes))
    return works


GATHER_SECONDS = 0.02
"""How long a woken runner waits for more commits before it reads (bounds the added lag)."""


class StoreRunner:
    """Keeps the live read models current from the event store."""

    def __init__(self, store: ReadModelStore, source: EventSource,
                 projections: Sequence[Projection], *, batch_size: int = 1000,
                 idle_seconds: float = 0.5, gather_seconds: float = GATHER_SECONDS,
                 backoff: Backoff | None = None) -> None:
        self.store, self.source, self.projections = store, source, tuple(projections)
        self.batch_size, self.idle_seconds = batch_size, idle_seconds
        self.gather_seconds = gather_seconds
        self.positions: dict[str, int] = {}
        self.last_error: str | None = None
        self.on_commit: list[Callable[[dict[str, int]], None]] = []
        self.backoff = backoff or Backoff("projection runner", log)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def nudge(self) -> None:
        """Wake the runner now (thread-safe): new events were just stored."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def step(self) -> int:
        """Apply one batch; returns how many events it covered (0 when up to date)."""
        targets = await live_targets(self.store, self.projections)
        self.positions.update({t.target.name: t.position for t in targets})
        if not targets:
            return 0
        start = min(t.position for t in targets)
        records = await self.source.read(start, self.batch_size)
        if not records:
            return 0
        works = await asyncio.to_thread(build_works, targets, records)
        await self.store.commit(works, touched=touched_by(works))
        for work in works:
            self.positions[work.target.name] = work.marks[0].position
        for callback in list(self.on_commit):
            callback(dict(self.positions))
        return len(records)

    async def catch_up(self) -> int:
        """Apply batches until nothing is left; returns the number of events covered."""
        total = 0
        while covered := await self.step():
            total += covered
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the store until `stop` is set; errors are logged and retried with backoff."""
        self._loop = asyncio.get_running_loop()
        live = False
        while not stop.is_set():
            # Cleared before reading, not after: a nudge for a commit that lands while this
            # step reads must start the next step, not be lost to a whole idle poll.
            self._wake.clear()
            try:
                if not live:  # in the loop: a runner started during an outage waits too
                    await ensure_live(self.store, self.projections)
                    live = True
                covered = await self.step()
                self.last_error = None
                self.backoff.succeeded()
            except PositionConflict as conflict:
                log.info("another runner moved first (%s); reloading positions", conflict)
                continue
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                await self.backoff.pause(error, stop)
                continue
            if covered < self.batch_size:
                await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=self.idle_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        if self._wake.is_set() and self.gather_seconds > 0:
            # Let the commits that follow this one arrive too: under load one read-model
            # transaction then covers many writer commits, not one each.
            await sleep_or_stop(stop, self.gather_seconds)
