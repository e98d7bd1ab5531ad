"""The aggregate classes the application snapshots and serves (extended as the domain grows)."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

AGGREGATE_CLASSES: list[type[Aggregate]] = []
