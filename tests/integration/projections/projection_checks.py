"""Comparing read models in a database with a fresh projection of the store's events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from projections.catalog import PROJECTIONS, Projection
from projections.generations import live_of, live_targets
from projections.memory import MemoryTables
from projections.records import EventRecord, decode_stored
from projections.schema import normalised, physical
from projections.store import ReadModelStore

Snapshot = dict[str, list[tuple[Any, ...]]]


def expected(projections: Sequence[Projection], records: Sequence[EventRecord]) -> Snapshot:
    """What every table should hold: the projections applied to the events in memory."""
    snapshot: Snapshot = {}
    for projection in projections:
        memory = MemoryTables(projection.tables)
        for record in records:
            memory.apply(projection.project(record))
        for table in projection.tables:
            snapshot[table.name] = normalised(table, memory.rows(table.name))
    return snapshot


async def actual(store: ReadModelStore, projections: Sequence[Projection],
                 generations: dict[str, int] | None = None) -> Snapshot:
    """What the live (or the given) generation's tables hold."""
    live = {n: g.generation for n, g in live_of(await store.generations()).items()}
    chosen = generations or live
    snapshot: Snapshot = {}
    for projection in projections:
        for table in projection.tables:
            rows = await store.fetch(
                f"SELECT * FROM {physical(table.name, chosen[projection.name])}")
            snapshot[table.name] = normalised(table, rows)
    return snapshot


def all_records(app: Any) -> list[EventRecord]:
    """Every event in the store, decoded, in notification order."""
    records: list[EventRecord] = []
    start = 1
    while True:
        batch = app.recorder.select_notifications(start, 5000)
        if not batch:
            return records
        records += [decode_stored(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                    for n in batch]
        start = batch[-1].id + 1


def differences(left: Snapshot, right: Snapshot) -> dict[str, tuple[int, int]]:
    """Tables whose rows differ, with their row counts, for a readable assertion."""
    return {name: (len(left.get(name, [])), len(right.get(name, [])))
            for name in sorted(set(left) | set(right))
            if left.get(name) != right.get(name)}


class Killed(BaseException):
    """Stands for the process dying: nothing in the runner may catch it."""


class Boom(Exception):
    """A failure inside the transaction, after the changes and before COMMIT."""


def fail_on(calls: set[int], error: BaseException) -> tuple[Callable[[], None], list[int]]:
    """A before_commit hook raising `error` on the given call numbers (1-based)."""
    seen: list[int] = []

    def hook() -> None:
        seen.append(len(seen) + 1)
        if len(seen) in calls:
            raise error
    return hook, seen


async def settled(store: ReadModelStore, head: int, timeout: float = 60.0) -> None:
    """Wait until every live read model has applied the store up to `head`."""
    deadline = time.monotonic() + timeout
    while True:
        targets = await live_targets(store, PROJECTIONS)
        if targets and all(t.position >= head for t in targets):
            return
        assert time.monotonic() < deadline, f"not caught up to {head}: {targets}"
        await asyncio.sleep(0.05)
