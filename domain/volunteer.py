"""A volunteer: roles, training, shifts and standing (suspended, banned, reinstated)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import CoordinationAggregate
from domain.base import InvalidCommand, Meta, PersonalData
from domain.errors import (
    CannotCertifyOwnTraining,
    CannotGrantRole,
    CannotSanctionAdmin,
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
    not_in_role,
)
from domain.roles import ROLE_GRANTER, STAFF_ROLES, Authority, Role, network_roles
from domain.vocabulary import Standing

TRAINING_MINUTES_REQUIRED = 5 * 60
MAX_TRAINING_SESSION_MINUTES = 24 * 60


class Volunteer(CoordinationAggregate):
    """A member of the network who may take cases once trained and in good standing."""

    @classmethod
    def register(
        cls, *, volunteer_id: UUID, display_name: str, languages: Sequence[str],
        time_zone: str, roles: Iterable[Role] = (Role.VOLUNTEER,), contact: str = "",
        by: Authority, meta: Meta,
    ) -> Volunteer:
        """A supervisor or admin registers a volunteer; the display name and contact are
        personal data. Only someone who may grant a role registers someone with it."""
        given = frozenset(Role(r) for r in roles)
        ensure_may_register(given, by)
        if not display_name.strip() or not time_zone.strip():
            raise InvalidCommand("a volunteer needs a display name and a time zone")
        personal = PersonalData.of(volunteer_id, display_name=display_name, contact=contact)
        return cls(id=volunteer_id, personal=personal, languages=list(languages),
                   time_zone=time_zone, roles=sorted(r.value for r in given), meta=meta)

    @event("VolunteerRegistered")
    def __init__(self, id: UUID, personal: PersonalData, languages: list[str],
                 time_zone: str, roles: list[str], meta: Meta) -> None:
        self.personal = personal
        self.languages = list(languages)
        self.time_zone = time_zone
        self._roles = list(roles)
        self.training_minutes = 0
        self.cleared = False
        self._standing = Standing.ACTIVE.value
        self.sanction_reason: str | None = None
        self.on_shift_since: datetime | None = None
        self.shifts: list[dict[str, Any]] = []
        self.registered_at = meta.at

    # --- queries ---------------------------------------------------------------------------

    @property
    def roles(self) -> frozenset[Role]:
        """The roles the volunteer holds now."""
        return frozenset(Role(r) for r in self._roles)

    @property
    def standing(self) -> Standing:
        """Active, suspended or banned."""
        return Standing(self._standing)

    def has_role(self, role: Role) -> bool:
        """True when the volunteer holds the role."""
        return role.value in self._roles

    @property
    def on_shift(self) -> bool:
        """True while a shift is running."""
        return self.on_shift_since is not None

    def ensure_active(self) -> None:
        """Raise VolunteerBanned or VolunteerSuspended unless in good standing."""
        if self._standing == Standing.BANNED:
            raise VolunteerBanned(f"volunteer {self.id} is banned")
        if self._standing == Standing.SUSPENDED:
            raise VolunteerSuspended(f"volunteer {self.id} is suspended")

    def ensure_cleared_for_casework(self) -> None:
        """Raise unless the volunteer is in good standing and has finished training (the rule
        casework_blocker states for read models too)."""
        self.ensure_active()
        if casework_blocker(self._standing, self.cleared) is not None:
            raise VolunteerNotCleared(
                f"volunteer {self.id} has {self.training_minutes} of "
                f"{TRAINING_MINUTES_REQUIRED} training minutes")

    def ensure_acting_as(self, role: Role) -> None:
        """Raise unless the volunteer is in good standing and holds the role."""
        self.ensure_active()
        if not self.has_role(role):
            raise not_in_role(role, self.id)

    def authority(self, credential: Iterable[str] | None) -> Authority:
        """The roles this volunteer acts with under a credential naming `credential` roles:
        those they hold now that it names too (None: no credential narrows them, e.g. the
        service's own tools). Raises unless they are in good standing."""
        self.ensure_active()
        held = self.roles if credential is None else self.roles & network_roles(credential)
        return Authority(actor=str(self.id), roles=held)

    # --- commands --------------------------------------------------------------------------

    def grant_role(self, *, role: Role, by: Volunteer, meta: Meta) -> None:
        """An admin grants a role."""
        by.ensure_acting_as(ROLE_GRANTER)
        if self.has_role(role):
            raise RoleAlreadyHeld(f"volunteer {self.id} already is a {role.value}")
        self._record_role_granted(role=Role(role).value, meta=meta)

    def revoke_role(self, *, role: Role, by: Volunteer, meta: Meta) -> None:
        """An admin revokes a role."""
        by.ensure_acting_as(ROLE_GRANTER)
        if not self.has_role(role):
            raise RoleNotHeld(f"volunteer {self.id} is not a {role.value}")
        self._record_role_revoked(role=Role(role).value, meta=meta)

    def log_training(self, *, minutes: int, topic: str, by: Authority, meta: Meta) -> None:
        """A supervisor or admin (not the trainee) logs a training session; crossing the
        threshold clears the volunteer for casework."""
        ensure_staff(by, "log training")
        if by.actor == str(self.id):
            raise CannotCertifyOwnTraining(
                f"volunteer {self.id} cannot log their own training: another supervisor or "
                "an admin vouches for it")
        if not 0 < minutes <= MAX_TRAINING_SESSION_MINUTES or not topic.strip():
            raise InvalidCommand("a training session has a topic and lasts 1 to 1440 minutes")
        self._record_training(minutes=minutes, topic=topic, meta=meta)
        if not self.cleared and self.training_minutes >= TRAINING_MINUTES_REQUIRED:
            self._record_cleared(training_minutes=self.training_minutes, meta=meta)

    def start_shift(self, *, meta: Meta) -> None:
        """Start a shift at meta.at."""
        self.ensure_active()
        if self.on_shift_since is not None:
            raise ShiftAlreadyStarted(f"shift running since {self.on_shift_since.isoformat()}")
        self._record_shift_started(meta=meta)

    def end_shift(self, *, meta: Meta) -> None:
        """End the running shift at meta.at."""
        if self.on_shift_since is None:
            raise ShiftNotStarted(f"volunteer {self.id} is not on shift")
        if meta.at < self.on_shift_since:
            raise InvalidCommand("a shift cannot end before it started")
        self._record_shift_ended(meta=meta)

    def suspend(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """A supervisor suspends the volunteer."""
        self._ensure_may_sanction(by)
        self.ensure_active()
        self._record_suspended(reason=reason, meta=meta)

    def ban(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """A supervisor bans the volunteer (their reports and cases are then recalled)."""
        self._ensure_may_sanction(by)
        if self._standing == Standing.BANNED:
            raise VolunteerBanned(f"volunteer {self.id} is already banned")
        self._record_banned(reason=reason, meta=meta)

    def reinstate(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """A supervisor lifts a suspension or ban."""
        self._ensure_may_sanction(by)
        if self._standing == Standing.ACTIVE:
            raise VolunteerNotSanctioned(f"volunteer {self.id} is in good standing")
        self._record_reinstated(reason=reason, meta=meta)

    def erase_personal_data(self, *, by: Authority, meta: Meta) -> None:
        """An admin erases the volunteer's personal data on request; the history stays."""
        if not by.holds_any({ROLE_GRANTER}):
            raise NotAnAdmin(f"{by.actor} does not act as an admin: only an admin erases a "
                             "volunteer's personal data")
        if self.personal.erased:
            raise NothingToErase(f"personal data of {self.id} is already erased")
        self._record_personal_data_erased(subject_id=self.id, meta=meta)

    def _ensure_may_sanction(self, by: Volunteer) -> None:
        """A supervisor or admin in good standing, not the volunteer themselves, and an
        admin when the volunteer is an admin (or a supervisor could shut out the people who
        may revoke their role, or bring back one an admin banned)."""
        by.ensure_active()
        if not any(by.has_role(role) for role in STAFF_ROLES):
            raise NotASupervisor(f"volunteer {by.id} is not a supervisor or an admin: only "
                                 "they suspend, ban or reinstate")
        if by.id == self.id:
            raise CannotSanctionSelf("a supervisor cannot sanction themselves")
        if self.has_role(ROLE_GRANTER) and not by.has_role(ROLE_GRANTER):
            raise CannotSanctionAdmin(f"volunteer {self.id} is an admin: only an admin "
                                      "suspends, bans or reinstates an admin")

    # --- events ----------------------------------------------------------------------------

    @event("RoleGranted")
    def _record_role_granted(self, role: str, meta: Meta) -> None:
        self._roles = sorted({*self._roles, role})

    @event("RoleRevoked")
    def _record_role_revoked(self, role: str, meta: Meta) -> None:
        self._roles = [r for r in self._roles if r != role]

    @event("TrainingLogged")
    def _record_training(self, minutes: int, topic: str, meta: Meta) -> None:
        self.training_minutes += minutes

    @event("VolunteerCleared")
    def _record_cleared(self, training_minutes: int, meta: Meta) -> None:
        self.cleared = True

    @event("ShiftStarted")
    def _record_shift_started(self, meta: Meta) -> None:
        self.on_shift_since = meta.at

    @event("ShiftEnded")
    def _record_shift_ended(self, meta: Meta) -> None:
        self.shifts.append({"started_at": self.on_shift_since, "ended_at": meta.at})
        self.on_shift_since = None

    @event("VolunteerSuspended")
    def _record_suspended(self, reason: str, meta: Meta) -> None:
        self._standing = Standing.SUSPENDED.value
        self.sanction_reason = reason

    @event("VolunteerBanned")
    def _record_banned(self, reason: str, meta: Meta) -> None:
        self._standing = Standing.BANNED.value
        self.sanction_reason = reason

    @event("VolunteerReinstated")
    def _record_reinstated(self, reason: str, meta: Meta) -> None:
        self._standing = Standing.ACTIVE.value
        self.sanction_reason = None

    @event("PersonalDataErased")
    def _record_personal_data_erased(self, subject_id: UUID, meta: Meta) -> None:
        self.personal = PersonalData.erased_for(subject_id)


def casework_blocker(standing: str | None, cleared: bool) -> str | None:
    """Why a volunteer in this standing may not take a case ('banned', 'suspended', 'not
    cleared': training unfinished), or None when they may."""
    if standing in (Standing.BANNED, Standing.SUSPENDED):
        return str(standing)
    if not cleared:
        return "not cleared"
    return None


def ensure_staff(by: Authority, act: str) -> None:
    """Raise NotASupervisor unless `by` acts as a supervisor or an admin."""
    if not by.holds_any(STAFF_ROLES):
        raise NotASupervisor(f"{by.actor} does not act as a supervisor or an admin: only "
                             f"they {act}")


def ensure_may_register(roles: frozenset[Role], by: Authority) -> None:
    """A registration is a supervisor's or admin's act, and gives no role its registrar could
    not grant: a supervisor registers volunteers, only an admin registers a fact-checker, a
    supervisor or another admin (CannotGrantRole names the rule and the roles)."""
    ensure_staff(by, "register volunteers")
    beyond = by.roles_beyond_grant(roles)
    if beyond:
        names = ", ".join(sorted(r.value for r in beyond))
        raise CannotGrantRole(
            f"only someone who may grant a role may register someone with it: {by.actor} "
            f"may not grant {names} (only an admin grants roles); register them as a "
            "volunteer and ask an admin to grant the rest")
