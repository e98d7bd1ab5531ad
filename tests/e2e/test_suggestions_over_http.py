"""GET /cases/{id}/suggestions over HTTP, on the embedded store and on PostgreSQL: the right
volunteer first with the reasons, the resources that fit the family, the near misses with why
they were left out; a supervisor assigns from them with the existing command."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from command_api_driver import TRAINING_TO_BE_CLEARED, Api, Member

from services.clock import now
from services.settings import Settings


def zone_where(hours: range) -> str:
    """A fixed-offset time zone where the clock now shows one of `hours`."""
    utc = datetime.now(UTC)
    for offset in range(-12, 15):
        if (utc + timedelta(hours=offset)).hour in hours:
            sign = "-" if offset > 0 else "+"  # Etc/GMT names have the sign reversed
            return f"Etc/GMT{sign}{abs(offset)}" if offset else "Etc/GMT"
    raise AssertionError("no such zone")


def caseworker(api: Api, languages: list[str], time_zone: str, *,
               on_shift: bool = True) -> Member:
    person = uuid.uuid4()
    api.accepted("volunteers/register", api.admin_token, volunteer_id=person,
                 display_name="Helper", languages=languages, time_zone=time_zone,
                 roles=["volunteer"])
    api.accepted("volunteers/log-training", api.admin_token, volunteer_id=person,
                 minutes=TRAINING_TO_BE_CLEARED, topic="basics")
    member = Member(person, api.token(person, "volunteer"))
    if on_shift:
        api.accepted("volunteers/start-shift", member.token)
    return member


def transport(api: Api, by: Member, checker: Member, seats: int, accepts: list[str],
              origin: str = "Kharkiv", destination: str = "Lviv") -> uuid.UUID:
    resource_id = uuid.uuid4()
    api.accepted("resources/report", by.token, resource_id=resource_id, kind="transport",
                 region=origin, transport={"seats": seats, "accepts": accepts,
                                           "origin": origin, "destination": destination})
    api.accepted("resources/verify", checker.token, resource_id=resource_id)
    return resource_id


def suggestions(api: Api, case_id: uuid.UUID, token: str, **params: Any) -> Any:
    head = api.runtime.app.recorder.max_notification_id() or 0
    return api.client.get(f"/cases/{case_id}/suggestions",
                          params={"min_position": head, **params},
                          headers={"Authorization": f"Bearer {token}"})


class SuggestionsOverHttp:
    def test_the_volunteer_who_speaks_the_language_and_is_awake_comes_first_with_reasons(
            self, api: Api, supervisor: Member) -> None:
        day, night = zone_where(range(9, 18)), zone_where(range(1, 5))
        awake = caseworker(api, ["uk", "en"], day)
        asleep = caseworker(api, ["uk"], night)
        caseworker(api, ["pl"], day)
        caseworker(api, ["uk"], day, on_shift=False)
        case_id = api.open_case(languages=["uk"], region="Kharkiv oblast", destination="Lviv")

        answer = suggestions(api, case_id, supervisor.token)

        assert answer.status_code == 200, answer.text
        found = answer.json()
        ranked = [v["volunteer_id"] for v in found["volunteers"]]
        assert ranked.index(str(awake.id)) < ranked.index(str(asleep.id))
        assert ranked[0] == str(awake.id)
        assert found["volunteers"][0]["reasons"][:3] == [
            "speaks uk", f"daytime in {day} ({found['volunteers'][0]['local_time'][11:16]})",
            "0 urgent cases"]
        assert found["volunteers_left_out"]["off shift"] >= 1
        api.accepted("cases/assign", supervisor.token, case_id=case_id, volunteer_id=ranked[0])

    def test_the_resources_that_fit_the_family_and_the_near_misses_with_why(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        fits = transport(api, volunteer, fact_checker, 4, ["children", "pets"])
        no_pets = transport(api, volunteer, fact_checker, 6, ["children"])
        too_small = transport(api, volunteer, fact_checker, 2, ["children", "pets"])
        elsewhere = transport(api, volunteer, fact_checker, 8, ["children", "pets"],
                              origin="Odesa", destination="Chisinau")
        t = now()
        closed = api.verified(volunteer, fact_checker, "corridor", window={
            "opens_at": (t + timedelta(hours=2)).isoformat(),
            "closes_at": (t + timedelta(hours=4)).isoformat()})
        case_id = api.open_case(children_ages=[5], pets=1, region="Kharkiv",
                                destination="Lviv")

        found = suggestions(api, case_id, volunteer.token).json()

        assert found["household"]["seats"] == 2
        assert [r["resource_id"] for r in found["resources"]][:1] == [str(fits)]
        assert "takes children, pets" in found["resources"][0]["reasons"]
        why = {m["resource_id"]: m["left_out_because"] for m in found["near_misses"]}
        assert why[str(no_pets)] == ["no pets"]
        assert str(too_small) in {r["resource_id"] for r in found["resources"]}
        assert why[str(closed)][0].startswith("window not open yet, opens")
        assert str(elsewhere) not in why and str(elsewhere) not in {
            r["resource_id"] for r in found["resources"]}

    def test_only_caseworkers_and_supervisors_ask_and_an_unknown_case_is_not_found(
            self, api: Api, volunteer: Member) -> None:
        case_id = api.open_case()

        intake = suggestions(api, case_id, api.token("intake-bot", "intake"))
        missing = suggestions(api, uuid.uuid4(), volunteer.token)

        assert (intake.status_code, intake.json()["rule"]) == (403, "role")
        assert missing.status_code == 404


class TestOnSQLite(SuggestionsOverHttp):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestOnPostgres(SuggestionsOverHttp):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
