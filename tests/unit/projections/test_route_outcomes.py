"""Route outcomes: which journeys relied on which route (pure projection), and what is
published of them (counts, median, k-anonymity), without a database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import uuid4

from projection_events import T0, Stream, apply, only, personal

from projections.catalog import ROUTE_OUTCOMES
from projections.partition import own_rows_only
from projections.views.routes import (
    FEWER,
    MIN_CASES,
    RANKING_TTL,
    outcome,
    outcomes_for,
    ranking,
    tally,
)


def route(kind: str = "route") -> tuple[Stream, list[Any]]:
    resource = Stream("resource")
    return resource, [resource.event("ResourceReported", kind=kind, region="Kharkiv",
                                     place="Kharkiv - Poltava road", details="M03")]


def journey(route_id: str, *steps: tuple[str, float]) -> list[Any]:
    """A case relying on the route, then its steps at those minutes."""
    case = Stream("case")
    person = uuid4()
    events = [case.event("CaseOpened", person_id=str(person), personal=personal(person)),
              case.event("TransportArranged", resource_ids=[route_id, str(uuid4())],
                         personal=personal(person))]
    for step, minute in steps:
        events.append(case.event(step, at_minute=minute, personal=personal(person)))
    return events


def test_a_route_keeps_its_kind_and_place_and_its_last_incident() -> None:
    resource, reported = route("border_crossing")
    unsafe = resource.event("ResourceMarkedUnsafe", reason="shelling", at_minute=90)

    tables = apply(ROUTE_OUTCOMES, [*reported, unsafe])

    row = only(tables.rows("route_resources"))
    assert (row["kind"], row["last_incident"]) == ("border_crossing", "shelling")
    assert row["last_incident_at"] == unsafe.occurred_at


def test_a_shelter_is_no_route() -> None:
    shelter = Stream("resource")
    tables = apply(ROUTE_OUTCOMES, [shelter.event("ResourceReported", kind="shelter")])

    assert tables.rows("route_resources") == []


def test_steps_are_linked_to_the_routes_the_case_relied_on_until_it_closed() -> None:
    resource, reported = route()
    events = journey(str(resource.id), ("Departed", 10), ("ArrivedSafe", 250))
    case = Stream("case", events[0].stream_id)
    case.version = len(events)
    closed = case.event("CaseClosed", outcome="evacuated", at_minute=300)

    tables = apply(ROUTE_OUTCOMES, [*reported, *events, closed])

    links = [r for r in tables.rows("route_links") if r["resource_id"] == str(resource.id)]
    assert only(links)["until_position"] == closed.position
    assert [r["step"] for r in tables.rows("route_steps")] == ["departed", "arrived_safe"]


def test_seats_held_on_a_route_link_the_case_to_it() -> None:
    resource, reported = route("corridor")
    case = Stream("case")
    held = case.event("TransportSeatsHeld", resource_id=str(resource.id), hold_id=str(uuid4()),
                      seats=2, until=T0.isoformat())

    tables = apply(ROUTE_OUTCOMES, [*reported, held])

    assert only(tables.rows("route_links"))["resource_id"] == str(resource.id)
    assert ROUTE_OUTCOMES.project(case.event("TransportSeatsHeld", hold_id=str(uuid4()))) == []


def test_every_change_stays_on_its_own_stream() -> None:
    resource, reported = route()
    events = journey(str(resource.id), ("Departed", 10), ("Stuck", 20), ("Returned", 30))
    for record in [*reported, *events]:
        own_rows_only("route_outcomes", ROUTE_OUTCOMES.tables, record,
                      ROUTE_OUTCOMES.project(record))


def rows_for(cases: int, *steps: str, hours: float = 6) -> list[dict[str, Any]]:
    found = []
    for n in range(cases):
        for step in steps:
            row = {"resource_id": "r", "case_id": str(CASES[n]), "step": step,
                   "at": T0.replace(hour=8 + int(hours)) if step == "arrived_safe" else T0,
                   "departed_at": T0 if step == "arrived_safe" else None}
            found.append(row)
    return found


CASES = [uuid4() for _ in range(10)]
ROUTE = {"resource_id": uuid4(), "kind": "route", "region": "Kharkiv", "place": "M03",
         "last_incident_at": None, "last_incident": None}


def test_a_route_with_five_cases_is_published_with_its_median() -> None:
    counted = tally(rows_for(MIN_CASES, "departed", "arrived_safe"))

    found = outcome(ROUTE, counted["r"])

    assert found.published
    assert (found.cases, found.departed, found.arrived_safe) == (5, 5, 5)
    assert (found.stuck, found.returned) == (0, 0)
    assert found.median_hours_to_arrival == 6.0


def test_fewer_than_five_cases_publish_no_count_and_no_median() -> None:
    counted = tally(rows_for(MIN_CASES - 1, "departed", "arrived_safe"))

    found = outcome(ROUTE, counted["r"])

    assert not found.published
    assert {found.cases, found.departed, found.arrived_safe, found.stuck, found.returned,
            found.median_hours_to_arrival} == {FEWER}


def test_a_small_cell_of_a_published_route_says_fewer_than_five() -> None:
    rows = rows_for(6, "departed") + [r for r in rows_for(2, "stuck")]

    found = outcome(ROUTE, tally(rows)["r"])

    assert (found.cases, found.departed, found.stuck) == (6, 6, FEWER)
    assert found.median_hours_to_arrival is None


def test_an_outcome_names_no_case() -> None:
    found = outcome(ROUTE, tally(rows_for(7, "departed", "arrived_safe"))["r"])

    published = found.model_dump_json()
    assert not any(str(case) in published for case in CASES)


def test_the_ranking_favours_arrivals_and_says_why() -> None:
    good = outcome(ROUTE, tally(rows_for(8, "departed", "arrived_safe"))["r"])
    bad = outcome(ROUTE, tally(rows_for(8, "departed", "returned"))["r"])
    few = outcome(ROUTE, tally(rows_for(2, "departed"))["r"])

    (good_bonus, good_words), (bad_bonus, bad_words) = ranking(good), ranking(bad)

    assert good_bonus > 0 > bad_bonus
    assert good_words == ("route outcomes, last 30 days: 8 of 8 arrived safe, "
                          "median 6 h to arrival")
    assert "8 turned back" in bad_words
    assert ranking(few) == (0.0, "route outcomes, last 30 days: fewer than 5 cases")


class CountingReader:
    """A reader over one route with MIN_CASES arrivals, counting the step queries."""

    def __init__(self, route_id: str) -> None:
        self.route_id, self.step_queries = route_id, 0

    async def table(self, projection: str, name: str, *, fresh: bool = False) -> str:
        return name

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if "route_steps" in sql:
            self.step_queries += 1
            return [{**r, "resource_id": self.route_id}
                    for r in rows_for(MIN_CASES, "departed", "arrived_safe")]
        return [{**ROUTE, "resource_id": self.route_id}]


async def test_suggestions_count_a_routes_outcomes_once_a_while_unless_asked_fresh() -> None:
    route_id = str(uuid4())
    reader = CountingReader(route_id)
    now = T0 + timedelta(hours=10)

    first = await outcomes_for(reader, [route_id], now)
    again = await outcomes_for(reader, [route_id], now + timedelta(minutes=1))
    asked_fresh = await outcomes_for(reader, [route_id], now, fresh=True)
    later = await outcomes_for(reader, [route_id], now + RANKING_TTL)

    assert first == again == asked_fresh == later
    assert first[route_id].arrived_safe == MIN_CASES
    assert reader.step_queries == 3
