"""Fill new generations in several processes, each with every read model and a share of
the streams.

Each process reads the store and decodes only its own streams' events (one in N, by the
stream id's last byte: see projections.partition), so each event is decoded once in all;
rows belong to streams, so the processes' rows do not overlap and all of them COPY into
the same tables. The last process to load a read model indexes it and records the position.
The few changes that cross into another process's rows (Increments and Latests) come back
to the parent folded, and `rebuild` applies them once every row is in. SQLite takes one
writer at a time, so this is only used with PostgreSQL.

(Not split by read model: every process would then read and decode every event, a large
share of each process's work, and the groups would have to be balanced by their costs.)
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized

import uvloop

from projections.catalog import BY_NAME
from projections.changes import Change
from projections.config import SourceConfig, StoreConfig
from projections.partition import Crossing, Partition
from projections.rebuild import Filled, Progress, fill
from projections.tracking import Target

POLL_SECONDS = 0.2


def _fill_part(store_config: StoreConfig, source_config: SourceConfig,
               targets: list[tuple[str, int]], partition: Partition, head: int,
               done: Synchronized[int], loaded: dict[str, Synchronized[int]],
               results: Connection) -> None:
    """A child process's work: fill its partition, counting events into `done` and
    processes that have loaded a read model into `loaded`; send back what crosses."""
    def arrive(name: str) -> bool:
        counter = loaded[name]
        with counter.get_lock():
            counter.value += 1
            return bool(counter.value == partition.count)

    async def run() -> None:
        store, source = store_config.open(), source_config.open()
        await store.start()
        try:
            own = [Target(BY_NAME[name], generation) for name, generation in targets]
            filled = await fill(store, source, own, head, lambda n, _total: _count(done, n),
                                partition=partition, arrive=arrive)
            results.send((filled.crossing, filled.phases))
        finally:
            await source.close()
            await store.close()
    uvloop.run(run())


def _count(done: Synchronized[int], value: int) -> None:
    done.value = value


@dataclass
class _Job:
    process: BaseProcess
    done: Synchronized[int]
    results: Connection
    crossing: dict[str, list[Change]] | None = field(default=None)
    phases: dict[str, float] = field(default_factory=dict)

    def collect(self) -> None:
        """Take the child's crossing changes and phases once sent (it sends once)."""
        if self.crossing is None and self.results.poll():
            with contextlib.suppress(EOFError):  # it ended without sending: failed
                self.crossing, self.phases = self.results.recv()


@dataclass(frozen=True)
class ProcessFill:
    """Fills generations with `processes` child processes, one partition of streams each."""

    store: StoreConfig
    source: SourceConfig
    processes: int = 2

    async def fill(self, targets: Sequence[Target], head: int,
                   progress: Progress | None) -> Filled:
        context = multiprocessing.get_context("spawn")
        loaded = {t.name: context.Value("i", 0) for t in targets}
        jobs = []
        for index in range(self.processes):
            done = context.Value("q", 0)
            receive, send = context.Pipe(duplex=False)
            process = context.Process(
                target=_fill_part, name=f"rebuild-{index + 1}-of-{self.processes}",
                args=(self.store, self.source, [(t.name, t.generation) for t in targets],
                      Partition(index, self.processes), head, done, loaded, send))
            process.start()
            send.close()  # the child holds the sending end now
            jobs.append(_Job(process, done, receive))
        try:
            await _watch(jobs, head, progress)
        finally:
            for job in jobs:
                job.results.close()
        slowest = {k: max(j.phases.get(k, 0.0) for j in jobs) for k in jobs[0].phases}
        return Filled(sum(int(j.done.value) for j in jobs), _merged(jobs), slowest)


async def _watch(jobs: Sequence[_Job], head: int, progress: Progress | None) -> None:
    """Report progress and take results until every process has ended; raise if any failed."""
    try:
        while any(j.process.is_alive() for j in jobs):
            for job in jobs:
                job.collect()
            if progress is not None:
                progress(sum(int(j.done.value) for j in jobs), head)
            await asyncio.sleep(POLL_SECONDS)
    finally:
        for job in jobs:
            if job.process.is_alive():
                job.process.terminate()
            job.process.join()
    failed = [j.process.name for j in jobs if j.process.exitcode != 0]
    if failed:
        raise RuntimeError(f"rebuild processes failed: {', '.join(str(f) for f in failed)}")
    for job in jobs:
        job.collect()
    missing = [j.process.name for j in jobs if j.crossing is None]
    if missing:
        raise RuntimeError(f"rebuild processes ended without their results: "
                           f"{', '.join(str(m) for m in missing)}")
    if progress is not None:
        done = sum(int(j.done.value) for j in jobs)
        progress(done, done)


def _merged(jobs: Sequence[_Job]) -> dict[str, list[Change]]:
    """Every process's crossing changes, folded again per read model."""
    by_name: dict[str, Crossing] = {}
    for job in jobs:
        for name, changes in (job.crossing or {}).items():
            by_name.setdefault(name, Crossing()).extend(changes)
    return {name: crossing.changes() for name, crossing in by_name.items()}
