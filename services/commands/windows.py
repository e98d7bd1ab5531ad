"""Opening windows of resources: the request model (once or daily in a named time zone) and
the command that sets or clears a resource's window."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Annotated, Self
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.base import Meta
from domain.resource import Resource
from domain.windows import Window
from projections.views.common import Moment
from services.auth import CallerRole as R
from services.commands.common import TimeZone, acting
from services.commands.registry import CommandBody, command
from services.runtime.unit_of_work import UnitOfWork

CHECKERS = {R.FACT_CHECKER, R.SUPERVISOR}
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
"""A time of day, HH:MM (24 hours)."""


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """A time zone by its IANA name (names are checked when a window is given)."""
    return ZoneInfo(name)


class OpeningWindow(BaseModel):
    """When a resource may be relied on: once (opens_at and/or closes_at) or every day
    (daily_from..daily_until on the clocks of time_zone; 22:00-06:00 crosses midnight). For a
    curfew, the hours are when it is in force: it is open outside them."""

    model_config = ConfigDict(extra="forbid")

    opens_at: Moment | None = None
    closes_at: Moment | None = None
    daily_from: ClockTime | None = Field(default=None, examples=["22:00"])
    daily_until: ClockTime | None = Field(default=None, examples=["06:00"])
    time_zone: TimeZone = Field(default="UTC", examples=["Europe/Kyiv"])

    @model_validator(mode="after")
    def one_kind(self) -> Self:
        daily = self.daily_from is not None or self.daily_until is not None
        once = self.opens_at is not None or self.closes_at is not None
        if daily == once:
            raise ValueError("give daily_from and daily_until, or opens_at and/or closes_at")
        if daily and (self.daily_from is None or self.daily_until is None):
            raise ValueError("a daily window needs daily_from and daily_until")
        return self

    def to_domain(self) -> Window:
        return Window(opens_at=self.opens_at, closes_at=self.closes_at,
                      daily_from=_clock(self.daily_from), daily_until=_clock(self.daily_until),
                      time_zone=self.time_zone)


def _clock(text: str | None) -> time | None:
    return None if text is None else time.fromisoformat(text)


class SetWindow(CommandBody):
    resource_id: UUID
    window: OpeningWindow | None = Field(description="null: the resource has no window any "
                                                     "more (open whenever usable)")


@command("resources.set_window", "/resources/set-window", CHECKERS)
def set_window(body: SetWindow, uow: UnitOfWork, meta: Meta) -> UUID:
    """A fact-checker or supervisor states a resource's opening window (or clears it)."""
    resource = uow.get(Resource, body.resource_id)
    resource.set_window(window=body.window.to_domain() if body.window else None,
                        by=acting(uow, meta), meta=meta)
    return resource.id
