"""How long a volunteer has been on shift in a window of time (pure, from the events)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from domain.volunteer import Volunteer

HOUR = timedelta(hours=1)
MAX_HOURS_PER_DAY = 12.0
"""More on shift in one calendar day is a long day: some volunteers worked twenty hours, and
a tired caseworker gives worse advice. Nobody is suggested for a new case past it."""
DAY_STARTS, DAY_ENDS = time(7), time(22)
"""Daytime on a volunteer's own clock: a new case goes to someone awake if anyone is."""


def is_daytime(local: datetime) -> bool:
    """True when a time on a volunteer's own clock is in the day (07:00 to 22:00)."""
    return DAY_STARTS <= local.time() < DAY_ENDS


def shift_spans(volunteer: Volunteer, until: datetime) -> list[tuple[datetime, datetime]]:
    """Every shift as (start, end) in UTC; a running shift ends at `until`."""
    spans = [(s["started_at"], s["ended_at"]) for s in volunteer.shifts]
    if volunteer.on_shift_since is not None and until > volunteer.on_shift_since:
        spans.append((volunteer.on_shift_since, until))
    return [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in spans]


def hours_on_shift(volunteer: Volunteer, start: datetime, end: datetime) -> float:
    """Hours on shift within [start, end); a running shift counts up to `end`."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta()
    for shift_start, shift_end in shift_spans(volunteer, until=end):
        overlap = min(end, shift_end) - max(start, shift_start)
        total += max(overlap, timedelta())
    return total / HOUR


def day_window(day: date, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """The UTC instants where `day` starts and ends on the clocks of time zone `tz`."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def hours_on_shift_on_day(
    volunteer: Volunteer, day: date, tz: tzinfo = UTC, as_of: datetime | None = None
) -> float:
    """Hours on shift during a calendar day in `tz` (shifts across midnight are split).

    `as_of` (the current time, passed in) stops a running shift from counting the future.
    """
    start, end = day_window(day, tz)
    if as_of is not None:
        end = max(start, min(end, as_of.astimezone(UTC)))
    return hours_on_shift(volunteer, start, end)
