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
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.readmodels import store_config

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


async def positions_reach(settings: Settings, position: int, timeout: float) -> list[int]:
    """Every read model's position, once all reach `position` or `timeout` passed."""
    store = store_config(settings).open()
    await store.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            reached = [p.position for p in await store.positions()]
            late = asyncio.get_running_loop().time() > deadline
            if late or (len(reached) == len(PROJECTIONS) and min(reached) >= position):
                return reached
            await asyncio.sleep(0.02)
    finally:
        await store.close()


async def woken_by_news_not_by_the_poll(app: CorridorApplication, settings: Settings) -> None:
    """The store follower (`follow_store`) with its poll stretched to a minute: the events
    another process writes still reach the read models within seconds, and the same news
    wakes the policies beside it."""
    from projection_scenario import Scenario

    from services.runtime.store_follower import follow_store

    scenario = Scenario(app)
    scenario.staff()
    stop = asyncio.Event()
    woken: list[int] = []
    following = asyncio.create_task(follow_store(
        settings, stop, idle_seconds=60.0, on_news=[lambda: woken.append(1)]))
    try:
        first = await positions_reach(settings, scenario.last_position, timeout=10)
        assert min(first) >= scenario.last_position  # the first step runs at start

        scenario.report_resources()
        later = await positions_reach(settings, scenario.last_position, timeout=5)
    finally:
        stop.set()
        await following

    assert min(later) >= scenario.last_position
    assert woken
