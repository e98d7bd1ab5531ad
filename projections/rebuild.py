"""Rebuild read models from zero into a new generation, then switch over without downtime.

1. Create generation N+1 of each read model (state "building"); queries keep reading N,
   which the runner keeps current.
2. Fill: read the store up to its head in large batches, project in memory (one dict
   operation per change, no SQL), stream append-only rows out with COPY as they pile up,
   and load the rest with COPY at the end, with the position reached. In several processes
   (projections.parallel) each takes a share of the streams, and the few changes that
   cross into another's rows are applied once all have loaded.
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
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from projections.catalog import Projection
from projections.changes import Change, Insert
from projections.generations import LiveTarget, live_of, next_generation
from projections.memory import Keep, MemoryTables
from projections.partition import Partition, Router
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

log = logging.getLogger("corridor.projections")


class ParallelFill(Protocol):
    """Fills generations in several processes (see projections.parallel)."""

    @property
    def processes(self) -> int: ...

    async def fill(self, targets: Sequence[Target], head: int,
                   progress: Progress | None) -> Filled: ...


@runtime_checkable
class PartSource(EventSource, Protocol):
    """An event source that can hand out one partition's share of the streams."""

    async def read_part(self, after: int, limit: int,
                        part: Partition) -> tuple[list[EventRecord], int]:
        """The partition's events among the next `limit` after `after`, and the position
        of the last event looked at (where the next read starts)."""
        ...


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


Arrive = Callable[[str], bool]
"""Called by a process that has loaded its streams' rows of a read model; True for the last
one, which then indexes the tables and records the position for all of them."""


@dataclass
class Filled:
    """What a fill covered: events projected, and the Increments and Latests to rows of
    other processes' streams, by read model, to apply once every process has loaded."""

    events: int
    crossing: dict[str, list[Change]] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds of the fill and of the load (in several processes: the slowest's)."""


class Filler:
    """Projects records into memory tables and streams append-only rows to the store.

    Inserts into append-only tables (the audit trail) skip the memory tables: they are
    collected as they come and copied out in chunks. A rebuild reads each event once, so
    they cannot repeat (and the primary key added after the load would refuse a repeat).
    With a `partition`, only that share of the streams is projected (projections.partition),
    and `arrive` tells which process loads a read model last.
    """

    def __init__(self, store: ReadModelStore, targets: Sequence[Target],
                 partition: Partition | None = None,
                 arrive: Arrive | None = None) -> None:
        self.store, self.targets = store, list(targets)
        self.shared = partition is not None and partition.count > 1
        if self.shared and arrive is None:
            raise ValueError("a filler of one partition of several needs an `arrive` hook")
        self.arrive = arrive
        self.routers = {} if partition is None else {
            t.name: Router(t.name, t.projection.tables, partition) for t in self.targets}
        self.loader = store.bulk_loader()
        """Streams append-only rows out while the fill goes on (PostgreSQL ingests them on
        its own core; the fill used to wait for each COPY)."""
        self._loading = True
        self.memory = {t.name: MemoryTables(t.projection.tables, _keep(self.routers, t.name))
                       for t in targets}
        self.appended: dict[str, dict[str, list[Mapping[str, Any]]]] = {
            t.name: {table.name: [] for table in t.projection.tables if table.append_only}
            for t in targets}
        self.position = 0

    def apply(self, records: Sequence[EventRecord]) -> None:
        for target in self.targets:
            project = target.projection.project
            self._absorb(target, [c for r in records for c in project(r)])

    def _absorb(self, target: Target, changes: list[Change]) -> None:
        appended = self.appended[target.name]
        if not appended:  # the common case: nothing to set aside
            self.memory[target.name].apply(changes)
            return
        keyed: list[Change] = []
        for change in changes:
            sink = appended.get(change.table)
            if sink is not None and type(change) is Insert:
                sink.append(change.values)
            else:
                keyed.append(change)
        self.memory[target.name].apply(keyed)

    def crossing(self) -> dict[str, list[Change]]:
        """Changes to rows of other processes' streams, by read model (folded)."""
        return {name: r.crossing.changes() for name, r in self.routers.items()
                if len(r.crossing)}

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
            if self.shared and not self._last_to_load(target.name):
                continue  # another process still loads its rows, then finishes the table
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


def _keep(routers: Mapping[str, Router], name: str) -> Keep | None:
    router = routers.get(name)
    return None if router is None else router.here


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
               partition: Partition | None = None, arrive: Arrive | None = None) -> Filled:
    """Project the store up to `head` into the new generations. With a `partition`, only
    its streams' events (the source must then be a `PartSource`)."""
    filler = Filler(store, targets, partition, arrive)
    phases = {} if phases is None else phases
    started = time.perf_counter()
    done = 0
    was_enabled = gc.isenabled()
    # Millions of long-lived row dicts: automatic full collections would rescan them all
    # again and again (quadratic); nothing here makes reference cycles worth collecting.
    gc.disable()
    try:
        pending = await _prefetch(source, 0, head, partition)
        while pending is not None:
            batch, scanned = await pending
            scanned = min(scanned, head)
            if scanned <= filler.position:
                break
            pending = await _prefetch(source, scanned, head, partition)
            records = [r for r in batch if r.position <= head]
            if records:
                filler.apply(records)
                done += len(records)
                await filler.flush(everything=False)
            filler.position = scanned
            if progress is not None:
                progress(done, _total(head, done, scanned, partition))
        phases["fill"] = time.perf_counter() - started
        await filler.finish(phases)
    finally:
        if was_enabled:
            gc.enable()
        with contextlib.suppress(Exception):  # a failure here is not the one to report
            await filler.close()
    return Filled(done, filler.crossing(), phases)


async def _prefetch(source: EventSource, after: int, head: int, partition: Partition | None
                    ) -> asyncio.Task[tuple[list[EventRecord], int]] | None:
    """Start reading the next batch, so the database sends it while this one is projected."""
    if after >= head:
        return None
    task = asyncio.ensure_future(_scan(source, after, partition))
    await asyncio.sleep(0)  # let the task send its query before the CPU-bound work starts
    return task


async def _scan(source: EventSource, after: int,
                partition: Partition | None) -> tuple[list[EventRecord], int]:
    if partition is None:
        records = await source.read(after, FILL_BATCH)
        return records, records[-1].position if records else after
    if not isinstance(source, PartSource):
        raise TypeError(f"{type(source).__name__} cannot read a partition of the streams")
    return await source.read_part(after, FILL_BATCH, partition)


def _total(head: int, done: int, position: int, partition: Partition | None) -> int:
    """Events to do in all, estimated from ids (gaps in ids make it a slight overestimate;
    a partition's share is taken as even)."""
    left = max(head - position, 0)
    return done + (left if partition is None else left // partition.count)


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
    if parallel is not None and parallel.processes > 1:
        filled = await parallel.fill(targets, head, progress)
        await store.commit([Work(t, [], filled.crossing[t.name]) for t in targets
                            if filled.crossing.get(t.name)])
        phases.update(filled.phases)
        phases["fill_and_load"] = time.perf_counter() - started
    else:
        filled = await fill(store, source, targets, head, progress, phases)
    events = filled.events
    caught_up = time.perf_counter()
    await copy_kafka_offsets(store, targets)
    events += await catch_up_and_switch(store, source, targets, switch=switch)
    phases["catch_up"] = time.perf_counter() - caught_up
    if switch:
        await drop_old(store, projections, keep_retired)
    return RebuildReport(events=events, seconds=time.perf_counter() - started,
                         generations={t.name: t.generation for t in targets},
                         switched=switch, phases=phases)


async def stale(store: ReadModelStore, projections: Sequence[Projection]) -> list[Projection]:
    """The projections whose live generation an other version of their code built (a
    release that changed what a read model holds): their rows and columns are not what
    this code reads and writes."""
    live = live_of(await store.generations())
    return [p for p in projections
            if p.name in live and live[p.name].code_version != p.version]


async def rebuild_stale(store: ReadModelStore, source: EventSource,
                        projections: Sequence[Projection]) -> RebuildReport | None:
    """At the start of the process that keeps the read models: rebuild those an older (or
    newer) release built, before applying anything to them, so an upgrade needs no
    `corridor rebuild` by hand and no query reads a table of another shape."""
    outdated = await stale(store, projections)
    if not outdated:
        return None
    names = ", ".join(f"{p.name} (version {p.version})" for p in outdated)
    log.warning("rebuilding read models built by another release: %s", names)
    report = await rebuild(store, source, outdated)
    log.info("rebuilt %s from %s events in %.1f s", names, report.events, report.seconds)
    return report


def _projection(projections: Sequence[Projection], name: str) -> Projection:
    return next(p for p in projections if p.name == name)
