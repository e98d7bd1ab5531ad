"""Suggestions for one case: the volunteers who should take it and the resources that fit it,
each with its reasons, and the resources nearly fitting with why they were left out.

Read-only: the queries read the board, the workload and the directory; the ranking below is
pure, and every rule it applies is the domain's own function (who may take casework, a long
day, daytime, a resource's usability, its window, a transport's seats and what it takes), so
a suggestion can never contradict what the commands would accept.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from domain.places import place_key
from domain.resource import unusable_reason
from domain.transport import Household, SeatCount, departure_passed, misfits
from domain.vocabulary import ResourceKind
from domain.volunteer import casework_blocker
from domain.workload import MAX_HOURS_PER_DAY, is_daytime
from projections.views.common import Reader, as_id, as_time, id_arg, marks, split
from projections.views.directory import Kind
from projections.views.windows import WindowView, window_of, window_view
from projections.views.workload import Span, hours_today, zone
from projections.workload import URGENT

WITHDRAWN = ("destroyed", "retracted")
MOBILITY_WORDS = {"children": "no children", "pets": "no pets", "mobility": "no wheelchair"}
NEEDED_KIND = {"needs_medicine": ResourceKind.MEDICINE, "needs_food": ResourceKind.FOOD_POINT}


class SuggestionsQuery(BaseModel):
    """How many of each to suggest, and which kind of resource (default: any)."""

    volunteers: int = Field(default=5, ge=0, le=50)
    resources: int = Field(default=10, ge=0, le=50)
    near_misses: int = Field(default=10, ge=0, le=50)
    kind: Kind | None = None


class HouseholdView(BaseModel):
    """Who travels: what a transport must seat and take."""

    adults: int
    children: int
    pets: int
    mobility_needs: bool
    seats: int


class VolunteerSuggestion(BaseModel):
    """A volunteer who could take the case now, best first, and why."""

    volunteer_id: UUID
    score: float
    reasons: list[str] = Field(examples=[["speaks uk", "daytime in Europe/Kyiv (14:05)",
                                          "2 urgent cases", "on shift 3 h"]])
    languages: list[str]
    time_zone: str
    local_time: datetime
    on_shift_since: datetime | None
    hours_on_shift_today: float
    urgent_cases: int
    active_cases: int


class ResourceSuggestion(BaseModel):
    """A resource that fits the case now, best first, and why."""

    resource_id: UUID
    kind: str
    region: str
    place: str | None
    score: float
    reasons: list[str]
    seats_free: int | None
    expires_at: datetime | None
    window: WindowView | None


class NearMiss(BaseModel):
    """A resource near the case that does not fit now, and why it was left out."""

    resource_id: UUID
    kind: str
    region: str
    place: str | None
    left_out_because: list[str] = Field(examples=[["full"], ["no pets"],
                                                  ["window closed 14:00, opens 08:00"]])
    fits_because: list[str]


class Suggestions(BaseModel):
    """Who should take the case and what it could use, as of `now`."""

    case_id: UUID
    now: datetime
    status: str
    urgency: str
    region: str | None
    destination: str | None
    languages: list[str]
    household: HouseholdView
    volunteers: list[VolunteerSuggestion]
    volunteers_considered: int = Field(description="registered volunteers looked at")
    volunteers_left_out: dict[str, int] = Field(description="how many were left out, by why "
                                                            "(off shift, not cleared, ...)")
    resources: list[ResourceSuggestion]
    near_misses: list[NearMiss]


@dataclass(frozen=True)
class CaseNeeds:
    """What the case's board row says it needs."""

    case_id: str
    assignee_id: str | None
    region_key: str
    destination_key: str
    languages: frozenset[str]
    household: Household
    needs: frozenset[str]

    @classmethod
    def of(cls, row: dict[str, Any]) -> CaseNeeds:
        return cls(case_id=as_id(row["case_id"]) or "", assignee_id=as_id(row["assignee_id"]),
                   region_key=place_key(row["region"]),
                   destination_key=place_key(row["destination"]),
                   languages=frozenset(split(row["languages"])),
                   household=Household(adults=row["adults"] or 0, children=row["children"] or 0,
                                       pets=row["pets"] or 0,
                                       mobility_needs=bool(row["mobility_needs"])),
                   needs=frozenset(n for n in NEEDED_KIND if row[n]))


# --- volunteers --------------------------------------------------------------------------


def rank_volunteers(case: CaseNeeds, rows: Sequence[dict[str, Any]],
                    spans: dict[str, list[Span]], loads: dict[str, tuple[int, int]],
                    now: datetime, limit: int) -> tuple[list[VolunteerSuggestion], Counter[str]]:
    """The best `limit` volunteers for the case among `rows`, and how many were left out by
    why. A volunteer who may not take casework, is off shift, has had a long day or holds
    the case already is left out; the others are scored: speaking the person's language and
    being awake count for, urgent and open cases against."""
    left_out: Counter[str] = Counter()
    scored = []
    for row in rows:
        volunteer_id = as_id(row["volunteer_id"]) or ""
        today = hours_today(spans.get(volunteer_id, []), now, zone(row["time_zone"]))
        why = _left_out(case, row, volunteer_id, today)
        if why is not None:
            left_out[why] += 1
            continue
        active, urgent = loads.get(volunteer_id, (0, 0))
        scored.append((_score(case, row, now, active, urgent, today), urgent, today,
                       volunteer_id, row, active))
    scored.sort(key=lambda s: (-s[0], s[1], s[2], s[3]))
    return [_volunteer(case, row, now, score, active, urgent, today)
            for score, urgent, today, _, row, active in scored[:limit]], left_out


def _left_out(case: CaseNeeds, row: dict[str, Any], volunteer_id: str,
              today: float) -> str | None:
    blocker = casework_blocker(row["standing"], bool(row["cleared"]))
    if blocker is not None:
        return blocker
    if row["on_shift_since"] is None:
        return "off shift"
    if today > MAX_HOURS_PER_DAY:
        return f"over {MAX_HOURS_PER_DAY:g} h today"
    if volunteer_id == case.assignee_id:
        return "holds the case already"
    return None


def _score(case: CaseNeeds, row: dict[str, Any], now: datetime, active: int, urgent: int,
           today: float) -> float:
    speaks = bool(case.languages & set(split(row["languages"]))) or not case.languages
    awake = is_daytime(now.astimezone(zone(row["time_zone"])))
    # Someone who cannot talk to the person, or is asleep, helps least; load comes next.
    return 40 * speaks + 30 * awake - 5 * urgent - active - today / 2


def _volunteer(case: CaseNeeds, row: dict[str, Any], now: datetime, score: float,
               active: int, urgent: int, today: float) -> VolunteerSuggestion:
    languages = split(row["languages"])
    time_zone = row["time_zone"] or "UTC"
    local = now.astimezone(zone(time_zone))
    shared = sorted(case.languages & set(languages))
    since = as_time(row["on_shift_since"])
    reasons = [f"speaks {', '.join(shared)}" if shared else (
        f"speaks none of {', '.join(sorted(case.languages))}" if case.languages
        else "no language asked for")]
    reasons.append(f"{'daytime' if is_daytime(local) else 'night'} in {time_zone} "
                   f"({local:%H:%M})")
    reasons.append(f"{urgent} urgent case{'s' if urgent != 1 else ''}")
    reasons.append(f"{active} open case{'s' if active != 1 else ''}")
    if since is not None:
        reasons.append(f"on shift {_hours(now - since)}, {today:g} h today")
    return VolunteerSuggestion(
        volunteer_id=row["volunteer_id"], score=round(score, 2), reasons=reasons,
        languages=languages, time_zone=time_zone, local_time=local, on_shift_since=since,
        hours_on_shift_today=today, urgent_cases=urgent, active_cases=active)


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{span.total_seconds() / 60:.0f} min"


# --- resources ---------------------------------------------------------------------------


def rank_resources(case: CaseNeeds, rows: Sequence[dict[str, Any]], now: datetime,
                   limit: int, near_limit: int) -> tuple[list[ResourceSuggestion],
                                                         list[NearMiss]]:
    """The resources that fit the case now, best first, and the near misses with why they
    were left out (fewest reasons first). Near: in the case's region, leaving from it, or at
    its destination (not a transport: it would leave from there)."""
    fits, near = [], []
    for row in rows:
        nearness = _nearness(case, row)
        if nearness is None:
            continue
        place, weight = nearness
        missing, fitting, bonus = _judge(case, row, now)
        if missing:
            near.append((len(missing), -weight, str(row["resource_id"]), row, missing,
                         [place, *fitting]))
        else:
            fits.append((weight + bonus, str(row["resource_id"]), row, [place, *fitting]))
    fits.sort(key=lambda f: (-f[0], f[1]))
    near.sort(key=lambda n: n[:3])
    return ([_suggested(row, score, reasons, now) for score, _, row, reasons in fits[:limit]],
            [_near_miss(row, missing, reasons)
             for _, _, _, row, missing, reasons in near[:near_limit]])


def _nearness(case: CaseNeeds, row: dict[str, Any]) -> tuple[str, int] | None:
    """Where it is for the case, and how much that counts (None: not near it)."""
    region = row["region_key"]
    if row["kind"] == ResourceKind.TRANSPORT:  # it must leave from where the person is
        if (row["origin_key"] or region) != case.region_key:
            return None
        start = row["origin"] or row["region"]
        if row["destination_key"] and row["destination_key"] == case.destination_key:
            return f"on the way: {start} to {row['destination']}", 30
        return f"leaves from {start}", 20
    if region == case.region_key:
        return f"in {row['region']}", 20
    if region == case.destination_key:
        return f"at the destination, {row['region']}", 10
    return None


def _judge(case: CaseNeeds, row: dict[str, Any], now: datetime) -> tuple[list[str],
                                                                         list[str], float]:
    """(why it does not fit now, what fits, a score bonus), by the domain's rules."""
    missing: list[str] = []
    fitting: list[str] = []
    reason = unusable_reason(status=row["status"], verification=row["verification"],
                             expires_at=as_time(row["expires_at"]), capacity=row["capacity"],
                             occupancy=row["occupancy"], at=now)
    expires = as_time(row["expires_at"])
    if reason is not None:
        missing.append(reason)
    elif expires is not None:
        fitting.append(f"verified, {_hours(expires - now)} left")
    departs = as_time(row["departs_until"])
    if departs is not None and departure_passed(departs, now):
        missing.append(f"left {departs:%d %b %H:%M} UTC")
    missing += _window_misses(row, now, fitting)
    bonus = _seats(case, row, missing, fitting) + _needed(case, row, fitting)
    if expires is not None and reason is None:
        bonus += min((expires - now).total_seconds() / 3600, 12) / 4
    return missing, fitting, bonus


def _window_misses(row: dict[str, Any], now: datetime, fitting: list[str]) -> list[str]:
    window = window_of(row)
    if window is None:
        return []
    local = zone(window.time_zone)
    state = window.state(now, local)
    if state.is_open:
        if state.closes_at is not None:
            fitting.append(f"open until {state.closes_at.astimezone(local):%H:%M}")
        return []
    said = [f"window closed {state.closed_at.astimezone(local):%H:%M}"
            if state.closed_at is not None else "window not open yet"]
    if state.opens_at is not None:
        said.append(f"opens {state.opens_at.astimezone(local):%d %b %H:%M}")
    return [", ".join(said)]


def _seats(case: CaseNeeds, row: dict[str, Any], missing: list[str],
           fitting: list[str]) -> float:
    """Seats or places against the household: misses, what fits, a bonus for room."""
    needed = case.household.seats
    if row["seats"] is not None:
        free = SeatCount(row["seats"], row["seats_held"] or 0, row["seats_confirmed"] or 0).free
        lacking = [MOBILITY_WORDS[m] for m in misfits(split(row["accepts"]), case.household)]
        missing += lacking
        taken = [a for a in ("children", "pets", "mobility")
                 if a in split(row["accepts"]) and a not in lacking]
        if taken:
            fitting.append(f"takes {', '.join(taken)}")
        room, what = free, "seats"
    elif row["capacity"] is not None:
        room, what = row["capacity"] - (row["occupancy"] or 0), "places"
    else:
        return 0.0
    if room <= 0:
        if "full" not in missing:
            missing.append("full")
    elif room < needed:
        missing.append(f"{room} {what} free, {needed} needed")
    else:
        fitting.append(f"{room} {what} free for {needed}")
    return min(max(room - needed, 0), 4) / 2


def _needed(case: CaseNeeds, row: dict[str, Any], fitting: list[str]) -> float:
    for need, kind in NEEDED_KIND.items():
        if need in case.needs and row["kind"] == kind:
            fitting.append(need.replace("_", " "))
            return 10.0
    return 5.0 if row["kind"] == ResourceKind.TRANSPORT else 0.0


def _suggested(row: dict[str, Any], score: float, reasons: list[str],
               now: datetime) -> ResourceSuggestion:
    free = None if row["seats"] is None else SeatCount(
        row["seats"], row["seats_held"] or 0, row["seats_confirmed"] or 0).free
    return ResourceSuggestion(resource_id=row["resource_id"], kind=row["kind"],
                              region=row["region"], place=row["place"],
                              score=round(score, 2), reasons=reasons, seats_free=free,
                              expires_at=as_time(row["expires_at"]),
                              window=window_view(row, now))


def _near_miss(row: dict[str, Any], missing: list[str], reasons: list[str]) -> NearMiss:
    return NearMiss(resource_id=row["resource_id"], kind=row["kind"], region=row["region"],
                    place=row["place"], left_out_because=missing, fits_because=reasons)


# --- the query ---------------------------------------------------------------------------


async def suggestions(reader: Reader, case_id: UUID, q: SuggestionsQuery, now: datetime, *,
                      fresh: bool = False) -> Suggestions | None:
    """Suggestions for a case as of `now` (None: no such case on the board)."""
    board = await reader.table("case_board", "case_board", fresh=fresh)
    rows = await reader.fetch(f"SELECT * FROM {board} WHERE case_id = ?", [id_arg(case_id)])
    if not rows:
        return None
    row = rows[0]
    case = CaseNeeds.of(row)
    (volunteers, considered, off_shift), resources = await asyncio.gather(
        _volunteer_rows(reader, case, q, now, fresh), _resource_rows(reader, case, q, fresh))
    chosen, left_out = volunteers
    if off_shift:
        left_out["off shift"] += off_shift
    fits, near = rank_resources(case, resources, now, q.resources, q.near_misses)
    household = case.household
    return Suggestions(
        case_id=case_id, now=now, status=row["status"], urgency=row["urgency"] or "unknown",
        region=row["region"], destination=row["destination"], languages=sorted(case.languages),
        household=HouseholdView(adults=household.adults, children=household.children,
                                pets=household.pets, mobility_needs=household.mobility_needs,
                                seats=household.seats),
        volunteers=chosen, volunteers_considered=considered + off_shift,
        volunteers_left_out=dict(sorted(left_out.items())), resources=fits, near_misses=near)


async def _volunteer_rows(reader: Reader, case: CaseNeeds, q: SuggestionsQuery, now: datetime,
                          fresh: bool) -> tuple[tuple[list[VolunteerSuggestion], Counter[str]],
                                                int, int]:
    """(ranked, left out), the volunteers on shift looked at, those off shift (counted)."""
    names = ("volunteer_workload", "volunteer_shifts", "workload_cases")
    people, shifts, held = [await reader.table("volunteer_workload", n, fresh=fresh)
                            for n in names]
    on_shift = (f"SELECT volunteer_id FROM {people} WHERE registered_at IS NOT NULL AND "
                "on_shift_since IS NOT NULL")
    urgent = sorted(URGENT)
    rows, off, shift_rows, load_rows = await asyncio.gather(
        reader.fetch(f"SELECT volunteer_id, languages, time_zone, cleared, standing, "
                     f"on_shift_since FROM {people} WHERE registered_at IS NOT NULL AND "
                     "on_shift_since IS NOT NULL"),
        reader.fetch(f"SELECT COUNT(*) AS n FROM {people} WHERE registered_at IS NOT NULL "
                     "AND on_shift_since IS NULL"),
        reader.fetch(f"SELECT volunteer_id, started_at, ended_at FROM {shifts} WHERE "
                     f"volunteer_id IN ({on_shift}) AND (ended_at IS NULL OR ended_at > ?)",
                     [now - timedelta(days=2)]),
        reader.fetch(f"SELECT assignee_id, COUNT(*) AS active, SUM(CASE WHEN urgency IN "
                     f"({marks(urgent)}) THEN 1 ELSE 0 END) AS urgent FROM {held} WHERE "
                     f"status = 'assigned' AND assignee_id IN ({on_shift}) GROUP BY "
                     "assignee_id", urgent))
    spans: dict[str, list[Span]] = {}
    for r in shift_rows:
        start, end = as_time(r["started_at"]), as_time(r["ended_at"]) or now
        if start is not None and start < now:
            spans.setdefault(as_id(r["volunteer_id"]) or "", []).append((start, min(end, now)))
    loads = {as_id(r["assignee_id"]) or "": (int(r["active"]), int(r["urgent"] or 0))
             for r in load_rows}
    if q.volunteers == 0:
        return ([], Counter()), len(rows), int(off[0]["n"])
    return rank_volunteers(case, rows, spans, loads, now, q.volunteers), len(rows), int(
        off[0]["n"])


async def _resource_rows(reader: Reader, case: CaseNeeds, q: SuggestionsQuery,
                         fresh: bool) -> list[dict[str, Any]]:
    """Resources near the case (by place key), not withdrawn, of the kind asked for."""
    if q.resources == 0 and q.near_misses == 0:
        return []
    table = await reader.table("resource_directory", "resource_directory", fresh=fresh)
    kind, args = ("", []) if q.kind is None else (" AND kind = ?", [q.kind])
    return await reader.fetch(
        f"SELECT * FROM {table} WHERE status NOT IN ({marks(WITHDRAWN)}) AND (region_key IN "
        f"(?, ?) OR origin_key = ?){kind}",
        [*WITHDRAWN, case.region_key, case.destination_key, case.region_key, *args])
