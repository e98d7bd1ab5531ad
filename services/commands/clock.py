"""The administrator's clock tick: run what falls due by a given time (verifications that run
out expire, their cases are flagged), and on a told clock move the business time to it."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from domain.base import CoordinationError, Meta
from domain.clock import CLOCK_ID, Clock
from projections.views.common import Moment
from services import clock as business_clock
from services.auth import CallerRole as R
from services.commands.common import authority
from services.commands.registry import CommandBody, command
from services.runtime.unit_of_work import UnitOfWork


class ClockNotTold(CoordinationError):
    """This service keeps the system clock: a tick may not name a time ahead of it."""


class TickClock(CommandBody):
    at: Moment = Field(description="the time to run the tick at: verifications that have run "
                                   "out by then expire (and their cases are flagged); on a "
                                   "told clock (CORRIDOR_CLOCK=told) the business time moves "
                                   "forward to it")


@command("clock.tick", "/clock/tick", {R.ADMIN})
def tick(body: TickClock, uow: UnitOfWork, meta: Meta) -> UUID:
    """Tell the service's clock a time (admins; a time ahead of it on a told clock only)."""
    clock = business_clock.CLOCK
    if body.at > meta.at and not clock.told:
        raise ClockNotTold(f"this service keeps the system clock ({meta.at.isoformat()}); a "
                           f"tick at {body.at.isoformat()} is ahead of it. Start it with "
                           "CORRIDOR_CLOCK=told to let ticks move its business time")
    record = uow.find(Clock, CLOCK_ID)
    if record is None:
        record = Clock.start(meta=meta)
        uow.add(record)
    record.tick(at=body.at, by=authority(uow, meta), meta=meta)
    if clock.told:
        clock.tell(body.at)
    return record.id
