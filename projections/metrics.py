"""Projection lag as Prometheus metrics, refreshed when scraped."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Gauge

from projections.service import ProjectionStatus

POSITION = Gauge("corridor_projection_position",
                 "Last event-store notification id applied by the live read model",
                 ["projection"])
LAG = Gauge("corridor_projection_lag_events",
            "Events stored but not yet applied by the live read model", ["projection"])
GENERATION = Gauge("corridor_projection_generation",
                   "Generation of the read model that queries read", ["projection"])
NEEDS_REBUILD = Gauge("corridor_projection_needs_rebuild",
                      "1 when the live generation was built by other projection code",
                      ["projection"])
HEAD = Gauge("corridor_event_store_head", "Newest notification id in the event store")


def record(statuses: Sequence[ProjectionStatus]) -> None:
    """Set the gauges from a status snapshot."""
    for status in statuses:
        POSITION.labels(status.projection).set(status.position)
        LAG.labels(status.projection).set(status.lag)
        GENERATION.labels(status.projection).set(status.generation or 0)
        NEEDS_REBUILD.labels(status.projection).set(1 if status.needs_rebuild else 0)
        HEAD.set(status.head)
