"""What the console needs of the API, over HTTP: its files under /console, the one-time
sign-in code of `corridor token --link`, one board row, open cases over time, every reported
resource, and hours on shift day by day."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from command_api_driver import Api

from services.settings import Settings


def get(api: Api, path: str, token: str, **params: Any) -> Any:
    response = api.client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


class TestConsoleApi:
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings

    def test_the_console_is_served_with_its_security_headers(self, api: Api) -> None:
        page = api.client.get("/console/")
        root = api.client.get("/console", follow_redirects=False)

        assert page.status_code == 200 and "<html" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "no-referrer"
        assert root.status_code == 308 and root.headers["location"] == "/console/"

    def test_a_sign_in_code_is_exchanged_once_for_a_session_token(self, api: Api) -> None:
        volunteer = api.register("volunteer")
        code = api.runtime.tokens.issue_sign_in(str(volunteer.id), ["volunteer"])

        first = api.client.post("/console/sign-in", json={"code": code})
        again = api.client.post("/console/sign-in", json={"code": code})

        assert first.status_code == 200, first.text
        session = first.json()
        assert session["actor"] == str(volunteer.id) and session["roles"] == ["volunteer"]
        assert get(api, "/board", session["token"])["total"] == 0
        assert again.status_code == 401 and "used already" in again.json()["detail"]

    def test_a_sign_in_code_is_no_token_and_a_token_no_sign_in_code(self, api: Api) -> None:
        volunteer = api.register("volunteer")
        code = api.runtime.tokens.issue_sign_in(str(volunteer.id), ["volunteer"])

        as_bearer = api.client.get("/board", headers={"Authorization": f"Bearer {code}"})
        as_code = api.client.post("/console/sign-in", json={"code": volunteer.token})

        assert as_bearer.status_code == 401 and as_bearer.json()["claim"] == "aud"
        assert as_code.status_code == 401 and as_code.json()["claim"] == "aud"

    def test_one_board_row_shows_the_case_without_personal_data(self, api: Api) -> None:
        volunteer = api.register("volunteer")
        case_id = api.open_case()
        taken = api.accepted("cases/take", volunteer.token, case_id=case_id)

        row = get(api, f"/board/{case_id}", volunteer.token, min_position=taken["position"])
        missing = api.client.get(f"/board/{uuid4()}",
                                 headers={"Authorization": f"Bearer {volunteer.token}"})

        assert row["case_id"] == str(case_id) and row["assignee_id"] == str(volunteer.id)
        assert "Olena" not in str(row) and "@olena" not in str(row)
        assert missing.status_code == 404

    def test_open_cases_are_counted_by_urgency_over_time(self, api: Api) -> None:
        volunteer = api.register("volunteer")
        api.open_case(safe_now=False)
        closed = api.taken_case(volunteer)
        done = api.accepted("cases/close", volunteer.token, case_id=closed,
                            outcome="lost_contact")

        history = get(api, "/board/history", volunteer.token, days=1, points=4,
                      min_position=done["position"])

        assert len(history["points"]) == 4
        assert sum(history["points"][-1]["by_urgency"].values()) == 1
        assert sum(history["points"][0]["by_urgency"].values()) == 0

    def test_every_reported_resource_is_listed_with_its_verification(self, api: Api) -> None:
        reporter, checker = api.register("volunteer"), api.register("fact_checker")
        pending = api.report(reporter, "shelter", capacity=20)
        verified = api.report(reporter, "food_point")
        last = api.accepted("resources/verify", checker.token, resource_id=verified)

        unverified = get(api, "/resources", checker.token, verification=["unverified"],
                         min_position=last["position"] or 0)
        fresh = get(api, "/resources", checker.token, verification=["verified"])
        everything = get(api, "/resources", checker.token, sort="kind")

        assert [r["resource_id"] for r in unverified["resources"]] == [str(pending)]
        assert [r["resource_id"] for r in fresh["resources"]] == [str(verified)]
        assert fresh["resources"][0]["expires_in_seconds"] > 0
        assert [r["kind"] for r in everything["resources"]] == ["food_point", "shelter"]

    def test_hours_on_shift_are_given_day_by_day_for_a_week(self, api: Api) -> None:
        volunteer = api.register("volunteer")
        started = api.accepted("volunteers/start-shift", volunteer.token)

        load = get(api, f"/workload/{volunteer.id}", volunteer.token,
                   min_position=started["position"])

        assert len(load["hours_by_day"]) == 7
        assert load["hours_by_day"][-1]["day"] == load["local_time"][:10]

    def test_a_psychologist_sees_only_the_cases_of_their_support_groups(self, api: Api) -> None:
        volunteer, psychologist = api.register("volunteer"), api.register("psychologist")
        theirs, other = api.taken_case(volunteer), api.taken_case(volunteer)
        formed = api.accepted("cases/form-support-group", volunteer.token, case_id=theirs,
                              psychologist_id=psychologist.id, member_ids=[])

        page = get(api, "/board", psychologist.token, min_position=formed["position"])
        row = get(api, f"/board/{theirs}", psychologist.token)
        hidden = api.client.get(f"/board/{other}",
                                headers={"Authorization": f"Bearer {psychologist.token}"})
        someone_else = api.client.get(
            "/board", params={"psychologist_id": str(uuid4())},
            headers={"Authorization": f"Bearer {psychologist.token}"})
        counts = api.client.get("/board/counts",
                                headers={"Authorization": f"Bearer {psychologist.token}"})

        assert [c["case_id"] for c in page["cases"]] == [str(theirs)] and page["total"] == 1
        assert row["case_id"] == str(theirs)
        assert hidden.status_code == 404 and "support group you lead" in hidden.json()["detail"]
        assert someone_else.status_code == 403
        assert counts.status_code == 403

    def test_a_supervisor_filters_the_board_by_psychologist(self, api: Api) -> None:
        volunteer, psychologist = api.register("volunteer"), api.register("psychologist")
        supervisor = api.register("supervisor")
        theirs = api.taken_case(volunteer)
        api.taken_case(volunteer)
        formed = api.accepted("cases/form-support-group", volunteer.token, case_id=theirs,
                              psychologist_id=psychologist.id, member_ids=[])

        page = get(api, "/board", supervisor.token, psychologist_id=str(psychologist.id),
                   min_position=formed["position"])
        everything = get(api, "/board", supervisor.token)

        assert [c["case_id"] for c in page["cases"]] == [str(theirs)]
        assert everything["total"] == 2

    def test_a_token_without_a_board_role_is_refused_the_board(self, api: Api) -> None:
        checker = api.register("fact_checker")

        refused = api.client.get("/board", headers={"Authorization": f"Bearer {checker.token}"})

        assert refused.status_code == 403 and "psychologist" in refused.json()["detail"]
