"""Volunteers: registration, roles, training clearance, shifts and standing."""

from __future__ import annotations

import pytest
from domain_builders import (
    OPERATOR,
    admin,
    banned,
    later,
    meta,
    names,
    new_event_names,
    new_id,
    supervisor,
    suspended,
    volunteer,
)

from domain.base import InvalidCommand, PersonalData
from domain.errors import (
    CannotSanctionSelf,
    NotAnAdmin,
    NotASupervisor,
    NothingToErase,
    RoleAlreadyHeld,
    RoleNotHeld,
    ShiftAlreadyStarted,
    ShiftNotStarted,
    VolunteerBanned,
    VolunteerNotCleared,
    VolunteerNotSanctioned,
    VolunteerSuspended,
)
from domain.roles import Role
from domain.vocabulary import Standing
from domain.volunteer import Volunteer


def test_registering_keeps_the_display_name_personal() -> None:
    volunteer_id = new_id()
    v = Volunteer.register(volunteer_id=volunteer_id, display_name="Olena", contact="@olena",
                           languages=["uk", "pl"], time_zone="Europe/Warsaw", by=OPERATOR,
                           meta=meta())
    assert v.id == volunteer_id
    assert v.personal == PersonalData.of(volunteer_id, display_name="Olena", contact="@olena")
    assert (v.languages, v.time_zone, v.roles) == (["uk", "pl"], "Europe/Warsaw",
                                                   frozenset({Role.VOLUNTEER}))
    assert v.standing is Standing.ACTIVE and not v.cleared
    assert names(v.collect_events()) == ["VolunteerRegistered"]
    assert v.created_on == meta().at


def test_a_volunteer_needs_a_display_name_and_time_zone() -> None:
    with pytest.raises(InvalidCommand):
        Volunteer.register(volunteer_id=new_id(), display_name=" ", languages=[],
                           time_zone="UTC", by=OPERATOR, meta=meta())


def test_an_admin_grants_and_revokes_roles() -> None:
    v, boss = volunteer(), admin()
    assert new_event_names(v, lambda: v.grant_role(role=Role.FACT_CHECKER, by=boss,
                                                   meta=meta())) == ["RoleGranted"]
    assert v.has_role(Role.FACT_CHECKER)
    assert new_event_names(v, lambda: v.revoke_role(role=Role.FACT_CHECKER, by=boss,
                                                    meta=meta())) == ["RoleRevoked"]
    assert not v.has_role(Role.FACT_CHECKER)


def test_only_admins_grant_roles() -> None:
    v = volunteer()
    with pytest.raises(NotAnAdmin):
        v.grant_role(role=Role.SUPERVISOR, by=supervisor(), meta=meta())
    with pytest.raises(NotAnAdmin):
        v.revoke_role(role=Role.VOLUNTEER, by=v, meta=meta())


def test_a_role_cannot_be_granted_twice_or_revoked_when_not_held() -> None:
    v, boss = volunteer(), admin()
    with pytest.raises(RoleAlreadyHeld):
        v.grant_role(role=Role.VOLUNTEER, by=boss, meta=meta())
    with pytest.raises(RoleNotHeld):
        v.revoke_role(role=Role.AUDITOR, by=boss, meta=meta())


def test_a_suspended_admin_cannot_grant_roles() -> None:
    boss = suspended(admin())
    with pytest.raises(VolunteerSuspended):
        volunteer().grant_role(role=Role.AUDITOR, by=boss, meta=meta())


def test_training_under_five_hours_does_not_clear() -> None:
    v = volunteer(cleared=False)
    v.log_training(minutes=299, topic="safety", by=OPERATOR, meta=meta())
    assert not v.cleared and v.training_minutes == 299
    with pytest.raises(VolunteerNotCleared):
        v.ensure_cleared_for_casework()


def test_crossing_five_hours_of_training_clears_for_casework_once() -> None:
    v = volunteer(cleared=False)
    v.log_training(minutes=180, topic="intake", by=OPERATOR, meta=meta())
    crossing = new_event_names(v, lambda: v.log_training(minutes=120, topic="routes",
                                                         by=OPERATOR, meta=meta()))
    after = new_event_names(v, lambda: v.log_training(minutes=60, topic="trauma",
                                                      by=OPERATOR, meta=meta()))
    assert crossing == ["TrainingLogged", "VolunteerCleared"]
    assert after == ["TrainingLogged"]
    assert v.cleared and v.training_minutes == 360
    v.ensure_cleared_for_casework()


@pytest.mark.parametrize(("minutes", "topic"), [(0, "x"), (-5, "x"), (1441, "x"), (30, " ")])
def test_a_training_session_needs_a_topic_and_a_sensible_length(minutes: int,
                                                                  topic: str) -> None:
    with pytest.raises(InvalidCommand):
        volunteer().log_training(minutes=minutes, topic=topic, by=OPERATOR, meta=meta())


def test_a_shift_starts_and_ends() -> None:
    v = volunteer()
    v.start_shift(meta=meta(later(hours=1)))
    assert v.on_shift and v.on_shift_since == later(hours=1)
    v.end_shift(meta=meta(later(hours=5)))
    assert not v.on_shift
    assert v.shifts == [{"started_at": later(hours=1), "ended_at": later(hours=5)}]
    assert names(v.collect_events())[-2:] == ["ShiftStarted", "ShiftEnded"]


def test_a_shift_cannot_start_twice() -> None:
    v = volunteer()
    v.start_shift(meta=meta())
    with pytest.raises(ShiftAlreadyStarted):
        v.start_shift(meta=meta(later(hours=1)))


def test_a_shift_cannot_end_when_not_started() -> None:
    with pytest.raises(ShiftNotStarted):
        volunteer().end_shift(meta=meta())


def test_a_shift_cannot_end_before_it_started() -> None:
    v = volunteer()
    v.start_shift(meta=meta(later(hours=2)))
    with pytest.raises(InvalidCommand):
        v.end_shift(meta=meta(later(hours=1)))


def test_a_suspended_volunteer_cannot_start_a_shift() -> None:
    with pytest.raises(VolunteerSuspended):
        suspended(volunteer()).start_shift(meta=meta())


def test_a_supervisor_suspends_and_reinstates() -> None:
    v, boss = volunteer(), supervisor()
    v.suspend(reason="complaint", by=boss, meta=meta())
    assert v.standing is Standing.SUSPENDED and v.sanction_reason == "complaint"
    v.reinstate(reason="cleared up", by=boss, meta=meta())
    assert v.standing is Standing.ACTIVE and v.sanction_reason is None
    assert names(v.collect_events())[-2:] == ["VolunteerSuspended", "VolunteerReinstated"]


def test_only_supervisors_ban() -> None:
    with pytest.raises(NotASupervisor):
        volunteer().ban(reason="abuse", by=volunteer(), meta=meta())


def test_a_banned_supervisor_cannot_ban() -> None:
    boss = banned(supervisor())
    with pytest.raises(VolunteerBanned):
        volunteer().ban(reason="abuse", by=boss, meta=meta())


def test_a_supervisor_cannot_sanction_themselves() -> None:
    boss = supervisor()
    with pytest.raises(CannotSanctionSelf):
        boss.suspend(reason="tired", by=boss, meta=meta())


def test_a_suspended_volunteer_can_be_banned_but_not_suspended_again() -> None:
    v = suspended(volunteer())
    with pytest.raises(VolunteerSuspended):
        v.suspend(reason="again", by=supervisor(), meta=meta())
    v.ban(reason="threats", by=supervisor(), meta=meta())
    assert v.standing is Standing.BANNED


def test_a_banned_volunteer_cannot_be_banned_again() -> None:
    v = banned(volunteer())
    with pytest.raises(VolunteerBanned):
        v.ban(reason="again", by=supervisor(), meta=meta())


def test_only_a_sanctioned_volunteer_can_be_reinstated() -> None:
    with pytest.raises(VolunteerNotSanctioned):
        volunteer().reinstate(reason="?", by=supervisor(), meta=meta())


def test_erasing_a_volunteers_personal_data_keeps_the_rest() -> None:
    v = volunteer()
    v.erase_personal_data(by=OPERATOR, meta=meta())
    assert v.personal == PersonalData.erased_for(v.id)
    assert v.cleared and v.roles == frozenset({Role.VOLUNTEER})
    with pytest.raises(NothingToErase):
        v.erase_personal_data(by=OPERATOR, meta=meta())
