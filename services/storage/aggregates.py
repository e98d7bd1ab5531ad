"""The aggregate classes the application snapshots and serves."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from domain.access import AccessLog, AnchorLog
from domain.case import Case
from domain.clock import Clock
from domain.resource import Resource
from domain.volunteer import Volunteer

AGGREGATE_CLASSES: list[type[Aggregate]] = [Case, Volunteer, Resource, AccessLog, AnchorLog,
                                             Clock]
