"""The admin's clock tick (POST /commands/clock/tick): on a told clock it moves the business
time forward, and verifications that run out by then expire and flag the cases relying on
them; on the system clock a tick ahead of it is refused. Both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from command_api_driver import Api, Member, eventually

from domain.clock import CLOCK_ID
from services import clock
from services.settings import Settings


@pytest.fixture
def told_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[clock.BusinessClock]:
    """This process's business clock as CORRIDOR_CLOCK=told makes it (restored afterwards:
    the clock only goes forward)."""
    told = clock.BusinessClock(told=True)
    monkeypatch.setattr(clock, "CLOCK", told)
    yield told


@pytest.fixture
def system_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "CLOCK", clock.BusinessClock(told=False))


def tick(api: Api, at: datetime, token: str | None = None) -> httpx.Response:
    return api.send("clock/tick", token or api.admin_token, at=at.isoformat())


class ClockTicks:
    def test_a_told_tick_moves_business_time_and_runs_verifications_out(
            self, api: Api, told_clock: clock.BusinessClock, volunteer: Member,
            fact_checker: Member) -> None:
        bus = api.verified(volunteer, fact_checker)
        case_id = api.taken_case(volunteer)
        api.accepted("cases/arrange-transport", volunteer.token, case_id=case_id,
                     resource_ids=[bus])
        later = datetime.now(UTC) + timedelta(hours=13)  # a transport's verification: 12 h

        answer = tick(api, later)

        assert answer.status_code == 200, answer.text
        flags = eventually(lambda: api.aggregate(case_id).flags, until=bool, timeout=10.0)
        assert [(f["reason"], f["resource_id"]) for f in flags] == [
            ("verification_expired", bus)]
        assert api.aggregate(bus).verification.value == "expired"
        api.accepted("cases/add-note", volunteer.token, case_id=case_id, text="called")
        noted = [e for e in api.stored_events() if e.originator_id == case_id][-1]
        assert noted.meta.at >= later  # stamped at the told time or after

    def test_the_system_clock_refuses_a_tick_ahead_of_it_and_stores_nothing(
            self, api: Api, system_clock: None) -> None:
        before = api.event_count()

        answer = tick(api, datetime.now(UTC) + timedelta(hours=1))

        assert answer.status_code == 409
        assert answer.json()["rule"] == "ClockNotTold"
        assert api.event_count() == before

    def test_the_system_clock_runs_a_tick_at_a_time_already_passed(
            self, api: Api, system_clock: None) -> None:
        answer = tick(api, datetime.now(UTC) - timedelta(seconds=1))

        assert answer.status_code == 200
        assert api.aggregate(CLOCK_ID).ticks == 1

    def test_only_an_admin_tells_the_clock(self, api: Api, told_clock: clock.BusinessClock,
                                           supervisor: Member) -> None:
        answer = tick(api, datetime.now(UTC), supervisor.token)

        assert answer.status_code == 403

    def test_a_tick_before_the_last_one_is_refused(
            self, api: Api, told_clock: clock.BusinessClock) -> None:
        start = datetime.now(UTC) + timedelta(minutes=5)
        assert tick(api, start).status_code == 200

        answer = tick(api, start - timedelta(minutes=1))

        assert answer.status_code == 409
        assert answer.json()["rule"] == "TickOutOfOrder"


class TestOnSQLite(ClockTicks):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestOnPostgres(ClockTicks):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
