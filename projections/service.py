"""What the API needs from the read models: live tables, positions, waiting, status, changes.

One ProjectionService per process. It owns the read-model store and, when projections run
in-process, the runner task that keeps the live generations current from the event store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from domain.base import CoordinationError
from projections.catalog import PROJECTIONS, Projection
from projections.generations import ensure_live, live_of, store_positions
from projections.rebuild import rebuild_stale
from projections.runner import RecorderSource, StoreRunner
from projections.schema import physical
from projections.store import ReadModelStore
from projections.tracking import BUILDING, Generation, Position, Touched

log = logging.getLogger("corridor.projections")

LIVE_CACHE_SECONDS = 1.0
POLL_SECONDS = 0.05
FEED_QUEUE = 256
FEED_GATHER_SECONDS = 0.25
"""Board changes within this long of one go out to the live streams together: a console
shows a change within a quarter of a second, and under load every stream is woken and the
changed rows are read four times a second, whatever the rate of commits."""


class ReadModelRebuilding(CoordinationError):
    """A read model's live tables were built by another version of its code than the one
    running here: the process that keeps the read models is rebuilding it for this release
    (projections.rebuild.rebuild_stale), and this code does not read the old shape."""

    http_status = 503


class BoardFeed:
    """Fans committed board changes out to live subscribers (server-sent events), what
    changed within FEED_GATHER_SECONDS of a change as one: every stream then reads the same
    rows for it once (services.api.queries.SharedFrames), a few times a second under load
    rather than once per commit."""

    def __init__(self, gather_seconds: float = FEED_GATHER_SECONDS) -> None:
        self._queues: set[asyncio.Queue[Touched]] = set()
        self._gather_seconds = gather_seconds
        self._pending: list[Touched] = []
        self._flush: asyncio.TimerHandle | None = None

    def publish(self, touched: Touched) -> None:
        if not self._queues:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on a loop: nothing to wait on, hand it on now
            self._send(touched)
            return
        self._pending.append(touched)
        if self._flush is None:
            self._flush = loop.call_later(self._gather_seconds, self._send_pending)

    def _send_pending(self) -> None:
        self._flush = None
        pending, self._pending = self._pending, []
        if pending:
            self._send(Touched(cases=frozenset().union(*(t.cases for t in pending)),
                               resources=frozenset().union(*(t.resources for t in pending)),
                               everything=any(t.everything for t in pending)))

    def _send(self, touched: Touched) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(touched)
            except asyncio.QueueFull:
                # A slow client: drop the detail and tell it to reload what it shows.
                _drain(queue)
                queue.put_nowait(Touched(everything=True))

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Touched]]:
        queue: asyncio.Queue[Touched] = asyncio.Queue(FEED_QUEUE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._queues)


def _drain(queue: asyncio.Queue[Touched]) -> None:
    while not queue.empty():
        queue.get_nowait()


@dataclass(frozen=True)
class ProjectionStatus:
    """Where one read model stands."""

    projection: str
    generation: int | None
    code_version: int
    built_by_version: int | None
    position: int
    head: int
    building: dict[int, int]

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)

    @property
    def needs_rebuild(self) -> bool:
        return self.built_by_version is not None and self.built_by_version != self.code_version


class ProjectionService:
    """The read models of this process: queries, read-your-writes, status and live changes."""

    def __init__(self, store: ReadModelStore, *, recorder: Any | None = None,
                 run_in_process: bool = False,
                 projections: Sequence[Projection] = PROJECTIONS,
                 live_board: bool = True) -> None:
        self.store, self.recorder, self.projections = store, recorder, tuple(projections)
        self.live_board = live_board
        """Listen for board changes (for live streams): not in a process that serves none."""
        self.feed = BoardFeed()
        self.runner = (StoreRunner(store, RecorderSource(recorder), self.projections)
                       if run_in_process and recorder is not None else None)
        self._live: dict[str, Generation] = {}
        self._live_at = 0.0
        self._versions = {p.name: p.version for p in self.projections}
        self._stop = asyncio.Event()
        self.closing_event = asyncio.Event()
        """Set when the server begins to shut down: live streams end so it can."""
        self._tasks: list[asyncio.Task[None]] = []
        self._committed = asyncio.Event()
        self._unlisten: Any = None

    async def start(self) -> None:
        await self.store.start()
        await ensure_live(self.store, self.projections)
        if self.runner is not None:  # this process keeps the read models: bring them to its code
            await rebuild_stale(self.store, self.runner.source, self.projections)
        if self.live_board:
            self._unlisten = await self.store.listen_board(self.feed.publish)
        if self.runner is not None:
            await self._wake_on_inserts()
            self.runner.on_commit.append(lambda _: self._on_commit())
            self._tasks.append(asyncio.create_task(self.runner.run(self._stop), name="projections"))

    async def _wake_on_inserts(self) -> None:
        """On PostgreSQL, the recorder NOTIFYs on every insert: other processes' commands
        then wake the runner at once instead of at its next poll."""
        channel = getattr(self.recorder, "channel_name", None)
        listen = getattr(self.store, "listen", None)
        if channel and listen is not None:
            await listen(channel, lambda _payload: self.nudge())

    async def stop(self) -> None:
        self.begin_closing()
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        if self._unlisten is not None:
            self._unlisten()
        await self.store.close()

    @property
    def closing(self) -> bool:
        """True once the server began shutting down (live streams end)."""
        return self.closing_event.is_set()

    def begin_closing(self) -> None:
        """Tell live streams to end (the server waits for them before it can stop)."""
        self.closing_event.set()

    def nudge(self) -> None:
        """New events were stored (thread-safe): wake the runner."""
        if self.runner is not None:
            self.runner.nudge()

    def _on_commit(self) -> None:
        self._committed.set()

    # --- reading -------------------------------------------------------------------------

    async def live(self, *, fresh: bool = False) -> dict[str, Generation]:
        """The live generation of each read model (cached for a second)."""
        if fresh or time.monotonic() - self._live_at > LIVE_CACHE_SECONDS:
            self._live = live_of(await self.store.generations())
            self._live_at = time.monotonic()
        return self._live

    async def table(self, projection: str, name: str, *, fresh: bool = False) -> str:
        """The physical name of a read model's table in its live generation."""
        generation = (await self.live(fresh=fresh)).get(projection)
        if generation is None:
            raise LookupError(f"read model {projection} has no live generation")
        wanted = self._versions.get(projection, generation.code_version)
        if generation.code_version != wanted:
            raise ReadModelRebuilding(
                f"read model {projection} is being rebuilt for this release (its tables were "
                f"built by version {generation.code_version} of its code, this one reads "
                f"version {wanted}); try again shortly")
        return physical(name, generation.generation)

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return await self.store.fetch(sql, args)

    async def positions(self) -> dict[str, int]:
        """How far each live read model has applied the store (notification ids)."""
        return store_positions(await self.store.positions(), await self.store.generations())

    async def head(self) -> int:
        """The newest notification id in the event store (0 when unknown here)."""
        if self.recorder is None:
            return 0
        return int(await asyncio.to_thread(self.recorder.max_notification_id) or 0)

    async def wait_for(self, projection: str, position: int, timeout: float) -> bool:
        """Wait until the read model has applied `position`; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if (await self.positions()).get(projection, 0) >= position:
                await self.live(fresh=True)  # read the generation that has it
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._committed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._committed.wait(), min(remaining, POLL_SECONDS))

    async def status(self) -> list[ProjectionStatus]:
        """Position, head, lag and generations of every read model."""
        generations = await self.store.generations()
        positions = await self.store.positions()
        live, reached, head = live_of(generations), store_positions(positions, generations), \
            await self.head()
        return [_status(p, live.get(p.name), reached.get(p.name, 0), head, generations,
                        positions) for p in self.projections]


def _status(projection: Projection, live: Generation | None, position: int, head: int,
            generations: Sequence[Generation], positions: Sequence[Position],
            ) -> ProjectionStatus:
    building = {g.generation: next((p.position for p in positions
                                    if (p.projection, p.generation) == (g.projection,
                                                                         g.generation)), 0)
                for g in generations if g.projection == projection.name and g.state == BUILDING}
    return ProjectionStatus(
        projection=projection.name, generation=live.generation if live else None,
        code_version=projection.version, built_by_version=live.code_version if live else None,
        position=position, head=max(head, position), building=building)
