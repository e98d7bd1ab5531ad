"""Case commands: intake, assignment, journey steps, notes, flags, support group, closing."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.access import AccessLog, access_log_id
from domain.base import Meta
from domain.case import Case
from domain.intake import Intake
from domain.referral import Referral
from domain.resource import Resource
from domain.seats import close_case
from domain.vocabulary import CaseOutcome
from domain.volunteer import Volunteer
from services.auth import CallerRole as R
from services.commands.common import (
    Flag,
    OptionalText,
    ShortText,
    Text,
    Whole,
    acting,
    authority,
)
from services.commands.duplicates import index_intake, same_person_cases
from services.commands.registry import CommandBody, command
from services.commands.windows import zone
from services.runtime.unit_of_work import UnitOfWork

CASEWORKERS = {R.VOLUNTEER, R.SUPERVISOR}
GROUP = {R.VOLUNTEER, R.SUPERVISOR, R.PSYCHOLOGIST}


class IntakeAnswers(BaseModel):
    """The intake survey. name, contact_handle, exact_location, health_details and notes are
    personal data: sealed with the person's own key, never in read models or Kafka."""

    model_config = ConfigDict(extra="forbid")

    safe_now: Flag
    region: ShortText = Field(description="oblast / city; readable on the board")
    destination: ShortText
    contact_channel: ShortText = Field(description="e.g. telegram, phone, web")
    adults: Whole = Field(default=1, ge=0, le=100)
    children_ages: list[Whole] = Field(default_factory=list, max_length=30)
    pets: Whole = Field(default=0, ge=0, le=50)
    mobility_needs: Flag = False
    medical_needs: Flag = False
    needs_medicine: Flag = False
    needs_food: Flag = False
    needs_clothes: Flag = False
    languages: list[ShortText] = Field(default_factory=list, max_length=20)
    name: OptionalText = ""
    contact_handle: OptionalText = ""
    exact_location: OptionalText = ""
    health_details: OptionalText = ""
    notes: OptionalText = ""
    birth_year: Whole | None = Field(default=None, ge=1900, le=2100, description="personal "
                                     "(sealed); with the name it finds the same person "
                                     "asking twice")

    def to_domain(self) -> Intake:
        return Intake(**self.model_dump())


class OpenCase(CommandBody):
    starts = "case_id"
    case_id: UUID
    person_id: UUID = Field(description="the person in need (data subject of the case)")
    intake: IntakeAnswers

    def new_subjects(self) -> set[UUID]:
        return {self.person_id}


@command("cases.open", "/cases/open", {R.INTAKE, R.VOLUNTEER, R.SUPERVISOR})
def open_case(body: OpenCase, uow: UnitOfWork, meta: Meta) -> UUID:
    """Open a case from an intake survey; urgency follows from the answers."""
    case = Case.open(case_id=body.case_id, person_id=body.person_id,
                     intake=body.intake.to_domain(), meta=meta)
    uow.add(case)
    index_intake(uow, body.case_id, body.person_id, body.intake)
    return case.id


class CaseRef(CommandBody):
    case_id: UUID


class CaseReason(CommandBody):
    case_id: UUID
    reason: Text


class AssignCase(CommandBody):
    case_id: UUID
    volunteer_id: UUID


@command("cases.take", "/cases/take", CASEWORKERS)
def take(body: CaseRef, uow: UnitOfWork, meta: Meta) -> UUID:
    """The calling volunteer (trained, in good standing) takes an unassigned case."""
    case = uow.get(Case, body.case_id)
    case.take(volunteer=acting(uow, meta), meta=meta)
    return case.id


@command("cases.assign", "/cases/assign", {R.SUPERVISOR})
def assign(body: AssignCase, uow: UnitOfWork, meta: Meta) -> UUID:
    """A supervisor assigns or reassigns a case to a cleared volunteer."""
    case = uow.get(Case, body.case_id)
    case.assign(volunteer=uow.get(Volunteer, body.volunteer_id), by=acting(uow, meta),
                meta=meta)
    return case.id


@command("cases.release", "/cases/release", CASEWORKERS)
def release(body: CaseReason, uow: UnitOfWork, meta: Meta) -> UUID:
    """The assignee or a supervisor hands the case back to the board."""
    case = uow.get(Case, body.case_id)
    case.release(reason=body.reason, by=acting(uow, meta), meta=meta)
    return case.id


class GiveAdvice(CommandBody):
    case_id: UUID
    text: Text
    resource_ids: list[UUID] = Field(default_factory=list, max_length=20)


@command("cases.give_advice", "/cases/give-advice", CASEWORKERS)
def give_advice(body: GiveAdvice, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record advice given (e.g. stay put, the route is shelled), naming resources used:
    each usable and inside its window."""
    case = uow.get(Case, body.case_id)
    resources = [uow.get(Resource, r) for r in body.resource_ids]
    case.give_advice(text=body.text, resources=resources, by=acting(uow, meta), meta=meta,
                     zones=zone)
    return case.id


class ArrangeTransport(CommandBody):
    case_id: UUID
    resource_ids: list[UUID] = Field(min_length=1, max_length=20)
    description: OptionalText = ""


@command("cases.arrange_transport", "/cases/arrange-transport", CASEWORKERS)
def arrange_transport(body: ArrangeTransport, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record transport arranged on verified, usable resources inside their windows."""
    case = uow.get(Case, body.case_id)
    resources = [uow.get(Resource, r) for r in body.resource_ids]
    case.arrange_transport(resources=resources, description=body.description,
                           by=acting(uow, meta), meta=meta, zones=zone)
    return case.id


def _step(name: str, summary: str, body_type: type[CommandBody],
          call: Callable[[Case, CommandBody, Volunteer, Meta], None]) -> None:
    def handler(body: CommandBody, uow: UnitOfWork, meta: Meta) -> UUID:
        case = uow.get(Case, body.case_id)  # type: ignore[attr-defined]
        call(case, body, acting(uow, meta), meta)
        return case.id

    handler.__doc__ = summary
    handler.__annotations__ = {"body": body_type, "uow": UnitOfWork, "meta": Meta,
                               "return": UUID}
    command(f"cases.{name}", f"/cases/{name.replace('_', '-')}", CASEWORKERS)(handler)


class Checkpoint(CommandBody):
    case_id: UUID
    checkpoint: ShortText


class Stuck(CommandBody):
    case_id: UUID
    place: ShortText
    reason: Text


class BorderCrossing(CommandBody):
    case_id: UUID
    crossing: ShortText


class Arrival(CommandBody):
    case_id: UUID
    place: ShortText


class CaseText(CommandBody):
    case_id: UUID
    text: Text


_step("record_departure", "The person set off.", CaseRef,
      lambda c, b, v, m: c.record_departure(by=v, meta=m))
_step("record_checkpoint", "The person reached a checkpoint.", Checkpoint,
      lambda c, b, v, m: c.record_checkpoint(checkpoint=b.checkpoint, by=v, meta=m))  # type: ignore[attr-defined]
_step("record_stuck", "The person is stuck on the way.", Stuck,
      lambda c, b, v, m: c.record_stuck(place=b.place, reason=b.reason, by=v, meta=m))  # type: ignore[attr-defined]
_step("record_return", "The person turned back.", CaseReason,
      lambda c, b, v, m: c.record_return(reason=b.reason, by=v, meta=m))  # type: ignore[attr-defined]
_step("record_border_crossing", "The person crossed a border.", BorderCrossing,
      lambda c, b, v, m: c.record_border_crossing(crossing=b.crossing, by=v, meta=m))  # type: ignore[attr-defined]
_step("record_arrival", "The person arrived somewhere safe.", Arrival,
      lambda c, b, v, m: c.record_arrival(place=b.place, by=v, meta=m))  # type: ignore[attr-defined]
_step("record_cannot_leave", "The person cannot leave; kept safe in place.", CaseReason,
      lambda c, b, v, m: c.record_cannot_leave(reason=b.reason, by=v, meta=m))  # type: ignore[attr-defined]
_step("record_follow_up", "Keep in touch after arrival (a personal note).", CaseText,
      lambda c, b, v, m: c.record_follow_up(text=b.text, by=v, meta=m))  # type: ignore[attr-defined]


@command("cases.add_note", "/cases/add-note", GROUP)
def add_note(body: CaseText, uow: UnitOfWork, meta: Meta) -> UUID:
    """A note about the person (sealed personal data)."""
    case = uow.get(Case, body.case_id)
    case.add_note(text=body.text, by=acting(uow, meta), meta=meta)
    return case.id


class RaiseFlag(CommandBody):
    case_id: UUID
    flag_id: UUID
    reason: ShortText
    detail: OptionalText = ""
    resource_id: UUID | None = None


@command("cases.flag", "/cases/flag", CASEWORKERS)
def flag(body: RaiseFlag, uow: UnitOfWork, meta: Meta) -> UUID:
    """Raise a flag on a case with a reason (naming a resource only if it exists)."""
    case = uow.get(Case, body.case_id)
    if body.resource_id is not None:
        uow.get(Resource, body.resource_id)  # NotFound (404) for a resource never reported
    case.flag(flag_id=body.flag_id, reason=body.reason, detail=body.detail,
              resource_id=body.resource_id, by=acting(uow, meta), meta=meta)
    return case.id


class ClearFlag(CommandBody):
    case_id: UUID
    flag_id: UUID
    reason: Text


@command("cases.clear_flag", "/cases/clear-flag", CASEWORKERS)
def clear_flag(body: ClearFlag, uow: UnitOfWork, meta: Meta) -> UUID:
    """Clear a flag, saying why."""
    case = uow.get(Case, body.case_id)
    case.clear_flag(flag_id=body.flag_id, reason=body.reason, by=acting(uow, meta), meta=meta)
    return case.id


class FormSupportGroup(CommandBody):
    case_id: UUID
    psychologist_id: UUID
    member_ids: list[UUID] = Field(default_factory=list, max_length=20)


@command("cases.form_support_group", "/cases/form-support-group", CASEWORKERS)
def form_support_group(body: FormSupportGroup, uow: UnitOfWork, meta: Meta) -> UUID:
    """Form a support group (a psychologist and volunteers) around the person."""
    case = uow.get(Case, body.case_id)
    case.form_support_group(
        psychologist=uow.get(Volunteer, body.psychologist_id),
        members=[uow.get(Volunteer, m) for m in body.member_ids],
        by=acting(uow, meta), meta=meta)
    return case.id


class AddSupportMember(CommandBody):
    case_id: UUID
    volunteer_id: UUID


@command("cases.add_support_member", "/cases/add-support-member", CASEWORKERS)
def add_support_member(body: AddSupportMember, uow: UnitOfWork, meta: Meta) -> UUID:
    """Add a cleared volunteer to the support group."""
    case = uow.get(Case, body.case_id)
    case.add_support_member(member=uow.get(Volunteer, body.volunteer_id),
                            by=acting(uow, meta), meta=meta)
    return case.id


@command("cases.dissolve_support_group", "/cases/dissolve-support-group", CASEWORKERS)
def dissolve_support_group(body: CaseReason, uow: UnitOfWork, meta: Meta) -> UUID:
    """Dissolve the support group."""
    case = uow.get(Case, body.case_id)
    case.dissolve_support_group(reason=body.reason, by=acting(uow, meta), meta=meta)
    return case.id


class CloseCase(CommandBody):
    case_id: UUID
    outcome: CaseOutcome
    referral_id: UUID | None = Field(default=None, description="the accepted referral a "
                                     "'referred_elsewhere' closing goes through")


@command("cases.close", "/cases/close", CASEWORKERS)
def close(body: CloseCase, uow: UnitOfWork, meta: Meta) -> UUID:
    """Close a case with an outcome (evacuated, stays, lost_contact, referred_elsewhere);
    the seats it holds on transports are freed with it."""
    case = uow.get(Case, body.case_id)
    transports = {h["resource_id"]: uow.get(Resource, h["resource_id"])
                  for h in case.seat_holds}
    referral = None if body.referral_id is None else uow.get(Referral, body.referral_id)
    close_case(case=case, transports=transports, outcome=body.outcome, by=acting(uow, meta),
               meta=meta, referral=referral)
    return case.id


@command("cases.reopen", "/cases/reopen", CASEWORKERS)
def reopen(body: CaseReason, uow: UnitOfWork, meta: Meta) -> UUID:
    """Reopen a closed case."""
    case = uow.get(Case, body.case_id)
    case.reopen(reason=body.reason, by=acting(uow, meta), meta=meta)
    return case.id


class EraseCase(CommandBody):
    case_id: UUID


@command("cases.erase_personal_data", "/cases/erase-personal-data", {R.ADMIN, R.SUPERVISOR})
def erase(body: EraseCase, uow: UnitOfWork, meta: Meta) -> UUID:
    """Erase the person's data on request (and on cases merged with theirs); history stays.

    Their data key goes, and with it their blind-index entries; a merge said the cases merged
    with this one are the same person, so theirs go in the same transaction."""
    case = uow.get(Case, body.case_id)
    person, by = case.person_id, authority(uow, meta)
    case.erase_personal_data(subject_id=person, by=by, meta=meta)
    uow.erase_key(person)
    for same in same_person_cases(uow, case):
        same.erase_personal_data(subject_id=same.person_id, by=by, meta=meta)
        uow.erase_key(same.person_id)
    return case.id


class RecordDisclosure(CommandBody):
    """Internal: the service records a need-to-know view before it shows personal data."""

    case_id: UUID
    person_id: UUID
    basis: ShortText
    purpose: ShortText


@command("cases.record_disclosure", "", set(), internal=True)
def record_disclosure(body: RecordDisclosure, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record in the case's access log that the caller saw its personal data, and why."""
    log = uow.find(AccessLog, access_log_id(body.case_id))
    if log is None:
        log = AccessLog.open_for(stream_id=body.case_id, meta=meta)
        uow.add(log)
    log.record_need_to_know_view(viewer=meta.actor, basis=body.basis, purpose=body.purpose,
                                 view="case_detail", subject_ids=[body.person_id], meta=meta)
    return log.id
