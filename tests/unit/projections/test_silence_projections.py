"""Contact and the same person twice in the read models (issue 23): the board keeps contact
overdue, possible lost contact, tries and possible duplicates; the workload which held cases
are overdue; a contact (a reached try, or any step) clears them."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from projection_events import T0, Stream, apply, only, opened, personal

from projections.catalog import CASE_BOARD, VOLUNTEER_WORKLOAD
from projections.records import EventRecord

WATCH = "policy:contact_watch"


def overdue(case: Stream) -> list[EventRecord]:
    return [case.event("ContactOverdue", actor=WATCH, at_minute=61,
                       last_contact_at=T0.isoformat(),
                       due_at=(T0 + timedelta(hours=1)).isoformat()),
            case.event("LostContactSuspected", actor=WATCH, at_minute=181,
                       last_contact_at=T0.isoformat(), missed_intervals=3)]


def test_the_board_marks_overdue_and_possible_lost_contact_and_counts_tries() -> None:
    case = Stream("case")
    tried = case.event("ContactRecorded", channel="phone", reached=False, at_minute=30,
                       personal=personal(uuid4()))

    row = only(apply(CASE_BOARD, [opened(case), tried, *overdue(case)]).rows("case_board"))

    assert row["contact_overdue_since"] == T0 + timedelta(hours=1)
    assert row["lost_contact_suspected_at"] == T0 + timedelta(minutes=181)
    assert (row["contact_attempts"], row["last_contact_attempt_at"]) == (
        1, T0 + timedelta(minutes=30))
    assert row["last_contact_at"] is None  # an unreached try is no contact


def test_a_reached_contact_or_any_step_clears_the_marks() -> None:
    for contact in ("reached", "Departed", "AdviceGiven"):
        case = Stream("case")
        last = (case.event("ContactRecorded", channel="sms", reached=True, at_minute=200,
                           personal=personal(uuid4())) if contact == "reached"
                else case.event(contact, at_minute=200, resource_ids=[]))
        row = only(apply(CASE_BOARD, [opened(case), *overdue(case), last]).rows("case_board"))
        assert (row["contact_overdue_since"], row["lost_contact_suspected_at"]) == (None, None)
        assert row["last_contact_at"] == T0 + timedelta(minutes=200)


def test_the_board_keeps_possible_duplicates_until_told_apart_or_merged() -> None:
    case, twin, other = Stream("case"), Stream("case"), Stream("case")
    found = [case.event("PossibleDuplicateFound", other_case_id=str(x.id),
                        matched_on=["phone"]) for x in (twin, other)]

    marked = apply(CASE_BOARD, [opened(case), *found]).rows("case_duplicates")
    after = apply(CASE_BOARD, [
        opened(case), *found,
        case.event("DuplicateToldApart", other_case_id=str(other.id)),
        case.event("CaseMergedInto", survivor_case_id=str(twin.id))])

    assert sorted(r["other_case_id"] for r in marked) == sorted(str(x.id) for x in (twin, other))
    assert after.rows("case_duplicates") == []
    assert only(after.rows("case_board"))["merged_into"] == str(twin.id)


def test_the_workload_knows_which_held_cases_are_overdue_until_contact() -> None:
    case, volunteer = Stream("case"), uuid4()
    taken = case.event("CaseTaken", volunteer_id=str(volunteer))
    history = [opened(case), taken, *overdue(case)]

    marked = only(apply(VOLUNTEER_WORKLOAD, history).rows("workload_cases"))
    cleared = only(apply(VOLUNTEER_WORKLOAD, [*history, case.event("Departed")])
                   .rows("workload_cases"))

    assert marked["contact_overdue"] is True
    assert cleared["contact_overdue"] is False
