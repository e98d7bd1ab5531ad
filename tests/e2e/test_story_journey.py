"""Issue 20 over HTTP: the story's own journey is taken, the board shows transport arranged,
and a case does not close as evacuated over a raised recall flag (SQLite: the rules and
their problem documents do not depend on the store)."""

from __future__ import annotations

from typing import Any

import pytest
from command_api_driver import Api, Member, eventually

from services.settings import Settings


class TestTheStoryOverHttp:
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings

    def test_returned_to_the_village_and_stuck_again(self, api: Api, volunteer: Member) -> None:
        case_id = api.taken_case(volunteer)

        for path, fields in (("record-departure", {}),
                             ("record-return", {"reason": "the road is shelled"}),
                             ("record-stuck", {"place": "the village", "reason": "no fuel"}),
                             ("record-departure", {})):
            api.accepted(f"cases/{path}", volunteer.token, case_id=case_id, **fields)

        assert api.aggregate(case_id).stage.value == "en_route"

    def test_the_board_says_transport_is_arranged(self, api: Api, volunteer: Member,
                                                  fact_checker: Member,
                                                  supervisor: Member) -> None:
        bus = api.verified(volunteer, fact_checker)
        case_id = api.taken_case(volunteer)

        answer = api.accepted("cases/arrange-transport", volunteer.token, case_id=case_id,
                              resource_ids=[bus], description="minibus at 7")

        row = _board_row(api, supervisor, case_id, answer["position"])
        assert (row["stage"], row["last_step"]) == ("waiting", "TransportArranged")

    def test_a_recall_flag_is_cleared_before_the_case_closes_as_evacuated(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        bus = api.verified(volunteer, fact_checker)
        case_id = api.taken_case(volunteer)
        api.accepted("cases/arrange-transport", volunteer.token, case_id=case_id,
                     resource_ids=[bus])
        api.accepted("cases/record-departure", volunteer.token, case_id=case_id)
        api.accepted("cases/record-arrival", volunteer.token, case_id=case_id, place="Krakow")
        api.accepted("resources/mark-unsafe", volunteer.token, resource_id=bus,
                     reason="shelled")
        flags = eventually(lambda: api.aggregate(case_id).flags, until=bool)
        events = api.event_count()

        refused = api.send("cases/close", volunteer.token, case_id=case_id,
                           outcome="evacuated")

        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["rule"] == "FlagsStillRaised"
        assert problem["flags"] == [{"flag_id": str(flags[0]["flag_id"]),
                                     "reason": "resource_unsafe"}]
        assert api.event_count() == events
        api.accepted("cases/clear-flag", volunteer.token, case_id=case_id,
                     flag_id=flags[0]["flag_id"], reason="she got off before the bus was hit")
        api.accepted("cases/close", volunteer.token, case_id=case_id, outcome="evacuated")


def _board_row(api: Api, reader: Member, case_id: Any, position: int) -> dict[str, Any]:
    reply = api.client.get("/board", headers={"Authorization": f"Bearer {reader.token}"},
                           params={"limit": 200, "min_position": position, "wait_ms": 10_000})
    assert reply.status_code == 200, reply.text
    rows: list[dict[str, Any]] = [c for c in reply.json()["cases"]
                                  if c["case_id"] == str(case_id)]
    assert len(rows) == 1
    return rows[0]
