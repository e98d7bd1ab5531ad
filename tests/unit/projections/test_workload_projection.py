"""The workload projection: standing, training, shifts, activity and cases held."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from projection_events import T0, Stream, apply, only, opened

from projections.catalog import VOLUNTEER_WORKLOAD
from projections.records import EventRecord
from projections.workload import project


def registered(volunteer: Stream) -> list[EventRecord]:
    return [volunteer.event("VolunteerRegistered", actor=str(volunteer.id),
                            personal={"subject_id": str(volunteer.id), "sealed": True},
                            languages=["uk", "en"], time_zone="Europe/Kyiv",
                            roles=["volunteer"])]


def test_registration_training_and_clearance_fill_the_volunteer_row() -> None:
    volunteer = Stream("volunteer")
    records = [*registered(volunteer),
               volunteer.event("TrainingLogged", minutes=180, topic="safety"),
               volunteer.event("TrainingLogged", minutes=150, topic="routes"),
               volunteer.event("VolunteerCleared", training_minutes=330)]

    row = only(apply(VOLUNTEER_WORKLOAD, records).rows("volunteer_workload"))

    assert (row["training_minutes"], row["cleared"], row["standing"]) == (330, True, "active")
    assert (row["time_zone"], row["languages"]) == ("Europe/Kyiv", "uk,en")


def test_roles_are_granted_and_revoked() -> None:
    volunteer = Stream("volunteer")
    records = [*registered(volunteer), volunteer.event("RoleGranted", role="supervisor"),
               volunteer.event("RoleGranted", role="fact_checker"),
               volunteer.event("RoleRevoked", role="volunteer")]

    roles = apply(VOLUNTEER_WORKLOAD, records).rows("volunteer_roles")

    assert sorted(r["role"] for r in roles) == ["fact_checker", "supervisor"]


def test_a_shift_is_stored_as_an_interval_closed_by_its_end() -> None:
    volunteer = Stream("volunteer")
    records = [*registered(volunteer), volunteer.event("ShiftStarted", at_minute=60),
               volunteer.event("ShiftEnded", at_minute=300),
               volunteer.event("ShiftStarted", at_minute=600)]

    tables = apply(VOLUNTEER_WORKLOAD, records)

    shifts = tables.rows("volunteer_shifts")
    assert [(s["started_at"], s["ended_at"]) for s in shifts] == [
        (T0 + timedelta(minutes=60), T0 + timedelta(minutes=300)),
        (T0 + timedelta(minutes=600), None)]
    assert only(tables.rows("volunteer_workload"))["on_shift_since"] == T0 + timedelta(
        minutes=600)


def test_suspension_ban_and_reinstatement_set_the_standing() -> None:
    volunteer = Stream("volunteer")
    records = [*registered(volunteer), volunteer.event("VolunteerBanned", reason="threats")]
    row = only(apply(VOLUNTEER_WORKLOAD, records).rows("volunteer_workload"))
    assert (row["standing"], row["standing_reason"]) == ("banned", "threats")

    records.append(volunteer.event("VolunteerReinstated", reason="appeal"))
    row = only(apply(VOLUNTEER_WORKLOAD, records).rows("volunteer_workload"))
    assert (row["standing"], row["standing_reason"]) == ("active", None)


def test_cases_held_follow_take_assign_release_close_and_reopen() -> None:
    case, first, second = Stream("case"), str(uuid4()), str(uuid4())
    records = [opened(case, urgency="critical"), case.event("CaseTaken", volunteer_id=first),
               case.event("CaseAssigned", volunteer_id=second, previous_volunteer_id=first)]
    row = only(apply(VOLUNTEER_WORKLOAD, records).rows("workload_cases"))
    assert (row["assignee_id"], row["urgency"], row["status"]) == (second, "critical",
                                                                   "assigned")

    records.append(case.event("CaseClosed", outcome="evacuated"))
    assert only(apply(VOLUNTEER_WORKLOAD, records).rows("workload_cases"))["status"] == "closed"

    records.append(case.event("CaseReopened", reason="again", assignee_id=second))
    row = only(apply(VOLUNTEER_WORKLOAD, records).rows("workload_cases"))
    assert (row["assignee_id"], row["status"]) == (second, "assigned")


def test_last_activity_is_the_latest_event_a_volunteer_caused_in_any_order() -> None:
    volunteer, case = Stream("volunteer"), Stream("case")
    actor = str(volunteer.id)
    late = case.event("AdviceGiven", actor=actor, text="go", resource_ids=[], at_minute=90)
    early = case.event("Departed", actor=actor, at_minute=30)

    tables = apply(VOLUNTEER_WORKLOAD, [*registered(volunteer), late, early])

    assert only(tables.rows("volunteer_workload"))["last_activity_at"] == T0 + timedelta(
        minutes=90)


def test_services_and_policies_are_not_volunteers() -> None:
    case = Stream("case")

    assert [c for c in project(case.event("Departed", actor="policy:resource_recall"))
            if c.table == "volunteer_workload"] == []
    assert project(opened(case)) != [] and all(
        c.table == "workload_cases" for c in project(opened(Stream("case"))))
