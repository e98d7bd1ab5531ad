"""The case board projection, event by event, applied to in-memory tables."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import orjson
import pytest
from projection_events import T0, Stream, apply, only, opened

from domain.journey import EVENT_OF, Step, stage_after
from projections.case_board import project
from projections.catalog import CASE_BOARD
from projections.changes import Delete, Increment, Insert, Upsert


def test_an_opened_case_shows_readable_answers_and_no_personal_data() -> None:
    case = Stream("case")
    record = opened(case, urgency="critical", name="Olena K.", exact_location="street 5")

    row = only(apply(CASE_BOARD, [record]).rows("case_board"))

    assert row["status"] == "unassigned"
    assert (row["urgency"], row["urgency_rank"]) == ("critical", 0)
    assert (row["region"], row["children"], row["languages"]) == ("kharkiv", 2, "uk,ru")
    assert row["medical_needs"] is True and row["needs_food"] is False
    assert row["opened_at"] == T0 and row["last_contact_at"] is None
    text = orjson.dumps(row, default=str).decode()
    assert "Olena" not in text and "street 5" not in text and "sealed" not in text


def test_taking_assigning_and_releasing_move_the_assignee() -> None:
    case, first, second = Stream("case"), str(uuid4()), str(uuid4())
    records = [opened(case),
               case.event("CaseTaken", volunteer_id=first, at_minute=5),
               case.event("CaseAssigned", volunteer_id=second, previous_volunteer_id=first,
                          at_minute=9)]

    row = only(apply(CASE_BOARD, records).rows("case_board"))
    assert (row["status"], row["assignee_id"]) == ("assigned", second)
    assert row["assigned_at"] == T0 + timedelta(minutes=9)

    released = case.event("CaseReleased", volunteer_id=second, reason="off shift")
    row = only(apply(CASE_BOARD, [*records, released]).rows("case_board"))
    assert (row["status"], row["assignee_id"], row["assigned_at"]) == ("unassigned", None, None)


def test_advice_relies_on_resources_and_counts_as_contact() -> None:
    case, shelter, bus = Stream("case"), str(uuid4()), str(uuid4())
    advice = case.event("AdviceGiven", text="stay put", resource_ids=[shelter, bus], at_minute=30)
    again = case.event("TransportArranged", description="bus", resource_ids=[bus], at_minute=40)

    tables = apply(CASE_BOARD, [opened(case), advice, again])

    row = only(tables.rows("case_board"))
    assert row["last_contact_at"] == T0 + timedelta(minutes=40)
    relied = {r["resource_id"]: r for r in tables.rows("case_resources")}
    assert set(relied) == {shelter, bus}
    assert relied[bus]["since"] == T0 + timedelta(minutes=30), "the first reliance is kept"


def test_journey_steps_move_the_stage_and_count_borders() -> None:
    case = Stream("case")
    records = [opened(case), case.event("Departed", at_minute=1),
               case.event("BorderCrossed", crossing="shehyni", at_minute=2),
               case.event("Stuck", place="km 5", reason="queue", at_minute=3)]

    row = only(apply(CASE_BOARD, records).rows("case_board"))

    assert (row["stage"], row["last_step"], row["borders_crossed"]) == ("stuck", "Stuck", 1)
    assert row["last_contact_at"] == row["last_step_at"] == T0 + timedelta(minutes=3)


def test_arranged_transport_is_the_last_step_while_the_person_still_waits() -> None:
    case, bus = Stream("case"), str(uuid4())
    records = [opened(case), case.event("AdviceGiven", text="pack", resource_ids=[], at_minute=5),
               case.event("TransportArranged", description="bus", resource_ids=[bus],
                          at_minute=10)]

    row = only(apply(CASE_BOARD, records).rows("case_board"))

    assert (row["stage"], row["last_step"]) == ("waiting", "TransportArranged")
    assert row["last_step_at"] == row["last_contact_at"] == T0 + timedelta(minutes=10)
    departed = case.event("Departed", at_minute=30)
    row = only(apply(CASE_BOARD, [*records, departed]).rows("case_board"))
    assert (row["stage"], row["last_step"]) == ("en_route", "Departed")


def test_advice_is_contact_but_not_a_step() -> None:
    case = Stream("case")
    records = [opened(case), case.event("Departed", at_minute=1),
               case.event("AdviceGiven", text="stay put", resource_ids=[], at_minute=7)]

    row = only(apply(CASE_BOARD, records).rows("case_board"))

    assert (row["last_step"], row["last_step_at"]) == ("Departed", T0 + timedelta(minutes=1))
    assert row["last_contact_at"] == T0 + timedelta(minutes=7)


@pytest.mark.parametrize("step", list(Step))
def test_the_board_stage_after_a_step_is_the_aggregates(step: Step) -> None:
    case = Stream("case")
    records = [opened(case), case.event(EVENT_OF[step], at_minute=1)]

    row = only(apply(CASE_BOARD, records).rows("case_board"))

    assert (row["stage"], row["last_step"]) == (stage_after(step).value, EVENT_OF[step])


def test_flags_are_listed_and_counted_until_cleared() -> None:
    case, resource = Stream("case"), str(uuid4())
    first, second = str(uuid4()), str(uuid4())
    records = [opened(case),
               case.event("CaseFlagged", flag_id=first, reason="resource_unsafe",
                          detail="shelled", resource_id=resource, actor="policy:recall"),
               case.event("CaseFlagged", flag_id=second, reason="no answer", detail="",
                          resource_id=None)]

    tables = apply(CASE_BOARD, records)
    assert only(tables.rows("case_board"))["flags_active"] == 2
    assert {f["reason"] for f in tables.rows("case_flags")} == {"resource_unsafe", "no answer"}

    cleared = case.event("FlagCleared", flag_id=first, reason="route safe again")
    tables = apply(CASE_BOARD, [*records, cleared])
    assert only(tables.rows("case_board"))["flags_active"] == 1
    assert only(tables.rows("case_flags"))["flag_id"] == second


def test_a_flag_is_an_insert_and_an_increment_without_reading_anything() -> None:
    case = Stream("case")
    changes = project(case.event("CaseFlagged", flag_id=str(uuid4()), reason="x", detail="",
                                 resource_id=None))

    assert [type(c) for c in changes] == [Upsert, Insert, Increment]


def test_closing_forgets_relied_on_resources_and_reopening_clears_the_outcome() -> None:
    case, volunteer = Stream("case"), str(uuid4())
    records = [opened(case), case.event("CaseTaken", volunteer_id=volunteer),
               case.event("AdviceGiven", text="go", resource_ids=[str(uuid4())]),
               case.event("CaseClosed", outcome="lost_contact")]
    tables = apply(CASE_BOARD, records)
    assert only(tables.rows("case_board"))["outcome"] == "lost_contact"
    assert tables.rows("case_resources") == []
    assert any(isinstance(c, Delete) for c in project(records[-1]))

    reopened = case.event("CaseReopened", reason="called back", assignee_id=volunteer)
    row = only(apply(CASE_BOARD, [*records, reopened]).rows("case_board"))
    assert (row["status"], row["assignee_id"], row["outcome"]) == ("assigned", volunteer, None)


def test_a_case_reopened_by_someone_else_is_unassigned() -> None:
    case = Stream("case")
    records = [opened(case), case.event("CaseTaken", volunteer_id=str(uuid4())),
               case.event("CaseClosed", outcome="stays"),
               case.event("CaseReopened", reason="new request", assignee_id=None)]

    row = only(apply(CASE_BOARD, records).rows("case_board"))

    assert (row["status"], row["assignee_id"]) == ("unassigned", None)


def test_support_group_members_are_counted_and_dissolving_resets() -> None:
    case, psychologist = Stream("case"), str(uuid4())
    records = [opened(case),
               case.event("SupportGroupFormed", psychologist_id=psychologist,
                          member_ids=[str(uuid4())]),
               case.event("SupportGroupMemberAdded", member_id=str(uuid4()))]
    row = only(apply(CASE_BOARD, records).rows("case_board"))
    assert (row["psychologist_id"], row["support_members"]) == (psychologist, 2)

    dissolved = case.event("SupportGroupDissolved", reason="moving on")
    row = only(apply(CASE_BOARD, [*records, dissolved]).rows("case_board"))
    assert (row["psychologist_id"], row["support_members"]) == (None, 0)


def test_every_case_event_stamps_version_and_position() -> None:
    case = Stream("case")
    records = [opened(case), case.event("NoteAdded", note={"subject_id": "x", "sealed": True})]

    row = only(apply(CASE_BOARD, records).rows("case_board"))

    assert (row["version"], row["position"], row["notes"]) == (2, records[-1].position, 1)


def test_the_board_keeps_its_own_copy_of_each_resources_condition() -> None:
    resource = Stream("resource")
    expires = (T0 + timedelta(hours=6)).isoformat()
    records = [resource.event("ResourceReported", kind="shelter", region="lviv", place="school",
                              details="", capacity=30, contact=None,
                              reported_by=str(uuid4())),
               resource.event("ResourceVerified", verified_by=str(uuid4()), expires_at=expires),
               resource.event("ResourceMarkedUnsafe", reason="shelling")]

    row = only(apply(CASE_BOARD, records).rows("board_resources"))

    assert (row["status"], row["verification"], row["reason"]) == ("unsafe", "verified",
                                                                    "shelling")
    assert row["expires_at"] == T0 + timedelta(hours=6)
    rejected = resource.event("ResourceRejected", rejected_by=str(uuid4()), reason="fake")
    row = only(apply(CASE_BOARD, [*records, rejected]).rows("board_resources"))
    assert (row["verification"], row["expires_at"]) == ("rejected", None)


def test_volunteer_events_do_not_touch_the_board() -> None:
    volunteer = Stream("volunteer")

    assert project(volunteer.event("ShiftStarted")) == []
