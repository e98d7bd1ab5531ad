"""Fill new generations in several processes, one group of read models each.

Read models are independent, so each process reads and decodes the store itself and
projects its own group; that repeats the decoding (about a third of the work per event)
but needs no hand-over between processes, and uses every core PostgreSQL leaves free.
Groups are balanced by a rough cost per read model. SQLite takes one writer at a time,
so there this is only used with PostgreSQL.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized

import uvloop

from projections.catalog import BY_NAME
from projections.config import SourceConfig, StoreConfig
from projections.rebuild import Progress, fill
from projections.tracking import Target

COST = {"audit_trail": 3.0, "case_board": 2.0, "volunteer_workload": 1.5,
        "resource_directory": 0.1}
"""Relative CPU per event of each read model's projection (measured), for balancing."""
POLL_SECONDS = 0.2


def groups(targets: Sequence[Target], count: int) -> list[list[Target]]:
    """Split targets into at most `count` groups of similar cost (largest first)."""
    bins: list[tuple[float, list[Target]]] = [(0.0, []) for _ in range(count)]
    for target in sorted(targets, key=lambda t: -COST.get(t.name, 1.0)):
        load, members = min(bins, key=lambda b: b[0])
        bins.remove((load, members))
        bins.append((load + COST.get(target.name, 1.0), [*members, target]))
    return [members for _, members in bins if members]


def _fill_group(store_config: StoreConfig, source_config: SourceConfig,
                targets: list[tuple[str, int]], head: int, done: Synchronized[int]) -> None:
    """A child process's work: fill its group, counting events into `done`."""
    async def run() -> None:
        store, source = store_config.open(), source_config.open()
        await store.start()
        try:
            own = [Target(BY_NAME[name], generation) for name, generation in targets]
            await fill(store, source, own, head, lambda n, _total: _count(done, n))
        finally:
            await source.close()
            await store.close()
    uvloop.run(run())


def _count(done: Synchronized[int], value: int) -> None:
    done.value = value


@dataclass(frozen=True)
class ProcessFill:
    """Fills generations with up to `processes` child processes."""

    store: StoreConfig
    source: SourceConfig
    processes: int = 2

    async def fill(self, targets: Sequence[Target], head: int,
                   progress: Progress | None) -> int:
        context = multiprocessing.get_context("spawn")
        jobs = []
        for group in groups(targets, self.processes):
            done = context.Value("q", 0)
            process = context.Process(
                target=_fill_group, name=f"rebuild-{'+'.join(t.name for t in group)}",
                args=(self.store, self.source, [(t.name, t.generation) for t in group],
                      head, done))
            process.start()
            jobs.append((process, done))
        return await _watch(jobs, head, progress)


async def _watch(jobs: Sequence[tuple[multiprocessing.process.BaseProcess, Synchronized[int]]],
                 head: int, progress: Progress | None) -> int:
    """Report the slowest group's progress until every process has ended."""
    try:
        while any(p.is_alive() for p, _ in jobs):
            if progress is not None:
                progress(min(int(d.value) for _, d in jobs), head)
            await asyncio.sleep(POLL_SECONDS)
    finally:
        for process, _ in jobs:
            if process.is_alive():
                process.terminate()
            process.join()
    failed = [p.name for p, _ in jobs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"rebuild processes failed: {', '.join(str(f) for f in failed)}")
    done = min(int(d.value) for _, d in jobs)
    if progress is not None:
        progress(done, done)
    return done
