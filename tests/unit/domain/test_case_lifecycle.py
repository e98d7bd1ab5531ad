"""Notes, flags, support groups, closing, reopening, follow-up and erasure."""

from __future__ import annotations

import pytest
from domain_builders import (
    OPERATOR,
    meta,
    names,
    new_event_names,
    new_id,
    open_case,
    supervisor,
    taken_case,
    verified,
    volunteer,
)

from domain.base import PersonalData
from domain.case import Case
from domain.errors import (
    AlreadyInSupportGroup,
    CaseClosed,
    CaseNotClosed,
    FlagAlreadyRaised,
    FlagNotRaised,
    NoSupportGroup,
    NotAPsychologist,
    NotCaseAssignee,
    NothingToErase,
    NotPermitted,
    OutcomeContradictsJourney,
    StepOutOfOrder,
    SupportGroupAlreadyFormed,
    VolunteerNotCleared,
)
from domain.roles import Role, policy_actor
from domain.vocabulary import CaseOutcome, CaseStatus
from domain.volunteer import Volunteer

RECALL = policy_actor("resource_recall")


def arrived_case() -> tuple[Case, Volunteer]:
    case, holder = taken_case()
    case.record_departure(by=holder, meta=meta())
    case.record_arrival(place="Vienna", by=holder, meta=meta())
    return case, holder


def psychologist() -> Volunteer:
    return volunteer(Role.PSYCHOLOGIST)


def test_a_note_about_the_person_is_personal_data() -> None:
    case, holder = taken_case()
    case.add_note(text="her son is in the army, she won't leave without news", by=holder,
                  meta=meta())
    assert case.notes == [PersonalData.of(case.person_id,
                                          text="her son is in the army, she won't leave "
                                               "without news")]
    assert names(case.collect_events())[-1] == "NoteAdded"


def test_a_support_group_member_may_add_notes_but_a_stranger_may_not() -> None:
    case, holder = taken_case()
    member = volunteer()
    case.form_support_group(psychologist=psychologist(), members=[member], by=holder,
                            meta=meta())
    case.add_note(text="calmer today", by=member, meta=meta())
    with pytest.raises(NotCaseAssignee):
        case.add_note(text="?", by=volunteer(), meta=meta())


def test_a_flag_is_raised_and_cleared_with_a_reason() -> None:
    case, holder = taken_case()
    shelter, flag_id = verified(), new_id()
    case.flag(flag_id=flag_id, reason="resource_unsafe", detail="shelled", by=None,
              resource_id=shelter.id, meta=meta(actor=RECALL))
    assert case.flags[0]["flag_id"] == flag_id
    assert case.flags[0]["resource_id"] == shelter.id
    assert new_event_names(case, lambda: case.clear_flag(
        flag_id=flag_id, reason="found another shelter", by=holder, meta=meta())) == [
        "FlagCleared"]
    assert case.flags == []


def test_the_same_flag_cannot_be_raised_twice() -> None:
    case, holder = taken_case()
    flag_id = new_id()
    case.flag(flag_id=flag_id, reason="worried", by=holder, meta=meta())
    with pytest.raises(FlagAlreadyRaised):
        case.flag(flag_id=flag_id, reason="worried", by=holder, meta=meta())


def test_a_flag_not_raised_cannot_be_cleared() -> None:
    case, holder = taken_case()
    with pytest.raises(FlagNotRaised):
        case.clear_flag(flag_id=new_id(), reason="?", by=holder, meta=meta())


def test_only_a_policy_flags_without_an_acting_volunteer() -> None:
    case, _ = taken_case()
    with pytest.raises(NotPermitted):
        case.flag(flag_id=new_id(), reason="x", by=None, meta=meta(actor="intake:bot"))
    with pytest.raises(NotCaseAssignee):
        case.flag(flag_id=new_id(), reason="x", by=volunteer(), meta=meta())


def test_a_closed_case_is_not_flagged() -> None:
    case, holder = taken_case()
    case.close(outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())
    with pytest.raises(CaseClosed):
        case.flag(flag_id=new_id(), reason="resource_unsafe", by=None,
                  meta=meta(actor=RECALL))


def test_a_support_group_is_formed_grown_and_dissolved() -> None:
    case, holder = taken_case()
    psy, first, second = psychologist(), volunteer(), volunteer()
    case.form_support_group(psychologist=psy, members=[first, first, psy], by=holder,
                            meta=meta())
    assert case.psychologist_id == psy.id and case.support_member_ids == [first.id]
    case.add_support_member(member=second, by=holder, meta=meta())
    assert case.support_member_ids == [first.id, second.id]
    case.dissolve_support_group(reason="person settled", by=holder, meta=meta())
    assert not case.has_support_group and case.support_member_ids == []
    assert names(case.collect_events())[-3:] == [
        "SupportGroupFormed", "SupportGroupMemberAdded", "SupportGroupDissolved"]


def test_a_support_group_needs_a_psychologist() -> None:
    case, holder = taken_case()
    with pytest.raises(NotAPsychologist):
        case.form_support_group(psychologist=volunteer(), members=[], by=holder, meta=meta())


def test_support_group_members_must_be_cleared() -> None:
    case, holder = taken_case()
    with pytest.raises(VolunteerNotCleared):
        case.form_support_group(psychologist=psychologist(),
                                members=[volunteer(cleared=False)], by=holder, meta=meta())


def test_a_case_has_at_most_one_support_group() -> None:
    case, holder = taken_case()
    case.form_support_group(psychologist=psychologist(), members=[], by=holder, meta=meta())
    with pytest.raises(SupportGroupAlreadyFormed):
        case.form_support_group(psychologist=psychologist(), members=[], by=holder,
                                meta=meta())


def test_members_join_only_an_existing_group_and_only_once() -> None:
    case, holder = taken_case()
    member = volunteer()
    with pytest.raises(NoSupportGroup):
        case.add_support_member(member=member, by=holder, meta=meta())
    with pytest.raises(NoSupportGroup):
        case.dissolve_support_group(reason="?", by=holder, meta=meta())
    case.form_support_group(psychologist=psychologist(), members=[member], by=holder,
                            meta=meta())
    with pytest.raises(AlreadyInSupportGroup):
        case.add_support_member(member=member, by=holder, meta=meta())


def test_a_case_closes_with_an_outcome() -> None:
    case, holder = arrived_case()
    case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())
    assert case.status is CaseStatus.CLOSED and case.outcome is CaseOutcome.EVACUATED
    assert case.closed_at is not None and not case.is_active
    assert names(case.collect_events())[-1] == "CaseClosed"


def test_evacuated_needs_an_arrival() -> None:
    case, holder = taken_case()
    with pytest.raises(OutcomeContradictsJourney):
        case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())


def test_someone_who_arrived_does_not_stay() -> None:
    case, holder = arrived_case()
    with pytest.raises(OutcomeContradictsJourney):
        case.close(outcome=CaseOutcome.STAYS, by=holder, meta=meta())


def test_someone_who_cannot_leave_stays() -> None:
    case, holder = taken_case()
    case.record_cannot_leave(reason="caring for parents", by=holder, meta=meta())
    case.close(outcome=CaseOutcome.STAYS, by=holder, meta=meta())
    assert case.outcome is CaseOutcome.STAYS


def test_a_closed_case_cannot_be_closed_again() -> None:
    case, holder = taken_case()
    case.close(outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())
    with pytest.raises(CaseClosed):
        case.close(outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())


def test_the_assignee_reopens_and_keeps_the_case() -> None:
    case, holder = taken_case()
    case.close(outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())
    case.reopen(reason="she wrote again", by=holder, meta=meta())
    assert case.status is CaseStatus.ASSIGNED and case.assignee_id == holder.id
    assert case.outcome is None and case.closed_at is None
    assert names(case.collect_events())[-1] == "CaseReopened"


def test_a_case_reopened_by_a_supervisor_goes_back_to_the_board() -> None:
    case, holder = taken_case()
    case.close(outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())
    case.reopen(reason="new request", by=supervisor(), meta=meta())
    assert case.status is CaseStatus.UNASSIGNED and case.assignee_id is None


def test_an_open_case_cannot_be_reopened() -> None:
    with pytest.raises(CaseNotClosed):
        open_case().reopen(reason="?", by=supervisor(), meta=meta())


def test_a_stranger_cannot_reopen() -> None:
    case, holder = taken_case()
    case.close(outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())
    with pytest.raises(NotCaseAssignee):
        case.reopen(reason="?", by=volunteer(), meta=meta())


def test_follow_up_after_arrival_even_when_closed() -> None:
    case, holder = arrived_case()
    case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())
    case.record_follow_up(text="found a flat and a school", by=holder, meta=meta())
    assert case.follow_ups == [PersonalData.of(case.person_id,
                                               text="found a flat and a school")]
    assert names(case.collect_events())[-1] == "FollowUpRecorded"


def test_follow_up_before_arrival_is_out_of_order() -> None:
    case, holder = taken_case()
    with pytest.raises(StepOutOfOrder):
        case.record_follow_up(text="?", by=holder, meta=meta())


def test_erasure_replaces_every_personal_data_and_keeps_the_history() -> None:
    case, holder = arrived_case()
    case.add_note(text="diabetic", by=holder, meta=meta())
    case.record_follow_up(text="ok", by=holder, meta=meta())
    case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())
    case.erase_personal_data(subject_id=case.person_id, by=OPERATOR, meta=meta())
    gone = PersonalData.erased_for(case.person_id)
    assert case.personal == gone and case.notes == [gone] and case.follow_ups == [gone]
    assert case.outcome is CaseOutcome.EVACUATED and case.region == "Kharkiv oblast"
    assert names(case.collect_events())[-1] == "PersonalDataErased"


def test_nothing_left_to_erase_is_rejected() -> None:
    case = open_case()
    with pytest.raises(NothingToErase):
        case.erase_personal_data(subject_id=new_id(), by=OPERATOR, meta=meta())
    case.erase_personal_data(subject_id=case.person_id, by=OPERATOR, meta=meta())
    with pytest.raises(NothingToErase):
        case.erase_personal_data(subject_id=case.person_id, by=OPERATOR, meta=meta())
