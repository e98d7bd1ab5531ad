"""Fill new generations in several processes, one group of read models each.

Read models are independent, so each process reads and decodes the store itself and
projects its own group; that repeats the decoding (about a third of the work per event)
but needs no hand-over between processes, and uses every core PostgreSQL leaves free.
Groups are balanced by a measured cost per read model; whole read models rarely split
evenly, so a shareable one (one append-only row per event: the audit trail) is dealt out
between the heaviest and the lightest group by position, and the process that loads its
share last indexes that table. SQLite takes one writer at a time, so there this is only
used with PostgreSQL.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import Synchronized

import uvloop

from projections.catalog import BY_NAME
from projections.config import SourceConfig, StoreConfig
from projections.rebuild import SLICE_BITS, SLICES, Progress, Share, fill
from projections.tracking import Target

COST = {"case_board": 8.5, "audit_trail": 5.3, "volunteer_workload": 4.4,
        "resource_directory": 0.3}
"""Cost per event of each read model in microseconds, for balancing: its projection
measured on 1M events of the bench's mix, and for the case board also its wide final
load (about 450k rows of 30 columns), calibrated on that store so that both fill
processes end together (they ended 2 s apart at 7.2)."""
POLL_SECONDS = 0.2
SHARERS = 2
"""Processes a shared read model is dealt out to (the heaviest and the lightest group)."""


@dataclass(frozen=True)
class Group:
    """One fill process's read models, and its share of any shared one."""

    targets: list[Target]
    shares: dict[str, Share] = field(default_factory=dict)


def groups(targets: Sequence[Target], count: int) -> list[list[Target]]:
    """Split targets into at most `count` groups of similar cost (largest first)."""
    bins: list[tuple[float, list[Target]]] = [(0.0, []) for _ in range(count)]
    for target in sorted(targets, key=lambda t: -COST.get(t.name, 1.0)):
        load, members = min(bins, key=lambda b: b[0])
        bins.remove((load, members))
        bins.append((load + COST.get(target.name, 1.0), [*members, target]))
    return [members for _, members in bins if members]


def balanced(targets: Sequence[Target], count: int,
             slice_bits: int = SLICE_BITS) -> list[Group]:
    """`groups`, then the costliest shareable read model of the heaviest group dealt out
    between it and the lightest group, so that both carry about the same cost."""
    plain = [Group(g) for g in groups(targets, count)]
    if len(plain) < 2:
        return plain
    loads = [_cost(g.targets) for g in plain]
    heavy, light = loads.index(max(loads)), loads.index(min(loads))
    shareable = [t for t in plain[heavy].targets if t.projection.shareable]
    if not shareable:
        return plain
    shared = max(shareable, key=lambda t: COST.get(t.name, 1.0))
    moved = round((loads[heavy] - loads[light]) / (2 * COST.get(shared.name, 1.0)) * SLICES)
    if moved <= 0:
        return plain
    moved = min(moved, SLICES - 1)
    plain[light] = Group([*plain[light].targets, shared],
                         {shared.name: Share(0, moved, slice_bits)})
    plain[heavy] = Group(plain[heavy].targets,
                         {shared.name: Share(moved, SLICES, slice_bits)})
    return plain


def _cost(targets: Sequence[Target]) -> float:
    return sum(COST.get(t.name, 1.0) for t in targets)


def _fill_group(store_config: StoreConfig, source_config: SourceConfig,
                targets: list[tuple[str, int]], shares: dict[str, Share], head: int,
                done: Synchronized[int], loaded: dict[str, Synchronized[int]]) -> None:
    """A child process's work: fill its group, counting events into `done` and processes
    that have loaded their share of a shared read model into `loaded`."""
    def arrive(name: str) -> bool:
        counter = loaded[name]
        with counter.get_lock():
            counter.value += 1
            return bool(counter.value == SHARERS)

    async def run() -> None:
        store, source = store_config.open(), source_config.open()
        await store.start()
        try:
            own = [Target(BY_NAME[name], generation) for name, generation in targets]
            await fill(store, source, own, head, lambda n, _total: _count(done, n),
                       shares=shares, arrive=arrive)
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
    slice_bits: int = SLICE_BITS

    async def fill(self, targets: Sequence[Target], head: int,
                   progress: Progress | None) -> int:
        context = multiprocessing.get_context("spawn")
        plan = balanced(targets, self.processes, self.slice_bits)
        loaded = {name: context.Value("i", 0) for g in plan for name in g.shares}
        jobs = []
        for group in plan:
            done = context.Value("q", 0)
            process = context.Process(
                target=_fill_group, name=f"rebuild-{'+'.join(t.name for t in group.targets)}",
                args=(self.store, self.source,
                      [(t.name, t.generation) for t in group.targets], group.shares, head,
                      done, loaded))
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
