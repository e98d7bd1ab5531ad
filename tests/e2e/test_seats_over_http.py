"""Seats on a transport over HTTP, on the embedded store and on PostgreSQL: no overbooking
under 50 concurrent holds, refusals that name the rule, and what ends a hold (confirmation,
a no-show, a lapse on the tick, a recall, the case closing)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from command_api_driver import Api, Member, eventually, running, sqlite_settings

from services.clock import now
from services.settings import Settings

PROBLEM = "application/problem+json"


def reactions_of(api: Api) -> Any:
    """The policies running in the service (the runtime names them)."""
    runtime: Any = api.runtime
    found = getattr(runtime, "reactions", None) or runtime.extras.get("reactions")
    assert found is not None, "the policies do not run in this process"
    return found


def car(api: Api, reporter: Member, checker: Member, seats: int = 4,
        **offer: Any) -> uuid.UUID:
    """A verified private car offering `seats` seats, with a driver's name and phone."""
    return api.verified(reporter, checker, "transport",
                        contact={"name": "Driver Mykola", "phone": "+380 67 123 45 67"},
                        transport={"seats": seats, "origin": "Kharkiv", "destination": "Lviv",
                                   **offer})


def hold(api: Api, by: Member, case_id: uuid.UUID, transport: uuid.UUID,
         **fields: Any) -> httpx.Response:
    return api.send("cases/hold-seats", by.token, case_id=case_id, resource_id=transport,
                    hold_id=uuid.uuid4(), **fields)


def refused(response: httpx.Response, rule: str) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    assert problem["rule"] == rule, problem
    return problem


class SeatsOverHttp:
    def test_fifty_concurrent_holds_on_a_four_seat_car_accept_exactly_four(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        transport = car(api, volunteer, fact_checker, seats=4)
        caseworkers = [api.register("volunteer") for _ in range(50)]
        cases = [api.taken_case(by) for by in caseworkers]

        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(lambda pair: hold(api, pair[0], pair[1], transport),
                                    zip(caseworkers, cases, strict=True)))

        accepted = [a for a in answers if a.status_code == 200]
        assert len(accepted) == 4
        for answer in (a for a in answers if a.status_code != 200):
            problem = refused(answer, "NotEnoughSeats")
            assert (problem["seats_offered"], problem["seats_free"]) == (4, 0)
        stored = api.aggregate(transport)
        assert stored.seat_count.held == 4 and len(stored.holds) == 4
        holding = [c for c in cases if api.aggregate(c).seat_holds]
        assert sorted(map(str, holding)) == sorted(str(h["case_id"]) for h in stored.holds)

    def test_a_transport_that_does_not_take_the_household_is_refused_naming_what(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        transport = car(api, volunteer, fact_checker, seats=6, accepts=["children"])
        case_id = api.open_case(children_ages=[4], pets=1, mobility_needs=True)
        api.accepted("cases/take", volunteer.token, case_id=case_id)

        problem = refused(hold(api, volunteer, case_id, transport), "TransportDoesNotFit")

        assert problem["misfits"] == ["pets", "mobility"]

    def test_an_unverified_transport_is_refused_saying_it_is_unverified(
            self, api: Api, volunteer: Member) -> None:
        transport = api.report(volunteer, "transport", transport={"seats": 3})
        case_id = api.taken_case(volunteer)

        problem = refused(hold(api, volunteer, case_id, transport), "ResourceNotUsable")

        assert problem["reason"] == "unverified"

    def test_a_transport_that_has_left_is_refused_with_its_departure(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        leaves = now() + timedelta(seconds=2)  # commands carry the server's time
        transport = car(api, volunteer, fact_checker, departs_until=leaves.isoformat())
        case_id = api.taken_case(volunteer)

        auth = {"Authorization": f"Bearer {volunteer.token}"}
        entry = eventually(lambda: api.client.get(f"/resources/{transport}", headers=auth),
                           until=lambda r: r.status_code == 200
                           and r.json()["unusable_because"] == "left", timeout=10)
        assert entry.json()["usable"] is False

        problem = refused(hold(api, volunteer, case_id, transport), "DepartureWindowPassed")
        assert problem["departs_until"].startswith(leaves.isoformat()[:19])

    def test_held_seats_show_on_the_board_the_directory_and_the_workload(
            self, api: Api, volunteer: Member, supervisor: Member,
            fact_checker: Member) -> None:
        transport = car(api, volunteer, fact_checker, seats=5)
        case_id = api.open_case(adults=2)
        api.accepted("cases/take", volunteer.token, case_id=case_id)
        answer = api.accepted("cases/hold-seats", volunteer.token, case_id=case_id,
                              resource_id=transport, hold_id=uuid.uuid4())
        wait = {"min_position": answer["position"]}
        auth = {"Authorization": f"Bearer {supervisor.token}"}

        board = api.client.get("/board", params=wait, headers=auth).json()
        entry = api.client.get(f"/resources/{transport}", params=wait, headers=auth).json()
        load = api.client.get(f"/workload/{volunteer.id}", params=wait, headers=auth).json()

        [row] = [c for c in board["cases"] if c["case_id"] == str(case_id)]
        assert (row["seats_held"], row["holds"][0]["resource_id"]) == (2, str(transport))
        assert entry["seats"]["held"] == 2 and entry["seats"]["free"] == 3
        assert [h["case_id"] for h in entry["holds"]] == [str(case_id)]
        assert (load["holds_to_confirm"], load["seats_held"]) == (1, 2)

    def test_a_no_show_frees_confirmed_seats_for_the_next_family(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        transport = car(api, volunteer, fact_checker, seats=2)
        first, second = api.taken_case(volunteer), api.taken_case(volunteer)
        api.accepted("cases/hold-seats", volunteer.token, case_id=first, resource_id=transport,
                     hold_id=(hold_id := uuid.uuid4()), seats=1)
        api.accepted("cases/confirm-seats", volunteer.token, case_id=first, hold_id=hold_id)
        api.accepted("cases/hold-seats", volunteer.token, case_id=second,
                     resource_id=transport, hold_id=uuid.uuid4())
        refused(hold(api, volunteer, api.taken_case(volunteer), transport), "NotEnoughSeats")

        api.accepted("cases/release-seats", volunteer.token, case_id=first, hold_id=hold_id,
                     no_show=True)

        assert hold(api, volunteer, api.taken_case(volunteer), transport).status_code == 200

    def test_the_tick_lapses_unconfirmed_holds_and_keeps_confirmed_ones(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        transport = car(api, volunteer, fact_checker, seats=4)
        kept_case, lapsing_case = api.taken_case(volunteer), api.taken_case(volunteer)
        kept, lapsing = uuid.uuid4(), uuid.uuid4()
        for case_id, hold_id in ((kept_case, kept), (lapsing_case, lapsing)):
            api.accepted("cases/hold-seats", volunteer.token, case_id=case_id,
                         resource_id=transport, hold_id=hold_id, hold_minutes=5)
        api.accepted("cases/confirm-seats", volunteer.token, case_id=kept_case, hold_id=kept)
        reactions = reactions_of(api)
        stored = api.runtime.app.recorder.max_notification_id() or 0
        eventually(lambda: reactions.seen_up_to, until=lambda seen: seen >= stored)

        reactions.tick(now() + timedelta(minutes=6))

        holds = api.aggregate(transport).holds
        assert [h["hold_id"] for h in holds] == [kept]
        assert api.aggregate(lapsing_case).seat_holds == []
        lapsed = [e for e in api.stored_events() if type(e).__name__ == "HoldLapsed"]
        assert [e.hold_id for e in lapsed] == [lapsing]

    def test_a_recall_flags_the_cases_holding_seats_and_releases_their_holds(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        transport = car(api, volunteer, fact_checker, seats=4)
        case_id = api.taken_case(volunteer)
        api.accepted("cases/hold-seats", volunteer.token, case_id=case_id,
                     resource_id=transport, hold_id=uuid.uuid4())

        api.accepted("resources/mark-unsafe", volunteer.token, resource_id=transport,
                     reason="car hit on the road to Poltava")

        case = eventually(lambda: api.aggregate(case_id),
                          until=lambda c: bool(c.flags) and not c.seat_holds, timeout=10)
        assert [(f["reason"], f["resource_id"]) for f in case.flags] == [
            ("resource_unsafe", transport)]
        released = eventually(lambda: [e for e in api.stored_events()
                                       if type(e).__name__ == "HoldReleased"], until=bool)
        assert [(e.why, e.originator_id) for e in released] == [("resource_recalled",
                                                                  transport)]

    def test_banning_the_reporter_recalls_their_verified_car_flags_and_frees_its_holds(
            self, api: Api, volunteer: Member, supervisor: Member,
            fact_checker: Member) -> None:
        driver = api.register("volunteer")
        transport = car(api, driver, fact_checker, seats=4)
        case_id = api.taken_case(volunteer)
        api.accepted("cases/hold-seats", volunteer.token, case_id=case_id,
                     resource_id=transport, hold_id=uuid.uuid4())

        api.accepted("volunteers/ban", supervisor.token, volunteer_id=driver.id,
                     reason="the car and the driver were fake")

        case = eventually(lambda: api.aggregate(case_id),
                          until=lambda c: bool(c.flags) and not c.seat_holds, timeout=10)
        assert [(f["reason"], f["resource_id"]) for f in case.flags] == [
            ("resource_retracted", transport)]
        stored = api.aggregate(transport)
        assert stored.status.value == "retracted" and stored.seat_count.held == 0
        released = [e for e in api.stored_events() if type(e).__name__ == "HoldReleased"]
        assert [(e.why, e.originator_id) for e in released] == [("resource_recalled",
                                                                  transport)]

    def test_closing_a_case_frees_the_seats_it_held(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        transport = car(api, volunteer, fact_checker, seats=1)
        case_id = api.taken_case(volunteer)
        api.accepted("cases/hold-seats", volunteer.token, case_id=case_id,
                     resource_id=transport, hold_id=uuid.uuid4())

        api.accepted("cases/close", volunteer.token, case_id=case_id, outcome="lost_contact")

        assert api.aggregate(transport).seat_count.free == 1

    def test_the_drivers_name_and_phone_stay_sealed(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        transport = car(api, volunteer, fact_checker)
        app = api.runtime.app
        stored = [n for n in app.recorder.select_notifications(start=1, limit=1_000_000)
                  if n.originator_id == transport]

        assert stored and not any(b"Mykola" in n.state or b"123 45 67" in n.state
                                  for n in stored)
        auth = {"Authorization": f"Bearer {volunteer.token}"}
        entry = eventually(lambda: api.client.get(f"/resources/{transport}", headers=auth),
                           until=lambda r: r.status_code == 200)
        assert entry.json()["has_contact"] is True
        assert "Mykola" not in entry.text and "123 45 67" not in entry.text


def test_a_hold_naming_no_duration_lasts_the_networks_default(tmp_path: Path) -> None:
    with running(sqlite_settings(tmp_path / "data", hold_minutes=45)) as api:
        volunteer, checker = api.register("volunteer"), api.register("fact_checker")
        transport = car(api, volunteer, checker, seats=4)
        unsaid, named = uuid.uuid4(), uuid.uuid4()
        api.accepted("cases/hold-seats", volunteer.token, case_id=api.taken_case(volunteer),
                     resource_id=transport, hold_id=unsaid)
        api.accepted("cases/hold-seats", volunteer.token, case_id=api.taken_case(volunteer),
                     resource_id=transport, hold_id=named, hold_minutes=5)

        held = {e.hold_id: e.until - e.meta.at for e in api.stored_events()
                if type(e).__name__ == "SeatsHeld"}
        assert held == {unsaid: timedelta(minutes=45), named: timedelta(minutes=5)}


class TestOnSQLite(SeatsOverHttp):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestOnPostgres(SeatsOverHttp):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
