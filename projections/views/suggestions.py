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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import BaseModel, Field

from domain.places import place_key
from domain.resource import unusable_reason
from domain.transport import Household, SeatCount, departure_passed, misfits
from domain.vocabulary import ResourceKind
from domain.volunteer import casework_blocker
from domain.workload import MAX_HOURS_PER_DAY, day_window, is_daytime
from projections.values import WINDOW_COLUMNS
from projections.views import routes as route_outcomes
from projections.views.common import Reader, as_id, as_time, id_arg, marks, split
from projections.views.directory import Kind
from projections.views.windows import WindowView, window_of, window_view
from projections.views.workload import Span, hours_within, zone
from projections.workload import URGENT

WITHDRAWN = ("destroyed", "retracted")
RESOURCE_COLUMNS = ", ".join((
    "resource_id", "kind", "region", "place", "status", "verification", "expires_at",
    "capacity", "occupancy", "seats", "seats_held", "seats_confirmed", "accepts",
    "departs_until", "origin", "destination", "region_key", "origin_key", "destination_key",
    *WINDOW_COLUMNS))
"""What the ranking reads of a directory row (a row holds more)."""
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
# A volunteer's score is their standing (speaking the person's language, being awake: the
# tier) less their load (urgent and open cases, hours today), so nobody scores above their
# tier. Loads are read for the best tier first, then the next, only while someone of that
# tier could still enter the top: the same answer as reading everyone's, at a fraction.

SPEAKS, AWAKE = 40, 30
"""Someone who cannot talk to the person, or is asleep, helps least; load comes next."""
Scored = tuple[float, int, float, str, "Candidate", int]
"""(score, urgent cases, hours today, id, the candidate, open cases)."""


class Candidate(NamedTuple):
    """A volunteer who may take the case now, before their load is known (a named tuple:
    one is made per volunteer on shift, per request)."""

    volunteer_id: str
    row: dict[str, Any]
    tier: int
    today: float


def prerank(case: CaseNeeds, rows: Sequence[dict[str, Any]], spans: dict[str, list[Span]],
            now: datetime) -> tuple[list[list[Candidate]], Counter[str]]:
    """The volunteers who may take the case, grouped by tier (best first), and how many were
    left out by why: may not take casework, off shift, past a long day, holding it already."""
    left_out: Counter[str] = Counter()
    tiers: dict[int, list[Candidate]] = {}
    clocks: dict[str, Clock] = {}
    for row in rows:
        volunteer_id = as_id(row["volunteer_id"]) or ""
        name = row["time_zone"] or "UTC"
        clock = clocks.get(name) or clocks.setdefault(name, Clock.of(name, now))
        today = hours_within(spans.get(volunteer_id, []), clock.day_starts, now)
        why = _left_out(case, row, volunteer_id, today)
        if why is not None:
            left_out[why] += 1
            continue
        speaks = not case.languages or not case.languages.isdisjoint(split(row["languages"]))
        tier = SPEAKS * speaks + AWAKE * clock.awake
        tiers.setdefault(tier, []).append(Candidate(volunteer_id, row, tier, today))
    return [tiers[t] for t in sorted(tiers, reverse=True)], left_out


def add_scored(scored: list[Scored], group: list[Candidate],
               loads: dict[str, tuple[int, int]]) -> None:
    """Score a tier's candidates: the tier less 5 per urgent case, 1 per open case and half
    per hour on shift today."""
    for candidate in group:
        active, urgent = loads.get(candidate.volunteer_id, (0, 0))
        points = candidate.tier - 5 * urgent - active - candidate.today / 2
        scored.append((points, urgent, candidate.today, candidate.volunteer_id, candidate,
                       active))


def settled(scored: list[Scored], limit: int, next_tier: int | None) -> bool:
    """Whether nobody of the next tier (nobody scores above their tier) could enter the top."""
    if next_tier is None:
        return True
    return len(scored) >= limit and sorted(s[0] for s in scored)[-limit] > next_tier


def top(case: CaseNeeds, scored: list[Scored], now: datetime,
        limit: int) -> list[VolunteerSuggestion]:
    """The best `limit`: highest score, then fewest urgent cases, hours today, id."""
    scored.sort(key=lambda s: (-s[0], s[1], s[2], s[3]))
    return [_volunteer(case, c.row, now, points, active, urgent, today)
            for points, urgent, today, _, c, active in scored[:limit]]


def rank_volunteers(case: CaseNeeds, rows: Sequence[dict[str, Any]],
                    spans: dict[str, list[Span]], loads: dict[str, tuple[int, int]],
                    now: datetime, limit: int) -> tuple[list[VolunteerSuggestion], Counter[str]]:
    """The best `limit` volunteers for the case among `rows` (every load known), and how
    many were left out by why."""
    groups, left_out = prerank(case, rows, spans, now)
    scored: list[Scored] = []
    for group in groups:
        add_scored(scored, group, loads)
    return top(case, scored, now, limit), left_out


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


@dataclass(frozen=True)
class Clock:
    """`now` on one time zone's clocks: when its day began, and whether it is day there."""

    day_starts: datetime
    awake: bool

    @classmethod
    def of(cls, name: str, now: datetime) -> Clock:
        local = zone(name)
        start, _ = day_window(now.astimezone(local).date(), local)
        return cls(day_starts=start, awake=is_daytime(now.astimezone(local)))


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
                   limit: int, near_limit: int,
                   routes: Mapping[str, route_outcomes.RouteOutcome] | None = None,
                   ) -> tuple[list[ResourceSuggestion], list[NearMiss]]:
    """The resources that fit the case now, best first, and the near misses with why they
    were left out (fewest reasons first). Near: in the case's region, leaving from it, or at
    its destination (not a transport: it would leave from there). Every row is judged; only
    those shown are put into words. A route's outcomes of the last 30 days (`routes`, by
    resource id) add to its score and say why (projections.views.routes.ranking)."""
    routes = routes or {}
    fits, near = [], []
    for row in rows:
        weight = _nearness(case, row)
        if weight is None:
            continue
        judged = Judgement(explain=False)
        _judge(case, row, now, judged)
        if judged.missing:
            near.append((len(judged.missing), -weight, str(row["resource_id"]), row))
        else:
            outcome = routes.get(str(row["resource_id"]))
            bonus = 0.0 if outcome is None else route_outcomes.ranking(outcome)[0]
            fits.append((weight + judged.bonus + bonus, str(row["resource_id"]), row))
    fits.sort(key=lambda f: (-f[0], f[1]))
    near.sort(key=lambda n: n[:3])
    return ([_suggested(case, row, score, now, routes.get(str(row["resource_id"])))
             for score, _, row in fits[:limit]],
            [_near_miss(case, row, now) for *_, row in near[:near_limit]])


@dataclass
class Judgement:
    """Why a resource does not fit now, what fits (in words only if `explain`), and a bonus
    to its score."""

    explain: bool
    missing: list[str] = field(default_factory=list)
    fitting: list[str] = field(default_factory=list)
    bonus: float = 0.0

    def miss(self, words: str | Callable[[], str]) -> None:
        """A reason it does not fit: counted always, put into words only if explained."""
        self.missing.append(_said(words) if self.explain else "")

    def fit(self, words: str | Callable[[], str]) -> None:
        """A reason it fits, kept only if explained."""
        if self.explain:
            self.fitting.append(_said(words))


def _said(words: str | Callable[[], str]) -> str:
    return words if isinstance(words, str) else words()


def _nearness(case: CaseNeeds, row: dict[str, Any]) -> int | None:
    """How much where it is counts for the case (None: not near it)."""
    region = row["region_key"]
    if row["kind"] == ResourceKind.TRANSPORT:  # it must leave from where the person is
        if (row["origin_key"] or region) != case.region_key:
            return None
        return 30 if row["destination_key"] and (
            row["destination_key"] == case.destination_key) else 20
    if region == case.region_key:
        return 20
    return 10 if region == case.destination_key else None


def _place(case: CaseNeeds, row: dict[str, Any]) -> str:
    """Where it is for the case, in words (see _nearness)."""
    if row["kind"] == ResourceKind.TRANSPORT:
        start = row["origin"] or row["region"]
        if row["destination_key"] and row["destination_key"] == case.destination_key:
            return f"on the way: {start} to {row['destination']}"
        return f"leaves from {start}"
    if row["region_key"] == case.region_key:
        return f"in {row['region']}"
    return f"at the destination, {row['region']}"


def _judge(case: CaseNeeds, row: dict[str, Any], now: datetime, judged: Judgement) -> None:
    """Judge a resource for the case by the domain's rules: usable (verified, fresh,
    available, a place free), not left, inside its window, room and welcome for the
    household."""
    expires = as_time(row["expires_at"])
    reason = unusable_reason(status=row["status"], verification=row["verification"],
                             expires_at=expires, capacity=row["capacity"],
                             occupancy=row["occupancy"], at=now)
    if reason is not None:
        judged.miss(reason)
    elif expires is not None:
        judged.fit(lambda: f"verified, {_hours(expires - now)} left")
        judged.bonus += min((expires - now).total_seconds() / 3600, 12) / 4
    departs = as_time(row["departs_until"])
    if departs is not None and departure_passed(departs, now):
        judged.miss(lambda: f"left {departs:%d %b %H:%M} UTC")
    if row["window_zone"] is not None:
        _window(row, now, judged)
    _seats(case, row, judged)
    _needed(case, row, judged)


def _window(row: dict[str, Any], now: datetime, judged: Judgement) -> None:
    window = window_of(row)
    if window is None:
        return
    local = zone(window.time_zone)
    state = window.state(now, local)
    if state.is_open:
        closes = state.closes_at
        if closes is not None:
            judged.fit(lambda: f"open until {closes.astimezone(local):%H:%M}")
        return

    def words() -> str:
        said = [f"window closed {state.closed_at.astimezone(local):%H:%M}"
                if state.closed_at is not None else "window not open yet"]
        if state.opens_at is not None:
            said.append(f"opens {state.opens_at.astimezone(local):%d %b %H:%M}")
        return ", ".join(said)

    judged.miss(words)


def _seats(case: CaseNeeds, row: dict[str, Any], judged: Judgement) -> None:
    """Seats or places against the household: misses, what fits, a bonus for room."""
    needed = case.household.seats
    if row["seats"] is not None:
        accepts = split(row["accepts"])
        lacking = misfits(accepts, case.household)
        for what in lacking:
            judged.miss(MOBILITY_WORDS[what])
        taken = [a for a in ("children", "pets", "mobility")
                 if a in accepts and a not in lacking]
        if taken:
            judged.fit(lambda: f"takes {', '.join(taken)}")
        room, unit = _free(row), "seats"
    elif row["capacity"] is not None:
        room, unit = row["capacity"] - (row["occupancy"] or 0), "places"
    else:
        return
    if room <= 0:
        if "full" not in judged.missing:
            judged.miss("full")
    elif room < needed:
        judged.miss(lambda: f"{room} {unit} free, {needed} needed")
    else:
        judged.fit(lambda: f"{room} {unit} free for {needed}")
    judged.bonus += min(max(room - needed, 0), 4) / 2


def _free(row: dict[str, Any]) -> int:
    return SeatCount(row["seats"], row["seats_held"] or 0, row["seats_confirmed"] or 0).free


def _needed(case: CaseNeeds, row: dict[str, Any], judged: Judgement) -> None:
    for need, kind in NEEDED_KIND.items():
        if need in case.needs and row["kind"] == kind:
            judged.fit(need.replace("_", " "))
            judged.bonus += 10.0
            return
    if row["kind"] == ResourceKind.TRANSPORT:
        judged.bonus += 5.0


def _explained(case: CaseNeeds, row: dict[str, Any], now: datetime) -> Judgement:
    judged = Judgement(explain=True, fitting=[_place(case, row)])
    _judge(case, row, now, judged)
    return judged


def _suggested(case: CaseNeeds, row: dict[str, Any], score: float, now: datetime,
               outcome: route_outcomes.RouteOutcome | None = None) -> ResourceSuggestion:
    reasons = _explained(case, row, now).fitting
    if outcome is not None:
        reasons.append(route_outcomes.ranking(outcome)[1])
    return ResourceSuggestion(resource_id=row["resource_id"], kind=row["kind"],
                              region=row["region"], place=row["place"],
                              score=round(score, 2), reasons=reasons,
                              seats_free=None if row["seats"] is None else _free(row),
                              expires_at=as_time(row["expires_at"]),
                              window=window_view(row, now))


def _near_miss(case: CaseNeeds, row: dict[str, Any], now: datetime) -> NearMiss:
    judged = _explained(case, row, now)
    return NearMiss(resource_id=row["resource_id"], kind=row["kind"], region=row["region"],
                    place=row["place"], left_out_because=judged.missing,
                    fits_because=judged.fitting)


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
    (chosen, left_out, considered), resources = await asyncio.gather(
        _volunteers(reader, case, q.volunteers, now, fresh),
        _resource_rows(reader, case, q, fresh))
    routes = await route_outcomes.outcomes_for(
        reader, [str(r["resource_id"]) for r in resources
                 if r["kind"] in route_outcomes.ROUTE_KINDS], now, fresh)
    fits, near = rank_resources(case, resources, now, q.resources, q.near_misses, routes)
    household = case.household
    return Suggestions(
        case_id=case_id, now=now, status=row["status"], urgency=row["urgency"] or "unknown",
        region=row["region"], destination=row["destination"], languages=sorted(case.languages),
        household=HouseholdView(adults=household.adults, children=household.children,
                                pets=household.pets, mobility_needs=household.mobility_needs,
                                seats=household.seats),
        volunteers=chosen, volunteers_considered=considered,
        volunteers_left_out=dict(sorted(left_out.items())), resources=fits, near_misses=near)


async def _volunteers(reader: Reader, case: CaseNeeds, limit: int, now: datetime,
                      fresh: bool) -> tuple[list[VolunteerSuggestion], Counter[str], int]:
    """The best `limit` volunteers on shift, how many were left out by why, and how many
    registered volunteers were looked at. Those speaking one of the person's languages are
    read first (with their loads): nobody else scores above AWAKE, so the others are read
    only if one of them could still enter the top (then their reasons are counted too)."""
    if limit == 0:
        return [], Counter(), 0
    people, shifts, held = [await reader.table("volunteer_workload", n, fresh=fresh)
                            for n in ("volunteer_workload", "volunteer_shifts",
                                      "workload_cases")]
    speaking, args = _speaks_sql(case.languages)
    rows, ended = await asyncio.gather(
        reader.fetch(f"SELECT {_person(held)}, (SELECT COUNT(*) FROM {people} WHERE "
                     f"registered_at IS NOT NULL AND on_shift_since IS NULL) AS off_shift, "
                     f"(SELECT COUNT(*) FROM {people} WHERE {ON_SHIFT} AND NOT ({speaking})) "
                     f"AS others FROM {people} v WHERE {_on(ON_SHIFT)} AND "
                     f"({_on(speaking)})", [*args, *args]),
        reader.fetch(f"SELECT volunteer_id, started_at, ended_at FROM {shifts} WHERE "
                     "ended_at > ?", [now - timedelta(days=2)]))
    if rows:
        off_shift, others = int(rows[0]["off_shift"]), int(rows[0]["others"])
    else:
        off_shift, others = await _counts(reader, people, (speaking, args))
    groups, left_out = prerank(case, rows, _spans(rows, ended, now), now)
    scored: list[Scored] = []
    for group in groups:
        add_scored(scored, group, _loaded(rows))
    if others and not settled(scored, limit, AWAKE):
        rest = await reader.fetch(f"SELECT {_person(held)} FROM {people} v WHERE "
                                  f"{_on(ON_SHIFT)} AND NOT ({_on(speaking)})", args)
        more, more_left_out = prerank(case, rest, _spans(rest, ended, now), now)
        left_out.update(more_left_out)
        for group in more:
            add_scored(scored, group, _loaded(rest))
        others = 0
    if others:
        left_out[f"speaks none of {', '.join(sorted(case.languages))}"] += others
    if off_shift:
        left_out["off shift"] += off_shift
    return top(case, scored, now, limit), left_out, len(rows) + others + off_shift


def _person(held: str) -> str:
    """What a volunteer row brings: who they are and their load, counted on the index of
    assigned cases per assignee (two look-ups each, not a scan of every case)."""
    assigned = f"FROM {held} c WHERE c.assignee_id = v.volunteer_id AND c.status = 'assigned'"
    urgent = ", ".join(f"'{u}'" for u in sorted(URGENT))  # the vocabulary, not input
    return (f"v.volunteer_id, v.languages, v.time_zone, v.cleared, v.standing, "
            f"v.on_shift_since, (SELECT COUNT(*) {assigned}) AS active, (SELECT COUNT(*) "
            f"{assigned} AND c.urgency IN ({urgent})) AS urgent")


def _on(condition: str) -> str:
    """A condition on a volunteer row written for the row aliased `v`."""
    for column in ("registered_at", "on_shift_since", "languages"):
        condition = condition.replace(column, f"v.{column}")
    return condition


def _loaded(rows: Sequence[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    return {as_id(r["volunteer_id"]) or "": (int(r["active"]), int(r["urgent"]))
            for r in rows}


ON_SHIFT = "registered_at IS NOT NULL AND on_shift_since IS NOT NULL"


def _speaks_sql(languages: frozenset[str]) -> tuple[str, list[str]]:
    """A condition (and its arguments) a volunteer row meets when it may speak one of the
    languages; the ranking checks exactly, this only narrows the rows read."""
    if not languages:
        return "1 = 1", []
    return (" OR ".join("(',' || languages || ',') LIKE ?" for _ in languages),
            [f"%,{language},%" for language in sorted(languages)])


async def _counts(reader: Reader, people: str, speaking: tuple[str, list[str]]) -> tuple[int,
                                                                                        int]:
    found = await reader.fetch(
        f"SELECT (SELECT COUNT(*) FROM {people} WHERE registered_at IS NOT NULL AND "
        f"on_shift_since IS NULL) AS off_shift, (SELECT COUNT(*) FROM {people} WHERE "
        f"{ON_SHIFT} AND NOT ({speaking[0]})) AS others", speaking[1])
    return int(found[0]["off_shift"]), int(found[0]["others"])


def _spans(rows: Sequence[dict[str, Any]], ended: Sequence[dict[str, Any]],
           now: datetime) -> dict[str, list[Span]]:
    """Time on shift of these volunteers: the running shift, and any ended lately."""
    spans: dict[str, list[Span]] = {}
    for r in rows:
        start = as_time(r["on_shift_since"])
        if start is not None and start < now:
            spans[as_id(r["volunteer_id"]) or ""] = [(start, now)]
    for r in ended:
        volunteer_id = as_id(r["volunteer_id"]) or ""
        start, end = as_time(r["started_at"]), as_time(r["ended_at"])
        if volunteer_id in spans and start is not None and end is not None and start < now:
            spans[volunteer_id].append((start, min(end, now)))
    return spans


async def _resource_rows(reader: Reader, case: CaseNeeds, q: SuggestionsQuery,
                         fresh: bool) -> list[dict[str, Any]]:
    """Resources near the case (by place key), not withdrawn, of the kind asked for."""
    if q.resources == 0 and q.near_misses == 0:
        return []
    table = await reader.table("resource_directory", "resource_directory", fresh=fresh)
    kind, args = ("", []) if q.kind is None else (" AND kind = ?", [q.kind])
    return await reader.fetch(
        f"SELECT {RESOURCE_COLUMNS} FROM {table} WHERE status NOT IN ({marks(WITHDRAWN)}) AND "
        f"(region_key IN (?, ?) OR origin_key = ?){kind}",
        [*WITHDRAWN, case.region_key, case.destination_key, case.region_key, *args])
