"""Issue 20, item 7, over HTTP: a reporter checking their own report is told that rule, not
a missing role; someone else without the role is told the role. 403 problems, nothing
stored. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from command_api_driver import Api, Member

from services.settings import Settings


def refused(api: Api, response: httpx.Response, rule: str, events_before: int
            ) -> dict[str, Any]:
    """A 403 problem document naming this rule, and nothing stored."""
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert (problem["status"], problem["rule"]) == (403, rule)
    assert api.event_count() == events_before
    return problem


class CheckingOwnReport:
    def test_a_supervisor_verifying_their_own_report_is_told_the_own_report_rule(
            self, api: Api, supervisor: Member) -> None:
        resource_id = api.report(supervisor)
        events = api.event_count()

        response = api.send("resources/verify", supervisor.token, resource_id=resource_id)

        problem = refused(api, response, "CannotVerifyOwnReport", events)
        assert "nobody verifies or rejects their own report" in problem["detail"]

    def test_someone_else_without_the_role_is_still_told_the_role(
            self, api: Api, supervisor: Member, volunteer: Member) -> None:
        resource_id = api.report(volunteer)
        events = api.event_count()

        response = api.send("resources/reject", supervisor.token, resource_id=resource_id,
                            reason="looks fake")

        problem = refused(api, response, "NotAFactChecker", events)
        assert "fact_checker" in problem["detail"]


class TestCheckingOwnReportOnSQLite(CheckingOwnReport):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestCheckingOwnReportOnPostgres(CheckingOwnReport):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
