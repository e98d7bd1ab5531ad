"""Opening windows over HTTP, on the embedded store and on PostgreSQL: the directory offers a
corridor only inside its window (or says when it opens), lists what closes soon, refuses
advice outside a window with the window in the problem, and the tick flags the cases relying
on a window before it closes and once it has."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import command_api_driver as driver
import httpx
import pytest
from command_api_driver import Api, Member, eventually

from services.clock import now
from services.settings import Settings

KYIV = ZoneInfo("Europe/Kyiv")


def reactions_of(api: Api) -> Any:
    runtime: Any = api.runtime
    found = getattr(runtime, "reactions", None) or runtime.extras.get("reactions")
    assert found is not None, "the policies do not run in this process"
    return found


def once(opens: datetime | None, closes: datetime | None) -> dict[str, Any]:
    return {k: v.isoformat() for k, v in (("opens_at", opens), ("closes_at", closes)) if v}


def daily(start: datetime, end: datetime) -> dict[str, Any]:
    """A daily window from `start` to `end` on Kyiv's clocks."""
    return {"daily_from": f"{start.astimezone(KYIV):%H:%M}",
            "daily_until": f"{end.astimezone(KYIV):%H:%M}", "time_zone": "Europe/Kyiv"}


def windowed(api: Api, reporter: Member, checker: Member, kind: str,
             window: dict[str, Any]) -> uuid.UUID:
    return api.verified(reporter, checker, kind, window=window)


def read(api: Api, path: str, token: str, **params: Any) -> dict[str, Any]:
    """A read once the read model has what was just written (the store's newest position)."""
    head = api.runtime.app.recorder.max_notification_id() or 0
    answer = api.client.get(path, params={"min_position": head, **params},
                            headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def advise(api: Api, by: Member, case_id: uuid.UUID, resource: uuid.UUID) -> httpx.Response:
    return api.send("cases/give-advice", by.token, case_id=case_id, text="go by the corridor",
                    resource_ids=[resource])


def settled(api: Api) -> Any:
    """The policies, once they have read everything stored so far."""
    reactions = reactions_of(api)
    stored = api.runtime.app.recorder.max_notification_id() or 0
    eventually(lambda: reactions.seen_up_to, until=lambda seen: seen >= stored)
    return reactions


class WindowsOverHttp:
    def test_the_directory_offers_a_corridor_only_inside_its_window_or_says_when_it_opens(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        t = now()
        open_now = windowed(api, volunteer, fact_checker, "corridor",
                            once(t - timedelta(hours=1), t + timedelta(hours=3)))
        later_on = windowed(api, volunteer, fact_checker, "corridor",
                            once(t + timedelta(hours=2), t + timedelta(hours=5)))

        offered = read(api, "/resources/directory", volunteer.token, kind="corridor")
        both = read(api, "/resources/directory", volunteer.token, kind="corridor",
                    opening_later="true")

        assert [r["resource_id"] for r in offered["resources"]] == [str(open_now)]
        assert offered["resources"][0]["window"]["open_now"] is True
        opening = {r["resource_id"]: r["window"] for r in both["resources"]}
        assert set(opening) == {str(open_now), str(later_on)}
        assert opening[str(later_on)]["open_now"] is False
        assert datetime.fromisoformat(opening[str(later_on)]["next_opens_at"]) == (
            t + timedelta(hours=2))

    def test_advice_naming_a_corridor_outside_its_window_is_refused_with_the_window(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        t = now()
        corridor = windowed(api, volunteer, fact_checker, "corridor",
                            once(t + timedelta(hours=2), t + timedelta(hours=5)))
        case_id = api.taken_case(volunteer)

        answer = advise(api, volunteer, case_id, corridor)

        assert answer.status_code == 409, answer.text
        problem = answer.json()
        assert problem["rule"] == "WindowClosed"
        assert datetime.fromisoformat(problem["opens_at"]) == t + timedelta(hours=2)
        assert problem["window"]["closes_at"] == (t + timedelta(hours=5)).isoformat()
        assert api.aggregate(case_id).resource_ids == []

    def test_a_curfew_in_force_refuses_transport_relying_on_it(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        t = now()
        curfew = windowed(api, volunteer, fact_checker, "curfew",
                          daily(t - timedelta(hours=1), t + timedelta(hours=1)))
        case_id = api.taken_case(volunteer)

        answer = api.send("cases/arrange-transport", volunteer.token, case_id=case_id,
                          resource_ids=[curfew])

        assert answer.status_code == 409 and answer.json()["rule"] == "WindowClosed"
        assert answer.json()["window"]["closed_within"] is True
        entry = read(api, f"/resources/{curfew}", volunteer.token)
        assert (entry["usable"], entry["unusable_because"]) == (False, "window_closed")

    def test_what_closes_soon_is_listed_soonest_first(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        t = now()
        soon = windowed(api, volunteer, fact_checker, "border_crossing",
                        once(t - timedelta(hours=1), t + timedelta(minutes=30)))
        windowed(api, volunteer, fact_checker, "border_crossing",
                 once(t - timedelta(hours=1), t + timedelta(hours=3)))
        bus = api.verified(volunteer, fact_checker, "transport", transport={
            "seats": 30, "departs_until": (t + timedelta(minutes=20)).isoformat()})

        page = read(api, "/resources/closing-soon", volunteer.token, within_minutes=60)

        assert [(c["resource"]["resource_id"], c["what_closes"]) for c in page["closing"]] == [
            (str(bus), "departure"), (str(soon), "window")]

    def test_the_tick_flags_relying_cases_before_a_window_closes_and_once_it_has(
            self, api: Api, volunteer: Member, supervisor: Member,
            fact_checker: Member) -> None:
        t = now()
        closes = t + timedelta(minutes=30)
        corridor = windowed(api, volunteer, fact_checker, "corridor",
                            once(t - timedelta(hours=1), closes))
        case_id = api.taken_case(volunteer)
        assert advise(api, volunteer, case_id, corridor).status_code == 200
        reactions = settled(api)

        reactions.tick(t)
        reactions.tick(t + timedelta(minutes=1))  # the same closing: not flagged twice
        reactions.tick(closes + timedelta(minutes=1))

        flags = api.aggregate(case_id).flags
        assert sorted(f["reason"] for f in flags) == ["window_closed", "window_closing"]
        assert {f["resource_id"] for f in flags} == {corridor}
        board = read(api, "/board", supervisor.token)
        [row] = [c for c in board["cases"] if c["case_id"] == str(case_id)]
        assert {(f["reason"], datetime.fromisoformat(f["closes_at"])) for f in row["flags"]} == {
            ("window_closing", closes), ("window_closed", closes)}

    def test_a_window_is_set_by_a_fact_checker_not_by_a_volunteer(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        checkpoint = api.verified(volunteer, fact_checker, "checkpoint")
        window = daily(now() + timedelta(hours=1), now() + timedelta(hours=2))

        refused = api.send("resources/set-window", volunteer.token, resource_id=checkpoint,
                           window=window)
        api.accepted("resources/set-window", fact_checker.token, resource_id=checkpoint,
                     window=window)

        assert refused.status_code == 403
        entry = read(api, f"/resources/{checkpoint}", volunteer.token)
        assert entry["window"]["daily_from"] == window["daily_from"]
        assert entry["unusable_because"] == "window_closed"


class TestOnSQLite(WindowsOverHttp):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestOnPostgres(WindowsOverHttp):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings


class TestTheLeadTimeIsASetting:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return driver.sqlite_settings(tmp_path / "data", window_lead_minutes=10)

    def test_cases_are_flagged_only_within_the_configured_lead_time(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        t = now()
        closes = t + timedelta(minutes=30)
        corridor = windowed(api, volunteer, fact_checker, "corridor",
                            once(t - timedelta(hours=1), closes))
        case_id = api.taken_case(volunteer)
        assert advise(api, volunteer, case_id, corridor).status_code == 200
        reactions = settled(api)

        reactions.tick(closes - timedelta(minutes=11))
        before = list(api.aggregate(case_id).flags)
        reactions.tick(closes - timedelta(minutes=9))

        assert before == []
        assert [f["reason"] for f in api.aggregate(case_id).flags] == ["window_closing"]
