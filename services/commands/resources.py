"""Resource commands: report, verify or reject, status changes, occupancy, retraction."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.base import Meta
from domain.resource import Resource
from domain.vocabulary import ResourceKind
from services.auth import CallerRole as R
from services.commands.common import OptionalText, ShortText, Text, Whole, acting, authority
from services.commands.registry import CommandBody, command
from services.commands.seats import SeatOffer
from services.commands.windows import OpeningWindow
from services.runtime.unit_of_work import UnitOfWork

REPORTERS = {R.VOLUNTEER, R.SUPERVISOR, R.FACT_CHECKER, R.PSYCHOLOGIST}
CHECKERS = {R.FACT_CHECKER, *REPORTERS}
"""Credentials that reach the rules of verify and reject. The domain admits only a
fact-checker (by their record) who did not report the resource; a reporter without the role
is told the rule that matters, that nobody checks their own report, not a missing role."""
FIELD_STAFF = {R.VOLUNTEER, R.SUPERVISOR, R.FACT_CHECKER}


class ContactPerson(BaseModel):
    """Who to call about a resource (sealed personal data of that contact person)."""

    model_config = ConfigDict(extra="forbid")

    name: OptionalText = ""
    phone: OptionalText = ""
    subject_id: UUID | None = Field(default=None, description="the contact person's id, if known")


class ReportResource(CommandBody):
    starts = "resource_id"
    resource_id: UUID
    kind: ResourceKind
    region: ShortText
    place: OptionalText = ""
    details: OptionalText = ""
    capacity: Whole | None = Field(default=None, ge=0, le=1_000_000)
    contact: ContactPerson | None = Field(default=None, description="who to call (a driver, "
                                          "a shelter's manager): sealed personal data")
    transport: SeatOffer | None = Field(default=None, description="a transport's seats, what "
                                        "it takes, its departure window, from and to")
    window: OpeningWindow | None = Field(default=None, description="when it may be relied on "
                                         "(a corridor's hours, a checkpoint's, a curfew's)")


@command("resources.report", "/resources/report", REPORTERS)
def report(body: ReportResource, uow: UnitOfWork, meta: Meta) -> UUID:
    """Report a resource; nobody may hand it out until a fact-checker verifies it."""
    contact = None
    if body.contact and (body.contact.name or body.contact.phone):
        contact = {"name": body.contact.name, "phone": body.contact.phone}
    resource = Resource.report(
        resource_id=body.resource_id, kind=body.kind, region=body.region, place=body.place,
        details=body.details, reporter=acting(uow, meta), capacity=body.capacity,
        contact=contact, contact_subject_id=body.contact.subject_id if body.contact else None,
        transport=body.transport.to_domain() if body.transport else None,
        window=body.window.to_domain() if body.window else None, meta=meta)
    uow.add(resource)
    return resource.id


class ResourceCheck(CommandBody):
    resource_id: UUID


class ResourceChange(CommandBody):
    resource_id: UUID
    reason: Text


@command("resources.verify", "/resources/verify", CHECKERS)
def verify(body: ResourceCheck, uow: UnitOfWork, meta: Meta) -> UUID:
    """A fact-checker (not the reporter) verifies a resource; the verification expires."""
    resource = uow.get(Resource, body.resource_id)
    resource.verify(by=acting(uow, meta), meta=meta)
    return resource.id


@command("resources.reject", "/resources/reject", CHECKERS)
def reject(body: ResourceChange, uow: UnitOfWork, meta: Meta) -> UUID:
    """A fact-checker rejects a resource as false or unusable."""
    resource = uow.get(Resource, body.resource_id)
    resource.reject(reason=body.reason, by=acting(uow, meta), meta=meta)
    return resource.id


def _status_command(name: str, method: str, summary: str) -> None:
    def handler(body: ResourceChange, uow: UnitOfWork, meta: Meta) -> UUID:
        resource = uow.get(Resource, body.resource_id)
        getattr(resource, method)(reason=body.reason, by=acting(uow, meta), meta=meta)
        return resource.id

    handler.__doc__ = summary
    handler.__annotations__ = {"body": ResourceChange, "uow": UnitOfWork, "meta": Meta,
                               "return": UUID}
    command(f"resources.{name}", f"/resources/{name.replace('_', '-')}", FIELD_STAFF)(handler)


_status_command("mark_full", "mark_full", "Mark a resource full (a full shelter takes no one).")
_status_command("mark_unsafe", "mark_unsafe",
                "Mark a resource unsafe (e.g. shelled); cases relying on it are flagged.")
_status_command("close", "close", "Close a resource.")
_status_command("destroy", "destroy", "Record that a resource was destroyed.")
_status_command("reopen", "reopen", "Reopen a closed, full or unsafe resource.")


class UpdateOccupancy(CommandBody):
    resource_id: UUID
    occupancy: Whole = Field(ge=0, le=1_000_000)


@command("resources.update_occupancy", "/resources/update-occupancy", FIELD_STAFF)
def update_occupancy(body: UpdateOccupancy, uow: UnitOfWork, meta: Meta) -> UUID:
    """Update a shelter's occupancy (it cannot exceed capacity)."""
    resource = uow.get(Resource, body.resource_id)
    resource.update_occupancy(occupancy=body.occupancy, by=acting(uow, meta), meta=meta)
    return resource.id


@command("resources.retract", "/resources/retract", {R.SUPERVISOR, R.FACT_CHECKER})
def retract(body: ResourceChange, uow: UnitOfWork, meta: Meta) -> UUID:
    """Retract a resource as fake; cases relying on it are flagged."""
    resource = uow.get(Resource, body.resource_id)
    resource.retract(reason=body.reason, by=acting(uow, meta), meta=meta)
    return resource.id


class EraseContact(CommandBody):
    resource_id: UUID
    subject_id: UUID = Field(description="the contact person whose data is to be erased")


@command("resources.erase_personal_data", "/resources/erase-personal-data", {R.ADMIN})
def erase(body: EraseContact, uow: UnitOfWork, meta: Meta) -> UUID:
    """Erase a resource contact person's data on request: their key is deleted with it."""
    resource = uow.get(Resource, body.resource_id)
    resource.erase_personal_data(subject_id=body.subject_id, by=authority(uow, meta),
                                 meta=meta)
    uow.erase_key(body.subject_id)
    return resource.id
