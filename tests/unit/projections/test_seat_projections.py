"""Seats in the read models: the directory counts a transport's held and confirmed seats and
lists its holds, the board shows what each case holds, the workload what each volunteer
must still confirm."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from projection_events import T0, Stream, apply, only, opened, personal

from projections.catalog import CASE_BOARD, RESOURCE_DIRECTORY, VOLUNTEER_WORKLOAD
from projections.records import EventRecord

UNTIL = T0 + timedelta(minutes=30)


def offered_transport(car: Stream, seats: int = 4) -> list[EventRecord]:
    return [
        car.event("ResourceReported", kind="transport", region="kharkiv", place="station",
                  details="private car", capacity=None, contact=personal(uuid4()),
                  reported_by=str(uuid4())),
        car.event("TransportOffered", seats=seats, accepts=["children", "pets"],
                  departs_from=None, departs_until=(T0 + timedelta(hours=5)).isoformat(),
                  origin="Kharkiv", destination="Lviv")]


def held(car: Stream, hold_id: UUID, case_id: UUID, seats: int, by: UUID) -> EventRecord:
    return car.event("SeatsHeld", hold_id=str(hold_id), case_id=str(case_id), seats=seats,
                     until=UNTIL.isoformat(), held_by=str(by))


def freed(stream: Stream, kind: str, hold_id: UUID, seats: int, confirmed: bool,
          **more: Any) -> EventRecord:
    data: dict[str, Any] = {"hold_id": str(hold_id), "seats": seats, **more}
    if kind.endswith("Released"):
        data.update(confirmed=confirmed, why="released")
    return stream.event(kind, **data)


def test_the_directory_counts_held_and_confirmed_seats_and_lists_current_holds() -> None:
    car, first, second, gone = Stream("resource"), uuid4(), uuid4(), uuid4()
    case_a, case_b, case_c, by = uuid4(), uuid4(), uuid4(), uuid4()
    records = [*offered_transport(car, seats=6),
               held(car, first, case_a, 2, by), held(car, second, case_b, 1, by),
               held(car, gone, case_c, 3, by),
               car.event("HoldConfirmed", hold_id=str(first), case_id=str(case_a), seats=2),
               freed(car, "HoldLapsed", gone, 3, False, case_id=str(case_c))]

    tables = apply(RESOURCE_DIRECTORY, records)

    row = only(tables.rows("resource_directory"))
    assert (row["seats"], row["seats_held"], row["seats_confirmed"]) == (6, 1, 2)
    assert (row["accepts"], row["origin"], row["destination"]) == ("children,pets", "Kharkiv",
                                                                  "Lviv")
    holds = {h["hold_id"]: h["confirmed"] for h in tables.rows("directory_holds")}
    assert holds == {str(first): True, str(second): False}


def test_releasing_confirmed_seats_gives_them_back_to_the_confirmed_count() -> None:
    car, hold_id, case_id, by = Stream("resource"), uuid4(), uuid4(), uuid4()
    records = [*offered_transport(car), held(car, hold_id, case_id, 2, by),
               car.event("HoldConfirmed", hold_id=str(hold_id), case_id=str(case_id), seats=2),
               freed(car, "HoldReleased", hold_id, 2, True, case_id=str(case_id))]

    tables = apply(RESOURCE_DIRECTORY, records)

    row = only(tables.rows("resource_directory"))
    assert (row["seats_held"], row["seats_confirmed"]) == (0, 0)
    assert tables.rows("directory_holds") == []


def test_the_board_shows_the_seats_a_case_holds_and_relies_on_the_transport() -> None:
    case, car_id, hold_id = Stream("case"), uuid4(), uuid4()
    records = [opened(case),
               case.event("TransportSeatsHeld", resource_id=str(car_id), hold_id=str(hold_id),
                          seats=3, until=UNTIL.isoformat(), at_minute=1)]

    tables = apply(CASE_BOARD, records)

    row = only(tables.rows("case_board"))
    assert (row["seats_held"], row["seats_confirmed"], row["last_step"]) == (
        3, 0, "TransportSeatsHeld")
    assert only(tables.rows("case_resources"))["resource_id"] == str(car_id)
    hold = only(tables.rows("case_holds"))
    assert (hold["hold_id"], hold["seats"], hold["until"], hold["confirmed"]) == (
        str(hold_id), 3, UNTIL, False)


def test_the_board_moves_confirmed_seats_and_forgets_a_lapsed_hold() -> None:
    case, car_id, kept, lapsed = Stream("case"), str(uuid4()), uuid4(), uuid4()
    records = [opened(case),
               case.event("TransportSeatsHeld", resource_id=car_id, hold_id=str(kept),
                          seats=2, until=UNTIL.isoformat()),
               case.event("TransportSeatsConfirmed", resource_id=car_id, hold_id=str(kept),
                          seats=2),
               case.event("TransportSeatsHeld", resource_id=str(uuid4()), hold_id=str(lapsed),
                          seats=2, until=UNTIL.isoformat()),
               freed(case, "TransportSeatsLapsed", lapsed, 2, False, resource_id=car_id)]

    tables = apply(CASE_BOARD, records)

    row = only(tables.rows("case_board"))
    assert (row["seats_held"], row["seats_confirmed"]) == (0, 2)
    assert [h["hold_id"] for h in tables.rows("case_holds")] == [str(kept)]


def test_the_workload_keeps_a_volunteers_holds_until_they_end() -> None:
    car, volunteer, kept, confirmed, released = (Stream("resource"), uuid4(), uuid4(),
                                                 uuid4(), uuid4())
    records = [*offered_transport(car, seats=8),
               held(car, kept, uuid4(), 2, volunteer), held(car, confirmed, uuid4(), 1, volunteer),
               held(car, released, uuid4(), 1, volunteer),
               car.event("HoldConfirmed", hold_id=str(confirmed), case_id=str(uuid4()), seats=1),
               freed(car, "HoldReleased", released, 1, False, case_id=str(uuid4()))]

    rows = apply(VOLUNTEER_WORKLOAD, records).rows("workload_holds")

    assert {(r["hold_id"], r["volunteer_id"], r["confirmed"]) for r in rows} == {
        (str(kept), str(volunteer), False), (str(confirmed), str(volunteer), True)}
