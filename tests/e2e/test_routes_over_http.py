"""What each route is really like, over HTTP on the embedded store and on PostgreSQL: the
journeys that relied on a route counted per step, published only where 5 cases or more
contribute (smaller cells as 'fewer than 5'), never a case id; the last incident; and the
outcomes as one more explained reason in a case's suggestions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from command_api_driver import Api, Member

from services.settings import Settings

STEPS = {"departed": "cases/record-departure", "arrived": "cases/record-arrival",
         "stuck": "cases/record-stuck", "returned": "cases/record-return"}


def get(api: Api, path: str, token: str, **params: Any) -> httpx.Response:
    head = api.runtime.app.recorder.max_notification_id() or 0
    return api.client.get(path, params={"min_position": head, **params},
                          headers={"Authorization": f"Bearer {token}"})


def journey(api: Api, by: Member, resources: list[uuid.UUID], *steps: str) -> uuid.UUID:
    case_id = api.taken_case(by)
    api.accepted("cases/arrange-transport", by.token, case_id=case_id,
                 resource_ids=resources, description="bus with the route")
    fields = {"arrived": {"place": "Lviv, a host family"},
              "stuck": {"place": "Bridge", "reason": "blown up"},
              "returned": {"reason": "shelling ahead"}}
    for step in steps:
        api.accepted(STEPS[step], by.token, case_id=case_id, **fields.get(step, {}))
    return case_id


class RoutesOverHttp:
    def test_outcomes_are_counted_per_route_and_small_cells_are_hidden(
            self, api: Api, volunteer: Member, supervisor: Member,
            fact_checker: Member) -> None:
        road = api.verified(supervisor, fact_checker, "route", place="Kharkiv - Poltava")
        quiet = api.verified(supervisor, fact_checker, "checkpoint", place="Km 40")
        bus = api.verified(supervisor, fact_checker, "transport")
        cases = [journey(api, volunteer, [bus, road], "departed", "arrived") for _ in range(5)]
        cases.append(journey(api, volunteer, [bus, road], "departed", "stuck", "returned"))
        cases += [journey(api, volunteer, [bus, quiet], "departed") for _ in range(2)]
        api.accepted("resources/mark-unsafe", supervisor.token, resource_id=road,
                     reason="shelled at the bridge")

        page = get(api, "/routes", supervisor.token)

        assert page.status_code == 200, page.text
        found = {r["resource_id"]: r for r in page.json()["routes"]}
        assert str(bus) not in found  # a transport is no route
        published = found[str(road)]
        assert published["published"] is True
        assert [published[k] for k in ("cases", "departed", "arrived_safe", "stuck",
                                       "returned")] == [6, 6, 5, "fewer than 5", "fewer than 5"]
        assert isinstance(published["median_hours_to_arrival"], float)
        assert published["last_incident"]["reason"] == "shelled at the bridge"
        hidden = found[str(quiet)]
        assert hidden["published"] is False
        assert {hidden[k] for k in ("cases", "departed", "arrived_safe", "stuck",
                                    "returned")} == {"fewer than 5"}
        assert not any(str(c) in page.text for c in cases)

    def test_one_route_over_a_chosen_period_and_who_may_ask(
            self, api: Api, volunteer: Member, supervisor: Member,
            fact_checker: Member) -> None:
        road = api.verified(supervisor, fact_checker, "corridor")
        journey(api, volunteer, [road], "departed")

        detail = get(api, f"/routes/{road}", volunteer.token)
        before = get(api, f"/routes/{road}", volunteer.token,
                     until="2020-01-01T00:00:00Z")
        missing = get(api, f"/routes/{uuid.uuid4()}", volunteer.token)
        intake = get(api, "/routes", api.token("intake-bot", "intake"))
        partner = get(api, "/routes", api.runtime.tokens.issue("", [], partner_id=uuid.uuid4()))
        backwards = get(api, "/routes", volunteer.token, since="2030-01-01T00:00:00Z",
                        until="2020-01-01T00:00:00Z")

        assert detail.status_code == 200 and detail.json()["kind"] == "corridor"
        assert detail.json()["cases"] == "fewer than 5"
        assert before.json()["published"] is False
        assert missing.status_code == 404
        assert (intake.status_code, intake.json()["rule"]) == (403, "role")
        assert (partner.status_code, partner.json()["rule"]) == (403, "PartnerTokenLimited")
        assert backwards.status_code == 422 and "since must be before until" in backwards.text

    def test_a_routes_outcomes_are_one_more_reason_in_a_cases_suggestions(
            self, api: Api, volunteer: Member, supervisor: Member,
            fact_checker: Member) -> None:
        road = api.verified(supervisor, fact_checker, "route")
        bus = api.verified(supervisor, fact_checker, "transport")
        for _ in range(5):
            journey(api, volunteer, [bus, road], "departed", "arrived")
        case_id = api.open_case(region="Kharkiv", destination="Lviv")

        found = get(api, f"/cases/{case_id}/suggestions", supervisor.token, kind="route")

        assert found.status_code == 200, found.text
        suggested = {r["resource_id"]: r for r in found.json()["resources"]}
        assert ("route outcomes, last 30 days: 5 of 5 arrived safe, median 0 h to arrival"
                in suggested[str(road)]["reasons"])


class TestOnSQLite(RoutesOverHttp):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestOnPostgres(RoutesOverHttp):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
