"""A recall reaches the cases relying on the resource because the commit wakes the policies,
not because they happen to poll: with their poll stretched to a minute, the flag still
follows the answer within seconds. Both stores."""

from __future__ import annotations

import pytest
from command_api_driver import Api, Member, eventually

from services.settings import Settings


def stretch_the_policies_poll(api: Api, seconds: float) -> None:
    reactions = api.runtime.reactions
    assert reactions is not None
    reactions.poll_seconds = seconds
    reactions.nudge()  # ends the wait begun with the old interval
    stored = api.runtime.app.recorder.max_notification_id() or 0
    eventually(lambda: reactions.seen_up_to, until=lambda seen: seen >= stored)


class RecallWakesPolicies:
    def test_a_commit_wakes_the_policies_so_a_recall_flags_at_once(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        bus = api.verified(volunteer, fact_checker)
        case_id = api.taken_case(volunteer)
        api.accepted("cases/arrange-transport", volunteer.token, case_id=case_id,
                     resource_ids=[bus])
        stretch_the_policies_poll(api, 60.0)

        api.accepted("resources/mark-unsafe", volunteer.token, resource_id=bus,
                     reason="shelled")

        flags = eventually(lambda: api.aggregate(case_id).flags, until=bool, timeout=5.0)
        assert [(f["reason"], f["resource_id"]) for f in flags] == [("resource_unsafe", bus)]


class TestOnSQLite(RecallWakesPolicies):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestOnPostgres(RecallWakesPolicies):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
