"""Nobody gives, takes or decides for another person beyond their own rights: registering
with roles, logging training, sanctioning, erasing, granting audit access (issue 20,
item 2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domain_builders import (
    admin,
    banned,
    fact_checker,
    meta,
    new_id,
    supervisor,
    suspended,
    taken_case,
    volunteer,
)

from domain.access import AccessLog
from domain.base import CoordinationError
from domain.errors import (
    CannotCertifyOwnTraining,
    CannotGrantRole,
    CannotSanctionAdmin,
    NotAnAdmin,
    NotASupervisor,
    VolunteerBanned,
    VolunteerSuspended,
)
from domain.resource import Resource
from domain.roles import Authority, Role
from domain.vocabulary import ResourceKind, Standing
from domain.volunteer import Volunteer

GRANTED_ROLES = [r for r in Role if r is not Role.VOLUNTEER]


def credential(*roles: Role, actor: str = "someone") -> Authority:
    """A credential naming no registered volunteer (an operator's, a service's)."""
    return Authority(actor=actor, roles=frozenset(roles))


def register(by: Authority, *roles: Role) -> Volunteer:
    return Volunteer.register(volunteer_id=new_id(), display_name="Taras", languages=["uk"],
                              time_zone="Europe/Kyiv", roles=roles or (Role.VOLUNTEER,),
                              by=by, meta=meta())


# --- registering with roles ----------------------------------------------------------------


def test_a_supervisor_cannot_register_an_admin_and_is_told_the_rule() -> None:
    boss = supervisor()

    with pytest.raises(CannotGrantRole) as refused:
        register(boss.authority(["supervisor", "volunteer"]), Role.ADMIN, Role.VOLUNTEER)

    message = str(refused.value)
    assert "only someone who may grant a role may register someone with it" in message
    assert "admin" in message and str(boss.id) in message
    assert refused.value.http_status == 403


@pytest.mark.parametrize("role", GRANTED_ROLES, ids=lambda r: r.value)
def test_a_supervisor_registers_nobody_with_a_role_only_an_admin_grants(role: Role) -> None:
    with pytest.raises(CannotGrantRole):
        register(supervisor().authority(None), Role.VOLUNTEER, role)


def test_a_supervisor_registers_a_volunteer() -> None:
    v = register(supervisor().authority(["supervisor"]))

    assert v.roles == frozenset({Role.VOLUNTEER})


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_an_admin_registers_someone_with_any_role(role: Role) -> None:
    v = register(admin().authority(["admin"]), role)

    assert v.roles == frozenset({role})


def test_an_admin_credential_naming_no_volunteer_registers_an_admin() -> None:
    assert register(credential(Role.ADMIN, actor="admin"), Role.ADMIN).has_role(Role.ADMIN)


def test_a_supervisor_credential_naming_no_volunteer_cannot_register_an_admin() -> None:
    with pytest.raises(CannotGrantRole):
        register(credential(Role.SUPERVISOR), Role.ADMIN)


def test_an_admin_whose_role_was_revoked_cannot_register_an_admin_with_their_old_token() -> None:
    former = volunteer(Role.ADMIN, Role.SUPERVISOR)
    former.revoke_role(role=Role.ADMIN, by=admin(), meta=meta())

    with pytest.raises(CannotGrantRole):
        register(former.authority(["admin", "supervisor"]), Role.ADMIN)


def test_an_admin_acting_on_a_supervisor_token_registers_only_volunteers() -> None:
    both = volunteer(Role.ADMIN, Role.SUPERVISOR)

    with pytest.raises(CannotGrantRole):
        register(both.authority(["supervisor"]), Role.FACT_CHECKER)


@pytest.mark.parametrize("sanctioned", [suspended, banned], ids=["suspended", "banned"])
def test_a_sanctioned_supervisor_registers_nobody(
        sanctioned: Callable[[Volunteer], Volunteer]) -> None:
    with pytest.raises((VolunteerSuspended, VolunteerBanned)):
        sanctioned(supervisor()).authority(["supervisor"])


def test_only_a_supervisor_or_an_admin_registers() -> None:
    with pytest.raises(NotASupervisor):
        register(volunteer().authority(["volunteer"]))
    with pytest.raises(NotASupervisor):
        register(credential(Role.FACT_CHECKER, Role.AUDITOR))


# --- training ------------------------------------------------------------------------------


def test_nobody_logs_their_own_training() -> None:
    trainee = volunteer(Role.VOLUNTEER, Role.SUPERVISOR, cleared=False)

    with pytest.raises(CannotCertifyOwnTraining):
        trainee.log_training(minutes=300, topic="casework", by=trainee.authority(None),
                             meta=meta())

    assert not trainee.cleared and trainee.training_minutes == 0


def test_a_supervisor_logs_someone_elses_training() -> None:
    trainee = volunteer(cleared=False)

    trainee.log_training(minutes=300, topic="casework", by=supervisor().authority(None),
                         meta=meta())

    assert trainee.cleared


def test_only_a_supervisor_or_an_admin_logs_training() -> None:
    with pytest.raises(NotASupervisor):
        volunteer(cleared=False).log_training(minutes=300, topic="casework",
                                              by=fact_checker().authority(None), meta=meta())


# --- sanctions -----------------------------------------------------------------------------


SANCTIONS: dict[str, Callable[[Volunteer, Volunteer], None]] = {
    "suspend": lambda target, by: target.suspend(reason="r", by=by, meta=meta()),
    "ban": lambda target, by: target.ban(reason="r", by=by, meta=meta()),
    "reinstate": lambda target, by: target.reinstate(reason="r", by=by, meta=meta()),
}


@pytest.mark.parametrize("sanction", SANCTIONS, ids=list(SANCTIONS))
def test_a_supervisor_cannot_suspend_ban_or_reinstate_an_admin(sanction: str) -> None:
    target = admin()
    if sanction == "reinstate":
        banned(target)
    standing = target.standing

    with pytest.raises(CannotSanctionAdmin, match="only an admin"):
        SANCTIONS[sanction](target, supervisor())

    assert target.standing is standing


def test_an_admin_bans_and_reinstates_an_admin() -> None:
    target, other = admin(), admin()

    target.ban(reason="leaked a list", by=other, meta=meta())
    assert target.standing is Standing.BANNED
    target.reinstate(reason="cleared", by=other, meta=meta())
    assert target.standing is Standing.ACTIVE


def test_a_supervisor_still_sanctions_supervisors_and_fact_checkers() -> None:
    for target in (supervisor(), fact_checker()):
        target.suspend(reason="complaint", by=supervisor(), meta=meta())
        assert target.standing is Standing.SUSPENDED


# --- erasure -------------------------------------------------------------------------------


def test_only_an_admin_erases_a_volunteers_personal_data() -> None:
    v = volunteer()
    former = volunteer(Role.ADMIN)
    former.revoke_role(role=Role.ADMIN, by=admin(), meta=meta())

    for by in (credential(Role.SUPERVISOR), former.authority(["admin"])):
        with pytest.raises(NotAnAdmin):
            v.erase_personal_data(by=by, meta=meta())

    assert not v.personal.erased
    v.erase_personal_data(by=admin().authority(["admin"]), meta=meta())
    assert v.personal.erased


# --- audit grants ----------------------------------------------------------------------------


def test_a_supervisor_whose_role_was_revoked_cannot_grant_or_revoke_audit_access() -> None:
    former = supervisor()
    former.revoke_role(role=Role.SUPERVISOR, by=admin(), meta=meta())
    log = AccessLog.open_for(stream_id=new_id(), meta=meta())
    log.grant(auditor="auditor-1", purpose="complaint", until=None,
              by=supervisor().authority(None), meta=meta())

    with pytest.raises(NotASupervisor):
        log.grant(auditor="auditor-2", purpose="curious", until=None,
                  by=former.authority(["supervisor", "volunteer"]), meta=meta())
    with pytest.raises(NotASupervisor):
        log.revoke(auditor="auditor-1", reason="hide it",
                   by=former.authority(["supervisor", "volunteer"]), meta=meta())

    assert set(log.grants) == {"auditor-1"}


def test_a_banned_supervisor_grants_no_audit_access() -> None:
    with pytest.raises(VolunteerBanned):
        banned(supervisor()).authority(["supervisor"])


def test_every_refusal_here_is_a_permission_error() -> None:
    for error in (CannotGrantRole, CannotSanctionAdmin, CannotCertifyOwnTraining):
        assert issubclass(error, CoordinationError) and error.http_status == 403


# --- erasing a person's data on a case or a resource ----------------------------------------


def test_a_demoted_supervisor_erases_nothing_on_a_case_with_an_old_token() -> None:
    case, _ = taken_case()
    demoted = supervisor()
    demoted.revoke_role(role=Role.SUPERVISOR, by=admin(), meta=meta())

    for by in (demoted.authority(["supervisor", "volunteer"]), credential(Role.VOLUNTEER)):
        with pytest.raises(NotASupervisor):
            case.erase_personal_data(subject_id=case.person_id, by=by, meta=meta())
    case.erase_personal_data(subject_id=case.person_id,
                             by=supervisor().authority(["supervisor"]), meta=meta())
    assert case.personal.erased


def test_only_an_admin_erases_a_resource_contact() -> None:
    person = new_id()
    resource = Resource.report(
        resource_id=new_id(), kind=ResourceKind.CONTACT, region="Odesa", place="hotline",
        details="legal aid", reporter=volunteer(), contact={"phone": "+380..."},
        contact_subject_id=person, meta=meta())

    with pytest.raises(NotAnAdmin):
        resource.erase_personal_data(subject_id=person,
                                     by=supervisor().authority(["supervisor"]), meta=meta())
    resource.erase_personal_data(subject_id=person, by=admin().authority(["admin"]),
                                 meta=meta())
    assert resource.contact is not None and resource.contact.erased
