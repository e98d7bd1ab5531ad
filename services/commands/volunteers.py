"""Volunteer commands: registration, roles, training, shifts, sanctions, erasure."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from domain.base import Meta
from domain.roles import Role
from domain.volunteer import Volunteer
from services.auth import CallerRole as R
from services.commands.common import (
    Minutes,
    OptionalText,
    ShortText,
    Text,
    TimeZone,
    acting,
    authority,
)
from services.commands.registry import CommandBody, command
from services.runtime.unit_of_work import UnitOfWork

STAFF = {R.SUPERVISOR, R.ADMIN}
ANY_VOLUNTEER = {R.VOLUNTEER, R.SUPERVISOR, R.FACT_CHECKER, R.PSYCHOLOGIST}


class RegisterVolunteer(CommandBody):
    starts = "volunteer_id"
    volunteer_id: UUID
    display_name: ShortText
    languages: list[ShortText] = Field(default_factory=list, max_length=20)
    time_zone: TimeZone = "UTC"
    roles: list[Role] = Field(default_factory=lambda: [Role.VOLUNTEER], min_length=1)
    contact: OptionalText = ""

    def new_subjects(self) -> set[UUID]:
        """The volunteer is a new data subject: their key is made with the registration
        (a key found for this id means it names a case's person already: refused)."""
        return {self.volunteer_id}


@command("volunteers.register", "/volunteers/register", {R.ADMIN, R.SUPERVISOR})
def register(body: RegisterVolunteer, uow: UnitOfWork, meta: Meta) -> UUID:
    """Register a volunteer (name and contact are sealed personal data); only an admin
    gives them a role beyond volunteer."""
    volunteer = Volunteer.register(
        volunteer_id=body.volunteer_id, display_name=body.display_name,
        languages=body.languages, time_zone=body.time_zone, roles=body.roles,
        contact=body.contact, by=authority(uow, meta), meta=meta)
    uow.add(volunteer)
    return volunteer.id


class ChangeRole(CommandBody):
    volunteer_id: UUID
    role: Role


@command("volunteers.grant_role", "/volunteers/grant-role", {R.ADMIN})
def grant_role(body: ChangeRole, uow: UnitOfWork, meta: Meta) -> UUID:
    """Grant a role (admins)."""
    volunteer = uow.get(Volunteer, body.volunteer_id)
    volunteer.grant_role(role=body.role, by=acting(uow, meta), meta=meta)
    return volunteer.id


@command("volunteers.revoke_role", "/volunteers/revoke-role", {R.ADMIN})
def revoke_role(body: ChangeRole, uow: UnitOfWork, meta: Meta) -> UUID:
    """Revoke a role (admins)."""
    volunteer = uow.get(Volunteer, body.volunteer_id)
    volunteer.revoke_role(role=body.role, by=acting(uow, meta), meta=meta)
    return volunteer.id


class LogTraining(CommandBody):
    volunteer_id: UUID
    minutes: Minutes
    topic: ShortText


@command("volunteers.log_training", "/volunteers/log-training", STAFF)
def log_training(body: LogTraining, uow: UnitOfWork, meta: Meta) -> UUID:
    """Log someone else's training session; 5 hours in all clear them for casework."""
    volunteer = uow.get(Volunteer, body.volunteer_id)
    volunteer.log_training(minutes=body.minutes, topic=body.topic, by=authority(uow, meta),
                           meta=meta)
    return volunteer.id


class ShiftChange(CommandBody):
    pass


@command("volunteers.start_shift", "/volunteers/start-shift", ANY_VOLUNTEER)
def start_shift(body: ShiftChange, uow: UnitOfWork, meta: Meta) -> UUID:
    """The calling volunteer starts a shift."""
    volunteer = acting(uow, meta)
    volunteer.start_shift(meta=meta)
    return volunteer.id


@command("volunteers.end_shift", "/volunteers/end-shift", ANY_VOLUNTEER)
def end_shift(body: ShiftChange, uow: UnitOfWork, meta: Meta) -> UUID:
    """The calling volunteer ends their shift."""
    volunteer = acting(uow, meta)
    volunteer.end_shift(meta=meta)
    return volunteer.id


class Sanction(CommandBody):
    volunteer_id: UUID
    reason: Text


@command("volunteers.suspend", "/volunteers/suspend", STAFF)
def suspend(body: Sanction, uow: UnitOfWork, meta: Meta) -> UUID:
    """Suspend a volunteer (supervisors; an admin only by an admin)."""
    volunteer = uow.get(Volunteer, body.volunteer_id)
    volunteer.suspend(reason=body.reason, by=acting(uow, meta), meta=meta)
    return volunteer.id


@command("volunteers.ban", "/volunteers/ban", STAFF)
def ban(body: Sanction, uow: UnitOfWork, meta: Meta) -> UUID:
    """Ban an abuser: their reports are retracted (verified ones too) and their cases released.

    Each retraction recalls the resource: the cases relying on it are flagged and the seats
    held on it are freed."""
    volunteer = uow.get(Volunteer, body.volunteer_id)
    volunteer.ban(reason=body.reason, by=acting(uow, meta), meta=meta)
    return volunteer.id


@command("volunteers.reinstate", "/volunteers/reinstate", STAFF)
def reinstate(body: Sanction, uow: UnitOfWork, meta: Meta) -> UUID:
    """Lift a suspension or ban (supervisors)."""
    volunteer = uow.get(Volunteer, body.volunteer_id)
    volunteer.reinstate(reason=body.reason, by=acting(uow, meta), meta=meta)
    return volunteer.id


class EraseVolunteer(CommandBody):
    volunteer_id: UUID


@command("volunteers.erase_personal_data", "/volunteers/erase-personal-data", {R.ADMIN})
def erase(body: EraseVolunteer, uow: UnitOfWork, meta: Meta) -> UUID:
    """Erase a volunteer's personal data on request: their key is deleted with it."""
    volunteer = uow.get(Volunteer, body.volunteer_id)
    volunteer.erase_personal_data(by=authority(uow, meta), meta=meta)
    uow.erase_key(body.volunteer_id)
    return volunteer.id
