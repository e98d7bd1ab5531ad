"""The clock ticks an administrator told the service: each runs what falls due by its time
(verifications run out), and a record of who told the time is kept like everything else."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import CoordinationAggregate
from domain.base import CoordinationError, Meta
from domain.errors import NotAnAdmin
from domain.roles import ROLE_GRANTER, Authority

CLOCK_ID = uuid5(NAMESPACE_URL, "urn:corridor:clock")
"""The one clock stream of a store."""


class TickOutOfOrder(CoordinationError):
    """Ticks go forward: one names a time before the last tick's."""


class Clock(CoordinationAggregate):
    """The ticks told to the service, in order: the time each named and who told it."""

    @classmethod
    def start(cls, *, meta: Meta) -> Clock:
        """Start the store's one clock record."""
        return cls(id=CLOCK_ID, meta=meta)

    @event("ClockStarted")
    def __init__(self, id: UUID, meta: Meta) -> None:
        self.told_at: datetime | None = None
        self.ticks = 0

    def tick(self, *, at: datetime, by: Authority, meta: Meta) -> None:
        """An administrator tells the time: what falls due by `at` is run at `at`."""
        if not by.holds_any({ROLE_GRANTER}):
            raise NotAnAdmin(f"{by.actor} does not act as an admin: only an admin tells the "
                             "service's clock")
        if self.told_at is not None and at < self.told_at:
            raise TickOutOfOrder(f"a tick at {at.isoformat()} would go back before the last "
                                 f"one at {self.told_at.isoformat()}")
        self._record_ticked(at=at, meta=meta)

    @event("ClockTicked")
    def _record_ticked(self, at: datetime, meta: Meta) -> None:
        self.told_at = at
        self.ticks += 1
