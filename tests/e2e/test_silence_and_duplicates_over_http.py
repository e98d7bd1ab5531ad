"""Issue 23 over HTTP, on both stores: contact recorded (reached or not), the tick's contact
overdue and possible lost contact on the board, the case, the workload and the counts; the
same person asking twice found by the blind index, told apart or merged by a supervisor,
shown to a volunteer only as "ask a supervisor"; the blind index holds no phone number in
plaintext and forgets an erased person."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from command_api_driver import Api, Member, eventually

from domain.duplicates import ASK_A_SUPERVISOR
from services import clock
from services.settings import Settings

CRITICAL = {"safe_now": False, "children_ages": [4]}
PHONE_DIGITS = "380671234567"


@pytest.fixture
def told_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[clock.BusinessClock]:
    told = clock.BusinessClock(told=True)
    monkeypatch.setattr(clock, "CLOCK", told)
    yield told


def get(api: Api, path: str, who: Member, **params: Any) -> Any:
    answer = api.client.get(path, params=params,
                            headers={"Authorization": f"Bearer {who.token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def board_row(api: Api, who: Member, case_id: uuid.UUID, **params: Any) -> dict[str, Any]:
    page = get(api, "/board", who, status=["unassigned", "assigned", "closed"], limit=200,
               **params)
    [row] = [c for c in page["cases"] if c["case_id"] == str(case_id)]
    return dict(row)


def tick(api: Api, at: datetime) -> None:
    answer = api.send("clock/tick", api.admin_token, at=at.isoformat())
    assert answer.status_code == 200, answer.text


def settled(api: Api) -> int:
    """The store's last position once the reactions have acted on everything before it and
    the read models have applied it (what the watches did is then visible)."""
    app, reactions = api.runtime.app, api.runtime.reactions
    assert reactions is not None
    last = app.recorder.max_notification_id() or 0
    eventually(lambda: reactions.acted_up_to, until=lambda p: p >= last, timeout=15.0)
    return int(app.recorder.max_notification_id() or 0)


class Silence:
    def test_the_tick_marks_contact_overdue_then_possible_lost_contact_and_never_closes(
            self, api: Api, told_clock: clock.BusinessClock, volunteer: Member,
            supervisor: Member) -> None:
        case_id = api.open_case(**CRITICAL)
        api.accepted("cases/take", volunteer.token, case_id=case_id)
        start = datetime.now(UTC)

        tick(api, start + timedelta(minutes=61))  # critical: 1 h
        eventually(lambda: api.aggregate(case_id).contact_overdue_since, until=bool,
                   timeout=10.0)
        at = settled(api)
        row = board_row(api, supervisor, case_id, min_position=at)
        assert row["contact_overdue"] is True and row["possible_lost_contact"] is False
        load = get(api, f"/workload/{volunteer.id}", supervisor, min_position=at)
        assert load["contact_overdue_cases"] == 1
        counts = get(api, "/board/counts", supervisor, min_position=at)
        assert counts["contact_overdue"] == 1
        assert counts["contact_overdue_by_urgency"] == {"critical": 1}
        assert board_row(api, supervisor, case_id, contact_overdue=True, min_position=at)

        tick(api, start + timedelta(minutes=181))
        eventually(lambda: api.aggregate(case_id).lost_contact_suspected_at, until=bool,
                   timeout=10.0)
        at = settled(api)
        assert board_row(api, supervisor, case_id, min_position=at)[
            "possible_lost_contact"] is True
        assert board_row(api, volunteer, case_id, min_position=at)[
            "possible_lost_contact"] is None  # the supervisor's to see
        assert api.aggregate(case_id).is_active
        assert get(api, "/board/counts", supervisor, min_position=at)[
            "possible_lost_contact"] == 1
        assert board_row(api, supervisor, case_id, possible_lost_contact=True, min_position=at)
        refused = api.client.get("/board", params={"possible_lost_contact": True},
                                 headers={"Authorization": f"Bearer {volunteer.token}"})
        assert refused.status_code == 403

        answer = api.accepted("cases/record-contact", volunteer.token, case_id=case_id,
                              channel="telegram", reached=True)
        row = board_row(api, supervisor, case_id, min_position=answer["position"])
        assert (row["contact_overdue"], row["possible_lost_contact"]) == (False, False)
        load = get(api, f"/workload/{volunteer.id}", supervisor,
                   min_position=answer["position"])
        assert load["contact_overdue_cases"] == 0

    def test_an_unreached_try_is_recorded_with_who_when_and_how(
            self, api: Api, volunteer: Member, supervisor: Member) -> None:
        case_id = api.taken_case(volunteer)

        answer = api.accepted("cases/record-contact", volunteer.token, case_id=case_id,
                              channel="phone", reached=False, note="no answer, +380501112233")

        [event] = [e for e in api.stored_events()
                   if e.originator_id == case_id and type(e).__name__ == "ContactRecorded"]
        assert (event.meta.actor, event.channel, event.reached) == (
            str(volunteer.id), "phone", False)
        detail = get(api, f"/cases/{case_id}", supervisor)
        [attempt] = detail["contact"]["attempts"]
        assert (attempt["actor"], attempt["channel"], attempt["reached"]) == (
            str(volunteer.id), "phone", False)
        row = board_row(api, supervisor, case_id, min_position=answer["position"])
        assert row["contact_attempts"] == 1 and row["last_contact_at"] is None

    def test_a_channel_outside_the_vocabulary_is_refused(
            self, api: Api, volunteer: Member) -> None:
        case_id = api.taken_case(volunteer)

        answer = api.send("cases/record-contact", volunteer.token, case_id=case_id,
                          channel="carrier pigeon", reached=True)

        assert answer.status_code == 422
        assert "channel" in answer.text


class SamePersonTwice:
    def test_one_phone_written_two_ways_marks_both_cases_and_a_volunteer_is_told_to_ask(
            self, api: Api, volunteer: Member, supervisor: Member) -> None:
        first = api.open_case(contact_handle="+380 67 123-45-67")
        api.accepted("cases/take", volunteer.token, case_id=first)
        second = api.open_case(contact_handle="067 123 4567", contact_channel="viber")

        for case_id, other in ((first, second), (second, first)):
            marked = eventually(lambda c=case_id: api.aggregate(c).possible_duplicates,
                                until=bool, timeout=10.0)
            assert [(d["case_id"], d["matched_on"]) for d in marked] == [(other, ["phone"])]
        at = settled(api)

        mine = get(api, f"/cases/{first}", volunteer)
        assert mine["duplicates"]["possible_duplicate"] == ASK_A_SUPERVISOR
        assert mine["duplicates"]["possible_duplicates"] is None
        assert str(second) not in str(mine)
        row = board_row(api, volunteer, first, min_position=at)
        assert row["possible_duplicate"] == ASK_A_SUPERVISOR
        assert row["possible_duplicate_of"] is None
        seen = get(api, f"/cases/{first}", supervisor)["duplicates"]["possible_duplicates"]
        assert [d["case_id"] for d in seen] == [str(second)]
        assert board_row(api, supervisor, first, min_position=at)[
            "possible_duplicate_of"] == [str(second)]
        assert get(api, "/board/counts", supervisor, min_position=at)[
            "possible_duplicates"] == 2

    def test_a_supervisor_merges_and_both_histories_stay_linked(
            self, api: Api, volunteer: Member, supervisor: Member) -> None:
        survivor = api.open_case(name="Olena Koval", birth_year=1979)
        merged = api.open_case(name="olena  KOVAL", birth_year=1979)
        eventually(lambda: api.aggregate(merged).possible_duplicates, until=bool, timeout=10.0)
        before = [e for e in api.stored_events() if e.originator_id == merged]

        refused = api.send("cases/merge", volunteer.token, case_id=survivor,
                           merged_case_id=merged)
        assert refused.status_code == 403
        answer = api.accepted("cases/merge", supervisor.token, case_id=survivor,
                              merged_case_id=merged)

        kept = api.aggregate(survivor)
        gone = api.aggregate(merged)
        assert (gone.outcome.value, gone.merged_into) == ("merged", survivor)
        assert kept.is_active and kept.merged_case_ids == [merged]
        after = [e for e in api.stored_events() if e.originator_id == merged]
        assert after[:len(before)] == before
        row = board_row(api, supervisor, merged, min_position=answer["position"])
        assert (row["status"], row["outcome"], row["merged_into"]) == (
            "closed", "merged", str(survivor))
        assert board_row(api, supervisor, survivor,
                         min_position=answer["position"])["possible_duplicate"] is None

    def test_not_the_same_person_unmarks_both(
            self, api: Api, supervisor: Member) -> None:
        first = api.open_case(contact_handle="@twin")
        second = api.open_case(contact_handle="@Twin")
        eventually(lambda: api.aggregate(second).possible_duplicates, until=bool, timeout=10.0)
        eventually(lambda: api.aggregate(first).possible_duplicates, until=bool, timeout=10.0)

        api.accepted("cases/tell-apart", supervisor.token, case_id=first,
                     other_case_id=second)

        assert not api.aggregate(first).possible_duplicates
        assert not api.aggregate(second).possible_duplicates
        again = api.send("cases/tell-apart", supervisor.token, case_id=first,
                         other_case_id=second)
        assert again.status_code == 409
        assert again.json()["rule"] == "NotPossibleDuplicates"

    def test_the_blind_index_never_holds_a_phone_number_in_plaintext(
            self, api: Api) -> None:
        case_id = api.open_case(contact_handle="+380 (67) 123 45 67")

        rows = [r for r in api.runtime.app.blind_index.rows() if r[1] == case_id]

        assert [r[2] for r in rows] == ["phone"]
        digest = rows[0][3]
        for form in (PHONE_DIGITS, f"+{PHONE_DIGITS}", "0671234567", "671234567"):
            for encoded in (form.encode(), form.encode("utf-16-le")):
                assert encoded not in digest
            assert form not in digest.hex() and form not in str(rows[0])
        assert digest != hashlib.sha256(f"+{PHONE_DIGITS}".encode()).digest()
        key = api.runtime.app.blind_index.key()
        assert digest == hmac.digest(key, f"phone\x00+{PHONE_DIGITS}".encode(), "sha256")
        assert key != api.runtime.app.keys.key_for(api.aggregate(case_id).person_id,
                                                   create=False)

    def test_erasing_a_person_deletes_their_entries_and_nothing_matches_them_again(
            self, api: Api, supervisor: Member) -> None:
        erased = api.open_case(contact_handle="+380671234567")
        api.accepted("cases/erase-personal-data", supervisor.token, case_id=erased)
        assert [r for r in api.runtime.app.blind_index.rows() if r[1] == erased] == []

        later = api.open_case(contact_handle="+380671234567")
        settled(api)

        assert not api.aggregate(later).possible_duplicates
        assert not api.aggregate(erased).possible_duplicates

    def test_erasing_a_person_erases_them_on_the_cases_merged_with_theirs(
            self, api: Api, supervisor: Member) -> None:
        survivor = api.open_case(contact_handle="+380501234567")
        merged = api.open_case(contact_handle="050 123 45 67")
        api.accepted("cases/merge", supervisor.token, case_id=survivor, merged_case_id=merged)

        api.accepted("cases/erase-personal-data", supervisor.token, case_id=survivor)

        assert api.aggregate(merged).personal.erased
        assert [r for r in api.runtime.app.blind_index.rows()
                if r[1] in (survivor, merged)] == []


class TestOnSQLite(Silence, SamePersonTwice):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestOnPostgres(Silence, SamePersonTwice):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
