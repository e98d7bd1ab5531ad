"""A resource's opening window as read models answer it: the window kept in a row, and
whether it is open at the time asked about (the domain's rule, in the window's time zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.windows import Window, WindowState
from projections.views.common import as_time, seconds_between
from projections.views.workload import zone

WINDOW_CLOSED = "window_closed"
"""Why a resource may not be relied on now: it is outside its opening window."""


class WindowView(BaseModel):
    """When a resource may be relied on, and where that stands at `now`."""

    description: str = Field(examples=["open daily 06:00-20:00 Europe/Kyiv"])
    daily: bool
    opens_at: datetime | None = Field(description="a once window: when it opens")
    closes_at: datetime | None = Field(description="a once window: when it closes")
    daily_from: str | None = Field(description="a daily window: HH:MM on its clocks")
    daily_until: str | None
    time_zone: str
    closed_within: bool = Field(description="a curfew: the hours are when it is in force, "
                                            "it is open outside them")
    open_now: bool
    next_opens_at: datetime | None = Field(description="closed now: when it opens next "
                                                       "(null: never again)")
    next_closes_at: datetime | None = Field(description="open now: when it closes next "
                                                        "(null: it does not)")
    closes_in_seconds: int | None


def window_of(row: dict[str, Any]) -> Window | None:
    """The window a row keeps in its window_* columns (None: none)."""
    if row.get("window_zone") is None:
        return None
    return Window.from_event({
        "opens_at": as_time(row["window_opens_at"]), "closes_at": as_time(row["window_closes_at"]),
        "daily_from": row["window_daily_from"], "daily_until": row["window_daily_until"],
        "time_zone": row["window_zone"], "closed_within": row["window_closed_within"]})


def window_state(row: dict[str, Any], now: datetime) -> WindowState | None:
    """Where the row's window stands at `now` (None: it has none)."""
    window = window_of(row)
    return None if window is None else window.state(now, zone(window.time_zone))


def window_view(row: dict[str, Any], now: datetime) -> WindowView | None:
    """The row's window for an answer, its times on the window's own clock."""
    window = window_of(row)
    if window is None:
        return None
    local = zone(window.time_zone)
    state = window.state(now, local)
    fields = window.as_event()

    def shown(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(local)

    return WindowView(
        description=window.describe(), daily=window.daily, opens_at=fields["opens_at"],
        closes_at=fields["closes_at"], daily_from=fields["daily_from"],
        daily_until=fields["daily_until"], time_zone=window.time_zone,
        closed_within=window.closed_within, open_now=state.is_open,
        next_opens_at=shown(state.opens_at), next_closes_at=shown(state.closes_at),
        closes_in_seconds=None if state.closes_at is None
        else seconds_between(state.closes_at, now))
