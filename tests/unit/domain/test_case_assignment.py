"""Opening, taking, assigning and releasing cases."""

from __future__ import annotations

import pytest
from domain_builders import (
    T0,
    banned,
    fact_checker,
    intake,
    meta,
    names,
    new_event_names,
    new_id,
    open_case,
    supervisor,
    suspended,
    taken_case,
    volunteer,
)

from domain.base import InvalidCommand, PersonalData
from domain.case import Case
from domain.errors import (
    CaseAlreadyTaken,
    CaseClosed,
    CaseNotTaken,
    InvalidIntake,
    NotASupervisor,
    NotCaseAssignee,
    NotPermitted,
    VolunteerBanned,
    VolunteerNotCleared,
    VolunteerSuspended,
)
from domain.journey import JourneyStage
from domain.roles import policy_actor
from domain.vocabulary import CaseOutcome, CaseStatus, Urgency


def test_a_case_opens_from_the_intake_survey() -> None:
    case_id, person_id = new_id(), new_id()
    answers = intake(safe_now=False, adults=2, children_ages=[3, 7], pets=1,
                     needs_medicine=True, health_details="asthma")
    case = Case.open(case_id=case_id, person_id=person_id, intake=answers, meta=meta())
    assert case.id == case_id and case.person_id == person_id
    assert case.urgency is Urgency.CRITICAL
    assert case.status is CaseStatus.UNASSIGNED and case.stage is JourneyStage.WAITING
    assert (case.adults, case.children_ages, case.pets) == (2, [3, 7], 1)
    assert (case.region, case.destination, case.contact_channel) == (
        "Kharkiv oblast", "Lviv", "telegram")
    assert case.personal == answers.personal_data(person_id)
    assert case.opened_at == T0 and case.created_on == T0
    assert names(case.collect_events()) == ["CaseOpened"]


def test_no_personal_answer_is_readable_on_the_case() -> None:
    case = open_case(name="Iryna", contact_handle="@iryna_k")
    readable = {k: v for k, v in vars(case).items() if k != "personal"}
    assert "Iryna" not in repr(readable) and "@iryna_k" not in repr(readable)
    assert "Iryna" not in repr(case)


def test_a_contradictory_survey_opens_no_case() -> None:
    with pytest.raises(InvalidIntake):
        open_case(adults=0)


def test_a_cleared_volunteer_takes_a_case() -> None:
    case, v = open_case(), volunteer()
    assert new_event_names(case, lambda: case.take(volunteer=v, meta=meta())) == ["CaseTaken"]
    assert case.assignee_id == v.id and case.status is CaseStatus.ASSIGNED
    assert case.is_assigned_to(v.id)


def test_untrained_volunteer_cannot_take_a_case() -> None:
    with pytest.raises(VolunteerNotCleared):
        open_case().take(volunteer=volunteer(cleared=False), meta=meta())


def test_suspended_volunteer_cannot_take_a_case() -> None:
    with pytest.raises(VolunteerSuspended):
        open_case().take(volunteer=suspended(volunteer()), meta=meta())


def test_banned_volunteer_cannot_take_a_case() -> None:
    with pytest.raises(VolunteerBanned):
        open_case().take(volunteer=banned(volunteer()), meta=meta())


def test_a_case_taken_by_someone_else_cannot_be_taken() -> None:
    case, _ = taken_case()
    with pytest.raises(CaseAlreadyTaken):
        case.take(volunteer=volunteer(), meta=meta())


def test_a_closed_case_cannot_be_taken() -> None:
    case, holder = taken_case()
    case.close(outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())
    with pytest.raises(CaseClosed):
        case.take(volunteer=volunteer(), meta=meta())


def test_a_supervisor_assigns_and_reassigns() -> None:
    case, first, second, boss = open_case(), volunteer(), volunteer(), supervisor()
    case.assign(volunteer=first, by=boss, meta=meta())
    case.assign(volunteer=second, by=boss, meta=meta())
    assigned = [e for e in case.collect_events() if type(e).__name__ == "CaseAssigned"]
    assert [(e.volunteer_id, e.previous_volunteer_id) for e in assigned] == [
        (first.id, None), (second.id, first.id)]
    assert case.assignee_id == second.id


def test_only_supervisors_assign() -> None:
    with pytest.raises(NotASupervisor):
        open_case().assign(volunteer=volunteer(), by=fact_checker(), meta=meta())


def test_an_untrained_volunteer_cannot_be_assigned() -> None:
    with pytest.raises(VolunteerNotCleared):
        open_case().assign(volunteer=volunteer(cleared=False), by=supervisor(), meta=meta())


def test_a_suspended_volunteer_cannot_be_assigned() -> None:
    with pytest.raises(VolunteerSuspended):
        open_case().assign(volunteer=suspended(volunteer()), by=supervisor(), meta=meta())


def test_assigning_the_current_assignee_again_is_rejected() -> None:
    case, holder = taken_case()
    with pytest.raises(CaseAlreadyTaken):
        case.assign(volunteer=holder, by=supervisor(), meta=meta())


def test_the_assignee_releases_with_a_reason() -> None:
    case, holder = taken_case()
    case.release(reason="going off shift", by=holder, meta=meta())
    assert case.assignee_id is None and case.status is CaseStatus.UNASSIGNED
    released = case.collect_events()[-1]
    assert type(released).__name__ == "CaseReleased"
    assert released.volunteer_id == holder.id
    assert released.personal == PersonalData.of(case.person_id, reason="going off shift")


def test_a_supervisor_may_release_someone_elses_case() -> None:
    case, _ = taken_case()
    case.release(reason="rebalancing", by=supervisor(), meta=meta())
    assert case.assignee_id is None


def test_a_stranger_cannot_release_a_case() -> None:
    case, _ = taken_case()
    with pytest.raises(NotCaseAssignee):
        case.release(reason="mine now", by=volunteer(), meta=meta())


def test_an_unassigned_case_cannot_be_released() -> None:
    with pytest.raises(CaseNotTaken):
        open_case().release(reason="?", by=supervisor(), meta=meta())


def test_a_policy_releases_without_an_acting_volunteer_but_nobody_else_may() -> None:
    case, _ = taken_case()
    with pytest.raises(NotPermitted):
        case.release(reason="volunteer banned", by=None, meta=meta(actor="volunteer:x"))
    case.release(reason="volunteer banned", by=None,
                 meta=meta(actor=policy_actor("volunteer_ban")))
    assert case.assignee_id is None


def test_the_person_id_is_the_subject_of_the_personal_data() -> None:
    case = open_case()
    assert isinstance(case.personal, PersonalData)
    assert case.personal.subject_id == case.person_id


def test_an_event_time_is_the_commands_business_time() -> None:
    case, v = open_case(), volunteer()
    case.take(volunteer=v, meta=meta(T0.replace(hour=11)))
    assert case.modified_on == T0.replace(hour=11) == case.assigned_at


def test_case_ids_come_in_as_arguments() -> None:
    with pytest.raises(NotImplementedError):
        Case.create_id()
    with pytest.raises(InvalidCommand):
        Case.open(case_id=new_id(), person_id=new_id(), intake=intake(),
                  meta=meta(T0.replace(tzinfo=None)))
