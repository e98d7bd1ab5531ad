"""Opening windows of resources (corridors, crossings, checkpoints, curfews): once, between two
instants, or every day between two clock times in a named time zone (22:00-06:00 crosses
midnight). A curfew's hours are when it is in force: it is open (a journey may rely on it)
outside them.

Pure: the domain reads no time zone database, so whoever evaluates a daily window passes the
zone in (a `tzinfo` for the window's `time_zone`; services and read models use zoneinfo).
Times are compared in UTC: aware datetimes sharing one tzinfo compare by wall clock, which is
wrong across a change of daylight saving time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from domain.errors import InvalidWindow

ZoneLookup = Callable[[str], tzinfo]
"""A time zone by its IANA name (zoneinfo.ZoneInfo in the services)."""
Span = tuple[datetime | None, datetime | None]
"""An open span in UTC; None: unbounded on that side."""
DAY = timedelta(days=1)


def utc_only(name: str) -> tzinfo:
    """A lookup that knows UTC alone: the domain's default, for windows given in UTC."""
    if name == "UTC":
        return UTC
    raise InvalidWindow(f"the time zone {name!r} needs a time zone database to evaluate")


@dataclass(frozen=True)
class WindowState:
    """A window at one moment: open or not, when it closes next (if open) or opens next (if
    closed); None where it never will."""

    is_open: bool
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    closed_at: datetime | None = None
    """The last time it closed, if that is before the moment (the last closing near it)."""


@dataclass(frozen=True)
class Window:
    """When a resource may be relied on: once (opens_at..closes_at, either end open) or
    daily (daily_from..daily_until on the clocks of `time_zone`). `closed_within`: the times
    are when it is closed (a curfew's hours)."""

    opens_at: datetime | None = None
    closes_at: datetime | None = None
    daily_from: time | None = None
    daily_until: time | None = None
    time_zone: str = "UTC"
    closed_within: bool = False

    @property
    def daily(self) -> bool:
        """True for a window that repeats every day."""
        return self.daily_from is not None

    def validate(self) -> None:
        """Raise InvalidWindow unless it is one kind of window and makes sense."""
        if self.daily:
            if self.daily_until is None or self.opens_at or self.closes_at:
                raise InvalidWindow("a daily window has a start and an end time of day, and "
                                    "no dates")
            if self.daily_from == self.daily_until:
                raise InvalidWindow("a daily window starts and ends at different times")
            return
        if self.daily_until is not None or (self.opens_at is None and self.closes_at is None):
            raise InvalidWindow("a window is daily (from, until) or once (opens_at and/or "
                                "closes_at)")
        for moment in (self.opens_at, self.closes_at):
            if moment is not None and moment.utcoffset() is None:
                raise InvalidWindow("a window's times need a time zone")
        if (self.opens_at is not None and self.closes_at is not None
                and self.closes_at <= self.opens_at):
            raise InvalidWindow("a window closes after it opens")

    def open_spans(self, around: datetime, zone: tzinfo) -> list[Span]:
        """The open spans near `around` (from a day before to a day after, at least), in
        order, in UTC."""
        if not self.daily:
            opens, closes = _utc(self.opens_at), _utc(self.closes_at)
            if not self.closed_within:
                return [(opens, closes)]
            before = [(None, opens)] if opens is not None else []  # open until it begins
            after = [(closes, None)] if closes is not None else []  # and once it ends
            return [*before, *after]
        assert self.daily_from is not None and self.daily_until is not None
        today = around.astimezone(zone).date()
        spans: list[Span] = []
        for offset in range(-2, 3):
            day = today + offset * DAY
            end_day = day if self.daily_until > self.daily_from else day + DAY
            spans.append((_utc(datetime.combine(day, self.daily_from, tzinfo=zone)),
                          _utc(datetime.combine(end_day, self.daily_until, tzinfo=zone))))
        if not self.closed_within:
            return spans
        return [(spans[i][1], spans[i + 1][0]) for i in range(len(spans) - 1)]

    def state(self, at: datetime, zone: tzinfo) -> WindowState:
        """Whether it is open at `at`, and when that changes next."""
        at = at.astimezone(UTC)
        spans = self.open_spans(at, zone)
        closed_at = max((end for _, end in spans if end is not None and end <= at),
                        default=None)
        for start, end in spans:
            if (start is None or start <= at) and (end is None or at < end):
                return WindowState(is_open=True, closes_at=end, closed_at=closed_at)
        opens = [start for start, _ in spans if start is not None and start > at]
        return WindowState(is_open=False, opens_at=min(opens, default=None),
                           closed_at=closed_at)

    def describe(self) -> str:
        """In words, as a coordinator would say it (e.g. 'daily 22:00-06:00 Europe/Kyiv')."""
        if self.daily:
            assert self.daily_from is not None and self.daily_until is not None
            hours = (f"daily {self.daily_from:%H:%M}-{self.daily_until:%H:%M} "
                     f"{self.time_zone}")
        else:
            start = "" if self.opens_at is None else f"from {self.opens_at.isoformat()}"
            end = "" if self.closes_at is None else f"until {self.closes_at.isoformat()}"
            hours = " ".join(p for p in (start, end) if p)
        return f"closed {hours} (in force)" if self.closed_within else f"open {hours}"

    def as_event(self) -> dict[str, Any]:
        """The window as an event's (or a row's) fields: times of day as 'HH:MM' text."""
        return {"opens_at": self.opens_at, "closes_at": self.closes_at,
                "daily_from": _clock(self.daily_from), "daily_until": _clock(self.daily_until),
                "time_zone": self.time_zone, "closed_within": self.closed_within}

    def as_json(self) -> dict[str, Any]:
        """as_event's fields as JSON (times as ISO text), e.g. for a problem document."""
        fields = self.as_event()
        for name in ("opens_at", "closes_at"):
            if fields[name] is not None:
                fields[name] = fields[name].isoformat()
        return {**fields, "daily": self.daily}

    @classmethod
    def from_event(cls, fields: Mapping[str, Any] | None) -> Window | None:
        """The window of as_event's fields (None for none)."""
        if not fields:
            return None
        return cls(opens_at=fields.get("opens_at"), closes_at=fields.get("closes_at"),
                   daily_from=_time_of_day(fields.get("daily_from")),
                   daily_until=_time_of_day(fields.get("daily_until")),
                   time_zone=fields.get("time_zone") or "UTC",
                   closed_within=bool(fields.get("closed_within")))


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _clock(moment: time | None) -> str | None:
    return None if moment is None else f"{moment:%H:%M}"


def _time_of_day(text: Any) -> time | None:
    if text is None or isinstance(text, time):
        return text
    return time.fromisoformat(str(text))
