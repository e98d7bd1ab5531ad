"""Volunteer workload: cases held, hours on shift, overload flags and who has capacity now.

Hours are computed here, at query time, from the stored shift intervals and a given "now":
today is the calendar day in the volunteer's own time zone, the week the last 7 x 24 hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from domain.workload import MAX_HOURS_PER_DAY, day_window, is_daytime
from projections.views.common import MAX_PAGE, Plain, Reader, as_id, as_time, id_arg, marks, split
from projections.workload import URGENT

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
Span = tuple[datetime, datetime]


class VolunteerLimits(BaseModel):
    """The limits that define overload and capacity (the list and one volunteer alike)."""

    max_urgent_cases: int = Field(default=3, ge=0, le=100, description="more is overload")
    max_active_cases: int = Field(default=10, ge=1, le=500, description="capacity below this")
    max_hours_per_day: float = Field(default=MAX_HOURS_PER_DAY, gt=0, le=24,
                                     description="more is overload")


class WorkloadQuery(VolunteerLimits):
    """Who to list, and the limits that define overload and capacity."""

    on_shift: bool | None = Field(default=None, description="only volunteers on (or off) shift")
    capacity_only: bool = Field(default=False, description="only those who can take a case now")
    overloaded_only: bool = False
    role: Plain | None = Field(default=None, min_length=1, max_length=50)
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=100_000)


class DayHours(BaseModel):
    """Hours on shift on one day of the volunteer's own calendar."""

    day: date
    hours: float


class VolunteerLoad(BaseModel):
    """One volunteer's load as of `now`."""

    volunteer_id: UUID
    roles: list[str]
    languages: list[str]
    time_zone: str
    cleared: bool
    training_minutes: int
    standing: str
    on_shift: bool
    on_shift_since: datetime | None
    active_cases: int
    urgent_cases: int
    hours_on_shift_today: float
    hours_on_shift_7d: float
    last_activity_at: datetime | None
    too_many_urgent: bool
    long_day: bool
    overloaded: bool
    has_capacity: bool = Field(description="cleared, in good standing, below every limit")
    local_time: datetime | None = Field(default=None, description="`now` on the volunteer's "
                                        "own clock")
    daytime: bool | None = Field(default=None, description="it is day where they are "
                                 "(07:00-22:00 on their clock): awake, as far as we can tell")
    contact_overdue_cases: int = Field(default=0, description="open cases they hold that "
                                       "are overdue for contact")
    holds_to_confirm: int = Field(default=0, description="seat holds this volunteer placed "
                                                         "that are not confirmed yet")
    seats_held: int = Field(default=0, description="seats in those holds")
    next_hold_runs_out_at: datetime | None = Field(
        default=None, description="when the first of those holds lapses unless confirmed")
    hours_by_day: list[DayHours] = Field(default_factory=list, description="hours on shift "
                                         "on each of the last 7 days of the volunteer's "
                                         "clock, oldest first (today so far last)")


class WorkloadPage(BaseModel):
    """A page of volunteers, most loaded first."""

    now: datetime
    total: int
    limit: int
    offset: int
    volunteers: list[VolunteerLoad]


@lru_cache(maxsize=1024)
def zone(name: str | None) -> tzinfo:
    """A time zone by name (UTC when unknown). Cached: ZoneInfo keeps only a few zones
    strongly and reads a zone's file again once it drops it, and views ask per row."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def hours_within(spans: Sequence[Span], start: datetime, end: datetime) -> float:
    """Hours of the spans that fall within [start, end)."""
    total = timedelta()
    for begin, finish in spans:
        total += max(min(end, finish) - max(start, begin), timedelta())
    return round(total / HOUR, 2)


def hours_by_day(spans: Sequence[Span], now: datetime, time_zone: tzinfo,
                 days: int = 7) -> list[DayHours]:
    """Hours on shift on each of the last `days` days of the volunteer's calendar."""
    today = now.astimezone(time_zone).date()
    found = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        start, end = day_window(day, time_zone)
        found.append(DayHours(day=day, hours=hours_within(spans, start, min(end, now))))
    return found


def hours_today(spans: Sequence[Span], now: datetime, time_zone: tzinfo) -> float:
    """Hours on shift since midnight of today on the volunteer's clock."""
    start, _ = day_window(now.astimezone(time_zone).date(), time_zone)
    return hours_within(spans, start, now)


async def workload(reader: Reader, q: WorkloadQuery, now: datetime, *,
                   volunteer_id: UUID | None = None, fresh: bool = False) -> WorkloadPage:
    """Every registered volunteer's load (or one's), filtered, most loaded first."""
    tables = {n: await reader.table("volunteer_workload", n, fresh=fresh)
              for n in ("volunteer_workload", "volunteer_roles", "volunteer_shifts",
                        "workload_cases", "workload_holds")}
    rows = await _volunteers(reader, tables["volunteer_workload"], volunteer_id)
    ids = [as_id(r["volunteer_id"]) or "" for r in rows]
    roles = await _roles(reader, tables["volunteer_roles"], ids)
    spans = await _spans(reader, tables["volunteer_shifts"], ids, now)
    cases = await _cases(reader, tables["workload_cases"], ids)
    holds = await _holds(reader, tables["workload_holds"], ids)
    overdue = await _contact_overdue(reader, tables["workload_cases"], ids)
    loads = [_load(r, roles.get(i, []), spans.get(i, []), cases.get(i, (0, 0)), q, now)
             .model_copy(update={**holds.get(i, {}), **overdue.get(i, {})})
             for r, i in zip(rows, ids, strict=True)]
    chosen = [v for v in loads if _wanted(v, q)]
    chosen.sort(key=lambda v: (-v.urgent_cases, -v.active_cases, -v.hours_on_shift_today,
                               str(v.volunteer_id)))
    return WorkloadPage(now=now, total=len(chosen), limit=q.limit, offset=q.offset,
                        volunteers=chosen[q.offset:q.offset + q.limit])


async def volunteer_load(reader: Reader, volunteer_id: UUID, limits: VolunteerLimits,
                         now: datetime, *, fresh: bool = False) -> VolunteerLoad | None:
    """One registered volunteer's load under the given limits (None: not registered)."""
    q = WorkloadQuery(**limits.model_dump())
    page = await workload(reader, q, now, volunteer_id=volunteer_id, fresh=fresh)
    return page.volunteers[0] if page.volunteers else None


async def _volunteers(reader: Reader, table: str,
                      volunteer_id: UUID | None) -> list[dict[str, Any]]:
    # Rows exist for any actor with activity; registered ones have registered_at.
    if volunteer_id is None:
        return await reader.fetch(f"SELECT * FROM {table} WHERE registered_at IS NOT NULL")
    return await reader.fetch(f"SELECT * FROM {table} WHERE registered_at IS NOT NULL "
                              "AND volunteer_id = ?", [id_arg(volunteer_id)])


async def _roles(reader: Reader, table: str, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for chunk in _chunks(ids):
        for r in await reader.fetch(f"SELECT volunteer_id, role FROM {table} WHERE "
                                    f"volunteer_id IN ({marks(chunk)}) ORDER BY role", chunk):
            found.setdefault(as_id(r["volunteer_id"]) or "", []).append(r["role"])
    return found


async def _spans(reader: Reader, table: str, ids: list[str],
                 now: datetime) -> dict[str, list[Span]]:
    """Shift intervals that may overlap the last 8 days (a running shift ends at `now`)."""
    found: dict[str, list[Span]] = {}
    since = now - WEEK - timedelta(days=1)
    for chunk in _chunks(ids):
        rows = await reader.fetch(
            f"SELECT volunteer_id, started_at, ended_at FROM {table} WHERE volunteer_id IN "
            f"({marks(chunk)}) AND (ended_at IS NULL OR ended_at > ?)", [*chunk, since])
        for r in rows:
            start = as_time(r["started_at"])
            end = as_time(r["ended_at"]) or now
            if start is not None and start < now:
                found.setdefault(as_id(r["volunteer_id"]) or "", []).append(
                    (start, min(end, now)))
    return found


async def _cases(reader: Reader, table: str, ids: list[str]) -> dict[str, tuple[int, int]]:
    """(active, urgent) assigned cases per volunteer."""
    found: dict[str, tuple[int, int]] = {}
    urgent = sorted(URGENT)
    for chunk in _chunks(ids):
        rows = await reader.fetch(
            f"SELECT assignee_id, COUNT(*) AS active, SUM(CASE WHEN urgency IN "
            f"({marks(urgent)}) THEN 1 ELSE 0 END) AS urgent FROM {table} WHERE status = "
            f"'assigned' AND assignee_id IN ({marks(chunk)}) GROUP BY assignee_id",
            [*urgent, *chunk])
        for r in rows:
            found[as_id(r["assignee_id"]) or ""] = (int(r["active"]), int(r["urgent"] or 0))
    return found


async def _holds(reader: Reader, table: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Unconfirmed seat holds per volunteer who placed them: how many, seats, first to
    lapse."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        rows = await reader.fetch(
            f"SELECT volunteer_id, COUNT(*) AS holds, SUM(seats) AS seats, MIN(until) AS "
            f"first FROM {table} WHERE confirmed = ? AND volunteer_id IN ({marks(chunk)}) "
            "GROUP BY volunteer_id", [False, *chunk])
        for r in rows:
            found[as_id(r["volunteer_id"]) or ""] = {
                "holds_to_confirm": int(r["holds"]), "seats_held": int(r["seats"] or 0),
                "next_hold_runs_out_at": as_time(r["first"])}
    return found


async def _contact_overdue(reader: Reader, table: str,
                           ids: list[str]) -> dict[str, dict[str, Any]]:
    """Open cases each volunteer holds that are overdue for contact (issue 23)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        rows = await reader.fetch(
            f"SELECT assignee_id, COUNT(*) AS n FROM {table} WHERE status = 'assigned' AND "
            f"contact_overdue = ? AND assignee_id IN ({marks(chunk)}) GROUP BY assignee_id",
            [True, *chunk])
        for r in rows:
            found[as_id(r["assignee_id"]) or ""] = {"contact_overdue_cases": int(r["n"])}
    return found


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _load(row: dict[str, Any], roles: list[str], spans: list[Span], cases: tuple[int, int],
          q: WorkloadQuery, now: datetime) -> VolunteerLoad:
    active, urgent = cases
    local = now.astimezone(zone(row["time_zone"]))
    today = hours_today(spans, now, zone(row["time_zone"]))
    week = hours_within(spans, now - WEEK, now)
    too_many, long_day = urgent > q.max_urgent_cases, today > q.max_hours_per_day
    cleared, standing = bool(row["cleared"]), row["standing"] or "active"
    capacity = (cleared and standing == "active" and not (too_many or long_day)
                and urgent < q.max_urgent_cases and active < q.max_active_cases)
    return VolunteerLoad(
        volunteer_id=row["volunteer_id"], roles=roles, languages=split(row["languages"]),
        time_zone=row["time_zone"] or "UTC", cleared=cleared,
        training_minutes=row["training_minutes"] or 0, standing=standing,
        on_shift=row["on_shift_since"] is not None, on_shift_since=row["on_shift_since"],
        active_cases=active, urgent_cases=urgent, hours_on_shift_today=today,
        hours_on_shift_7d=week, last_activity_at=row["last_activity_at"],
        too_many_urgent=too_many, long_day=long_day, overloaded=too_many or long_day,
        has_capacity=capacity, local_time=local, daytime=is_daytime(local),
        hours_by_day=hours_by_day(spans, now, zone(row["time_zone"])))


def _wanted(v: VolunteerLoad, q: WorkloadQuery) -> bool:
    if q.on_shift is not None and v.on_shift != q.on_shift:
        return False
    if q.capacity_only and not v.has_capacity:
        return False
    if q.overloaded_only and not v.overloaded:
        return False
    return q.role is None or q.role in v.roles
