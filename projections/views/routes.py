"""What each route is really like over a period: departed, arrived safe, stuck, returned,
the median hours from departure to arrival and the last incident, per route, humanitarian
corridor, border crossing and checkpoint.

Published with k-anonymity: a route's counts are shown only where at least MIN_CASES cases
contributed in the period, and every count below MIN_CASES (a median over fewer arrivals) is
shown as FEWER; no case id and nothing personal is ever in the answer.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from projections.routes import ROUTE_KINDS as ROUTE_KINDS
from projections.views.common import Moment, Reader, as_time, id_arg, marks

MIN_CASES = 5
"""The fewest cases a published count may stand for (k-anonymity)."""
FEWER: Final = "fewer than 5"
DEFAULT_PERIOD = timedelta(days=30)
Count = int | Literal["fewer than 5"]
RouteKind = Literal["route", "corridor", "border_crossing", "checkpoint"]


class RoutePeriod(BaseModel):
    """The period asked about (default: the 30 days before `until`)."""

    since: Moment | None = Field(default=None, description="start of the period (default: "
                                 "30 days before `until`)")
    until: Moment | None = Field(default=None, description="end of the period (default: now)")

    @model_validator(mode="after")
    def _forwards(self) -> RoutePeriod:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


class RoutesQuery(RoutePeriod):
    """The period asked about and which routes."""

    kind: RouteKind | None = None
    region: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=100_000)


class Incident(BaseModel):
    """The last time the resource was marked unsafe, and the reason given."""

    at: datetime
    reason: str | None


class RouteOutcome(BaseModel):
    """Outcomes of the journeys that relied on one route in the period."""

    resource_id: UUID
    kind: str
    region: str | None
    place: str | None
    published: bool = Field(description=f"at least {MIN_CASES} cases contributed; if not, "
                                         f"every count says '{FEWER}'")
    cases: Count = Field(description="cases with a step on the route in the period")
    departed: Count
    arrived_safe: Count
    stuck: Count
    returned: Count
    median_hours_to_arrival: float | Literal["fewer than 5"] | None = Field(
        description="median hours from departure to arrival safe; None when nobody arrived")
    last_incident: Incident | None


class RoutesPage(BaseModel):
    """Routes with journeys in the period, most cases first."""

    since: datetime
    until: datetime
    min_cases: int = MIN_CASES
    routes: list[RouteOutcome]


@dataclass
class Tally:
    """One route's journeys in the period: cases per step, hours to each arrival."""

    steps: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    hours: list[float] = field(default_factory=list)

    @property
    def cases(self) -> set[str]:
        return set().union(*self.steps.values())


def period(q: RoutePeriod, now: datetime) -> tuple[datetime, datetime]:
    """(since, until) of the query."""
    until = q.until or now
    return q.since or until - DEFAULT_PERIOD, until


def tally(rows: list[dict[str, Any]]) -> dict[str, Tally]:
    """Per route: each step's cases and each arrival's hours since its departure."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        found = tallies[str(row["resource_id"])]
        found.steps[row["step"]].add(str(row["case_id"]))
        departed = as_time(row.get("departed_at"))
        if row["step"] == "arrived_safe" and departed is not None:
            arrived = as_time(row["at"])
            assert arrived is not None
            found.hours.append((arrived - departed).total_seconds() / 3600)
    return tallies


def shown(count: int, published: bool) -> Count:
    """A count as published: itself only when it stands for MIN_CASES cases or more."""
    if not published:
        return FEWER
    return count if count == 0 or count >= MIN_CASES else FEWER


def outcome(route: dict[str, Any], counted: Tally | None) -> RouteOutcome:
    """One route's published outcome (k-anonymous)."""
    counted = counted or Tally()
    cases = len(counted.cases)
    published = cases >= MIN_CASES
    median: float | Literal["fewer than 5"] | None = None
    if counted.hours:
        median = (round(statistics.median(counted.hours), 1)
                  if published and len(counted.hours) >= MIN_CASES else FEWER)
    incident_at = as_time(route.get("last_incident_at"))
    return RouteOutcome(
        resource_id=route["resource_id"], kind=route["kind"], region=route["region"],
        place=route["place"], published=published, cases=shown(cases, published),
        departed=shown(len(counted.steps["departed"]), published),
        arrived_safe=shown(len(counted.steps["arrived_safe"]), published),
        stuck=shown(len(counted.steps["stuck"]), published),
        returned=shown(len(counted.steps["returned"]), published),
        median_hours_to_arrival=median,
        last_incident=None if incident_at is None else Incident(
            at=incident_at, reason=route.get("last_incident")))


async def step_rows(reader: Reader, since: datetime, until: datetime,
                    resource_ids: list[str] | None = None,
                    fresh: bool = False) -> list[dict[str, Any]]:
    """(resource, case, step, at, departed_at) of each step in the period taken while the
    case relied on the resource; departed_at is the case's last departure before an arrival."""
    steps = await reader.table("route_outcomes", "route_steps", fresh=fresh)
    links = await reader.table("route_outcomes", "route_links", fresh=fresh)
    only, args = "", list[Any]([since, until])
    if resource_ids is not None:
        if not resource_ids:
            return []
        only, args = f" AND l.resource_id IN ({marks(resource_ids)})", [*args, *resource_ids]
    return await reader.fetch(
        f"SELECT l.resource_id AS resource_id, s.case_id AS case_id, s.step AS step, "
        f"s.at AS at, CASE WHEN s.step = 'arrived_safe' THEN (SELECT MAX(d.at) FROM {steps} d "
        f"WHERE d.case_id = s.case_id AND d.step = 'departed' AND d.position < s.position) "
        f"END AS departed_at FROM {steps} s JOIN {links} l ON l.case_id = s.case_id "
        f"AND l.since_position < s.position AND (l.until_position IS NULL "
        f"OR l.until_position > s.position) WHERE s.at >= ? AND s.at < ?{only}", args)


async def route_rows(reader: Reader, resource_ids: list[str],
                     fresh: bool = False) -> list[dict[str, Any]]:
    """The route resources with these ids (their kind, place and last incident)."""
    if not resource_ids:
        return []
    table = await reader.table("route_outcomes", "route_resources", fresh=fresh)
    return await reader.fetch(
        f"SELECT * FROM {table} WHERE kind IN ({marks(ROUTE_KINDS)}) AND resource_id IN "
        f"({marks(resource_ids)})", [*ROUTE_KINDS, *resource_ids])


async def routes(reader: Reader, q: RoutesQuery, now: datetime, *,
                 fresh: bool = False) -> RoutesPage:
    """Routes with journeys in the period, most cases first, k-anonymous."""
    since, until = period(q, now)
    tallies = tally(await step_rows(reader, since, until, fresh=fresh))
    found = await route_rows(reader, sorted(tallies), fresh=fresh)
    wanted = [r for r in found if (q.kind is None or r["kind"] == q.kind)
              and (q.region is None or (r["region"] or "").lower() == q.region.lower())]
    wanted.sort(key=lambda r: (-len(tallies[str(r["resource_id"])].cases),
                               str(r["resource_id"])))
    page = wanted[q.offset:q.offset + q.limit]
    return RoutesPage(since=since, until=until,
                      routes=[outcome(r, tallies[str(r["resource_id"])]) for r in page])


async def route(reader: Reader, resource_id: UUID, q: RoutePeriod, now: datetime, *,
                fresh: bool = False) -> RouteOutcome | None:
    """One route's outcome in the period (None: no route, corridor, crossing or checkpoint
    with that id)."""
    since, until = period(q, now)
    found = await route_rows(reader, [id_arg(resource_id)], fresh=fresh)
    if not found:
        return None
    rows = await step_rows(reader, since, until, [id_arg(resource_id)], fresh=fresh)
    return outcome(found[0], tally(rows).get(str(resource_id)))


RANKING_TTL = timedelta(minutes=5)
"""How long a route's outcomes ranked into suggestions are reused: thirty days of journeys
barely move in minutes, and counting them again for every suggestion costs more than the rest
of the answer (a caller asking with `min_position` gets them counted afresh)."""
_RANKED: dict[str, tuple[datetime, RouteOutcome]] = {}
MAX_RANKED = 10_000


async def outcomes_for(reader: Reader, resource_ids: list[str], now: datetime,
                       fresh: bool = False) -> dict[str, RouteOutcome]:
    """The last 30 days' outcomes of those of these resources that are routes (for ranking
    suggestions), each counted at most once per RANKING_TTL unless `fresh`."""
    known = {} if fresh else {i: _RANKED[i][1] for i in resource_ids if i in _RANKED
                              and timedelta(0) <= now - _RANKED[i][0] < RANKING_TTL}
    found = await route_rows(reader, [i for i in resource_ids if i not in known], fresh=fresh)
    if not found:
        return known
    ids = [str(r["resource_id"]) for r in found]
    tallies = tally(await step_rows(reader, now - DEFAULT_PERIOD, now, ids, fresh=fresh))
    counted = {str(r["resource_id"]): outcome(r, tallies.get(str(r["resource_id"])))
               for r in found}
    if len(_RANKED) + len(counted) > MAX_RANKED:
        _RANKED.clear()
    _RANKED.update((i, (now, o)) for i, o in counted.items())
    return {**known, **counted}


def ranking(found: RouteOutcome) -> tuple[float, str]:
    """(bonus to a suggested resource's score, the reason in words) from its route outcome:
    arrivals count for it, journeys stuck or turned back against it, and too few journeys
    say nothing."""
    if not found.published:
        return 0.0, f"route outcomes, last 30 days: {FEWER} cases"
    cases = found.cases if isinstance(found.cases, int) else 0
    words = [f"{_said(found.arrived_safe)} of {cases} arrived safe"]
    bad = [f"{_said(n)} {what}" for n, what in ((found.stuck, "stuck"),
                                                 (found.returned, "turned back")) if n != 0]
    if isinstance(found.median_hours_to_arrival, float):
        words.append(f"median {found.median_hours_to_arrival:g} h to arrival")
    rate = (found.arrived_safe if isinstance(found.arrived_safe, int) else 0) / max(cases, 1)
    setbacks = sum(n for n in (found.stuck, found.returned) if isinstance(n, int))
    bonus = round(4.0 * rate - 4.0 * setbacks / max(cases, 1), 2)
    return bonus, "route outcomes, last 30 days: " + ", ".join(words + bad)


def _said(count: Count) -> str:
    return str(count)
