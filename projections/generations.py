"""Which generation of each read model is live, and creating the first one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from projections.catalog import BY_NAME, Projection
from projections.store import ReadModelStore
from projections.tracking import LIVE, STORE_SOURCE, Generation, Position, Target

log = logging.getLogger("corridor.projections")


@dataclass(frozen=True)
class LiveTarget:
    """A live generation and its store position (the last notification id applied)."""

    target: Target
    position: int


def live_of(generations: Sequence[Generation]) -> dict[str, Generation]:
    """The live generation per projection name."""
    return {g.projection: g for g in generations if g.state == LIVE}


def next_generation(generations: Sequence[Generation], name: str) -> int:
    """The number a new generation of the projection gets."""
    return max((g.generation for g in generations if g.projection == name), default=0) + 1


async def ensure_live(store: ReadModelStore, projections: Sequence[Projection]) -> None:
    """Give every projection without a live generation an empty one, at position 0."""
    generations = await store.generations()
    live = live_of(generations)
    for projection in projections:
        if projection.name in live:
            continue
        number = next_generation(generations, projection.name)
        try:
            await store.create_generation(projection, number, LIVE, 0)
            log.info("created live generation %s of %s", number, projection.name)
        except Exception:
            # Another process created it at the same moment; use theirs if it is there.
            if projection.name not in live_of(await store.generations()):
                raise


async def live_targets(store: ReadModelStore,
                       projections: Sequence[Projection]) -> list[LiveTarget]:
    """The live generation of each projection with its store position."""
    live = live_of(await store.generations())
    positions = {(p.projection, p.generation): p for p in await store.positions()
                 if p.source == STORE_SOURCE}
    targets = []
    for projection in projections:
        generation = live.get(projection.name)
        if generation is None:
            continue
        tracked = positions.get((projection.name, generation.generation))
        targets.append(LiveTarget(Target(projection, generation.generation),
                                  tracked.position if tracked else 0))
    return targets


def store_positions(positions: Sequence[Position], generations: Sequence[Generation],
                    ) -> dict[str, int]:
    """How far each live read model has applied the store's notification log.

    From the store: the tracked notification id. From Kafka: each partition applies its
    events in store order, so every partition has applied all of its events up to the
    smallest last-applied store position among them; that minimum is the figure. It is
    conservative: a partition that has been idle for a while holds it back. What the
    generation got from the store (a rebuild's floor) counts for every partition.
    """
    live = live_of(generations)
    result: dict[str, int] = {}
    for name, generation in live.items():
        rows = [p for p in positions
                if p.projection == name and p.generation == generation.generation]
        floor = max((p.position for p in rows if p.source == STORE_SOURCE), default=0)
        parts = [max(p.store_position or 0, floor) for p in rows if p.source != STORE_SOURCE]
        result[name] = min(parts) if parts else floor
    return result


def known(name: str) -> Projection:
    """The projection with this name."""
    return BY_NAME[name]
