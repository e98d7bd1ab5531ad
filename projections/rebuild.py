"""Rebuild read models from zero into a new generation, then switch over without downtime.

1. Create generation N+1 of each read model (state "building"); queries keep reading N,
   which the runner keeps current.
2. Fill: read the store up to its head in large batches, project in memory (one dict
   operation per change, no SQL), stream append-only rows out with COPY as they pile up,
   and load the rest with COPY at the end, with the position reached.
3. Catch up through the ordinary transactional path until the store has nothing newer,
   and in the transaction that applies the last batch, make N+1 live and retire N.
4. Drop retired generations older than the one just retired (kept for a quick look back).

A crash during 1-3 leaves N live and N+1 "building"; the next rebuild drops it and starts
again. Kafka workers' offsets are copied from N to N+1 before the catch-up reads the store,
so after the switch they resume where N was and drop what N+1 already has: every event at
or below N+1's store position.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from projections.catalog import Projection
from projections.changes import Change, Insert
from projections.generations import LiveTarget, live_of, next_generation
from projections.memory import MemoryTables
from projections.records import EventRecord
from projections.runner import EventSource, build_works
from projections.store import ReadModelStore
from projections.tracking import (
    BUILDING,
    RETIRED,
    STORE_SOURCE,
    Mark,
    Target,
    Work,
    touched_by,
)


class ParallelFill(Protocol):
    """Fills generations in several processes (see projections.parallel)."""

    @property
    def processes(self) -> int: ...

    async def fill(self, targets: Sequence[Target], head: int,
                   progress: Progress | None) -> int: ...


Progress = Callable[[int, int], None]
"""Called with (events done, events to do) as the fill goes."""

FILL_BATCH = 20_000
CATCH_UP_BATCH = 5_000
FLUSH_ROWS = 50_000
"""Append-only rows handed to the background COPY at a time (a few chunks wait at most)."""


@dataclass
class RebuildReport:
    """What a rebuild did and how fast."""

    events: int = 0
    seconds: float = 0.0
    generations: dict[str, int] = field(default_factory=dict)
    switched: bool = False
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent per phase: fill, load (COPY of the rest, keys, indexes), catch-up."""

    @property
    def rate(self) -> float:
        """Events per second over the whole rebuild."""
        return self.events / self.seconds if self.seconds else 0.0


SLICE_BITS = 10
SLICES = 100
"""A shared read model's events are dealt out in slices of 1,024 positions, by slice number
modulo SLICES: cheap to test per event, and every process's share is spread over the store."""


@dataclass(frozen=True)
class Share:
    """The slices [first, end) of a shared read model's events that one process projects."""

    first: int
    end: int
    bits: int = SLICE_BITS
    """Positions per slice: 2**bits (tests deal small stores out with smaller slices)."""

    def owned(self, records: Sequence[EventRecord]) -> list[EventRecord]:
        first, end, bits = self.first, self.end, self.bits
        return [r for r in records if first <= (r.position >> bits) % SLICES < end]


Arrive = Callable[[str], bool]
"""Called by a process that has loaded its share of a shared read model; True for the last
one, which then indexes the table and records the position for all of them."""


class Filler:
    """Projects records into memory tables and streams append-only rows to the store.

    Inserts into append-only tables (the audit trail) skip the memory tables: they are
    collected as they come and copied out in chunks. A rebuild reads each event once, so
    they cannot repeat (and the primary key added after the load would refuse a repeat).
    """

    def __init__(self, store: ReadModelStore, targets: Sequence[Target],
                 shares: Mapping[str, Share] | None = None,
                 arrive: Arrive | None = None) -> None:
        self.store, self.targets = store, list(targets)
        self.shares = dict(shares or {})
        if self.shares and arrive is None:
            raise ValueError("a filler with shared read models needs an `arrive` hook")
        self.arrive = arrive
        self.loader = store.bulk_loader()
        """Streams append-only rows out while the fill goes on (PostgreSQL ingests them on
        its own core; the fill used to wait for each COPY)."""
        self._loading = True
        self.memory = {t.name: MemoryTables(t.projection.tables) for t in targets}
        self.appended: dict[str, dict[str, list[Mapping[str, Any]]]] = {
            t.name: {table.name: [] for table in t.projection.tables if table.append_only}
            for t in targets}
        self.position = 0

    def apply(self, records: Sequence[EventRecord]) -> None:
        for target in self.targets:
            project, appended = target.projection.project, self.appended[target.name]
            share = self.shares.get(target.name)
            mine = records if share is None else share.owned(records)
            changes = [c for r in mine for c in project(r)]
            if not appended:  # the common case: nothing to set aside
                self.memory[target.name].apply(changes)
                continue
            keyed: list[Change] = []
            for change in changes:
                sink = appended.get(change.table)
                if sink is not None and type(change) is Insert:
                    sink.append(change.values)
                else:
                    keyed.append(change)
            self.memory[target.name].apply(keyed)
        self.position = records[-1].position

    async def flush(self, *, everything: bool) -> None:
        """Copy rows out: append-only tables when big (or all tables at the end)."""
        for target in self.targets:
            await self._flush(target, everything=everything)

    async def _flush(self, target: Target, *, everything: bool) -> None:
        memory = self.memory[target.name]
        for table in target.projection.tables:
            sink = self.appended[target.name].get(table.name)
            if sink is not None and (everything or len(sink) >= FLUSH_ROWS):
                record = memory.tables[table.name].record
                rows = [record(v) for v in sink]
                sink.clear()
                if everything:
                    await self.store.bulk_load(target, table, rows)
                else:
                    await self.loader.load(target, table, rows)
            if everything:
                await self.store.bulk_load(target, table, memory.drain_records(table.name))

    async def close(self) -> None:
        """Wait for the streamed rows (raising if their COPY failed); idempotent."""
        if self._loading:
            self._loading = False
            await self.loader.finish()

    async def finish(self, phases: dict[str, float] | None = None) -> None:
        """Load what is left, add keys and indexes, and record the position reached."""
        started = time.perf_counter()
        await self.close()
        indexing, finished = [], []
        # Each read model's indexes are built (by PostgreSQL) while the next one's rows are
        # copied (by this process), so both cores work; the largest goes first.
        for target in sorted(self.targets, key=lambda t: -_weight(t)):
            await self._flush(target, everything=True)
            if target.name in self.shares and not self._last_to_load(target.name):
                continue  # another process still loads its share, then finishes the table
            indexing.append(asyncio.ensure_future(
                self.store.index_generation(target.projection, target.generation)))
            finished.append(target)
        await asyncio.gather(*indexing)
        await self.store.commit([Work(t, [Mark(0, self.position, self.position)])
                                 for t in finished])
        if phases is not None:
            phases["load"] = time.perf_counter() - started

    def _last_to_load(self, name: str) -> bool:
        assert self.arrive is not None
        return self.arrive(name)


def _weight(target: Target) -> int:
    return sum(len(t.indexes) + 1 for t in target.projection.tables if t.append_only)


async def start_generations(store: ReadModelStore,
                            projections: Sequence[Projection]) -> list[Target]:
    """Drop abandoned builds, then create the next generation of each projection."""
    generations = await store.generations()
    names = {p.name for p in projections}
    for g in generations:
        if g.state == BUILDING and g.projection in names:
            await store.drop_generation(_projection(projections, g.projection), g.generation)
    targets = [Target(p, next_generation(generations, p.name)) for p in projections]
    for target in targets:
        await store.create_generation(target.projection, target.generation, BUILDING, 0,
                                      deferred=True)
    return targets


async def fill(store: ReadModelStore, source: EventSource, targets: Sequence[Target],
               head: int, progress: Progress | None = None,
               phases: dict[str, float] | None = None, *,
               shares: Mapping[str, Share] | None = None, arrive: Arrive | None = None) -> int:
    """Project the store up to `head` into the new generations; returns events covered.
    With `shares`, only those slices of the shared read models' events are projected."""
    filler = Filler(store, targets, shares, arrive)
    started = time.perf_counter()
    done = 0
    was_enabled = gc.isenabled()
    # Millions of long-lived row dicts: automatic full collections would rescan them all
    # again and again (quadratic); nothing here makes reference cycles worth collecting.
    gc.disable()
    try:
        pending = await _prefetch(source, 0, head)
        while pending is not None:
            records = [r for r in await pending if r.position <= head]
            if not records:
                break
            pending = await _prefetch(source, records[-1].position, head)
            filler.apply(records)
            done += len(records)
            await filler.flush(everything=False)
            if progress is not None:
                progress(done, _total(head, done, filler.position))
        if phases is not None:
            phases["fill"] = time.perf_counter() - started
        await filler.finish(phases)
    finally:
        if was_enabled:
            gc.enable()
        with contextlib.suppress(Exception):  # a failure here is not the one to report
            await filler.close()
    return done


async def _prefetch(source: EventSource, after: int,
                    head: int) -> asyncio.Task[list[EventRecord]] | None:
    """Start reading the next batch, so the database sends it while this one is projected."""
    if after >= head:
        return None
    task = asyncio.ensure_future(source.read(after, FILL_BATCH))
    await asyncio.sleep(0)  # let the task send its query before the CPU-bound work starts
    return task


def _total(head: int, done: int, position: int) -> int:
    """Events to do in all, estimated from ids (gaps in ids make it a slight overestimate)."""
    return done + max(head - position, 0)


async def copy_kafka_offsets(store: ReadModelStore, targets: Sequence[Target]) -> None:
    """Start each new generation's Kafka partitions where the live generation is now."""
    live = live_of(await store.generations())
    positions = await store.positions()
    for target in targets:
        current = live.get(target.name)
        if current is None:
            continue
        for p in positions:
            if (p.projection, p.generation) == (target.name, current.generation) \
                    and p.source != STORE_SOURCE:
                await store.init_tracking(target, p.source, [p.part], p.position)


async def catch_up_and_switch(store: ReadModelStore, source: EventSource,
                              targets: Sequence[Target], *, switch: bool) -> int:
    """Apply what arrived since the fill; the last batch's transaction switches over."""
    positions = {p.projection: p.position for p in await store.positions()
                 if p.source == STORE_SOURCE
                 and any((p.projection, p.generation) == (t.name, t.generation)
                         for t in targets)}
    live = [LiveTarget(t, positions.get(t.name, 0)) for t in targets]
    done = 0
    while True:
        start = min(t.position for t in live)
        records = await source.read(start, CATCH_UP_BATCH)
        works = build_works(live, records)
        last = len(records) < CATCH_UP_BATCH
        await store.commit(works, switch=list(targets) if last and switch else (),
                           touched=touched_by(works) if last and switch else None)
        done += len(records)
        live = [LiveTarget(t.target, _moved(t, works)) for t in live]
        if last:
            return done


def _moved(live: LiveTarget, works: Sequence[Work]) -> int:
    for work in works:
        if work.target == live.target:
            return work.marks[0].position
    return live.position


async def drop_old(store: ReadModelStore, projections: Sequence[Projection],
                   keep_retired: int = 1) -> list[tuple[str, int]]:
    """Drop retired generations beyond the newest `keep_retired` of each projection."""
    dropped = []
    generations = await store.generations()
    for projection in projections:
        retired = sorted((g.generation for g in generations
                          if g.projection == projection.name and g.state == RETIRED),
                         reverse=True)
        for number in retired[keep_retired:]:
            await store.drop_generation(projection, number)
            dropped.append((projection.name, number))
    return dropped


async def rebuild(store: ReadModelStore, source: EventSource,
                  projections: Sequence[Projection], *, progress: Progress | None = None,
                  switch: bool = True, keep_retired: int = 1,
                  parallel: ParallelFill | None = None) -> RebuildReport:
    """Rebuild the projections from zero into new generations and switch to them."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    targets = await start_generations(store, projections)
    head = await source.head()
    if parallel is not None and parallel.processes > 1 and len(targets) > 1:
        events = await parallel.fill(targets, head, progress)
        phases["fill_and_load"] = time.perf_counter() - started
    else:
        events = await fill(store, source, targets, head, progress, phases)
    caught_up = time.perf_counter()
    await copy_kafka_offsets(store, targets)
    events += await catch_up_and_switch(store, source, targets, switch=switch)
    phases["catch_up"] = time.perf_counter() - caught_up
    if switch:
        await drop_old(store, projections, keep_retired)
    return RebuildReport(events=events, seconds=time.perf_counter() - started,
                         generations={t.name: t.generation for t in targets},
                         switched=switch, phases=phases)


def _projection(projections: Sequence[Projection], name: str) -> Projection:
    return next(p for p in projections if p.name == name)
