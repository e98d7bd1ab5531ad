"""Keeping in touch with the person: every try recorded, reached or not (issue 23)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from domain.base import Meta
from domain.case import Case
from domain.contact import ContactChannel
from services.auth import CallerRole as R
from services.commands.common import Flag, OptionalText, acting
from services.commands.registry import CommandBody, command
from services.runtime.unit_of_work import UnitOfWork


class RecordContact(CommandBody):
    case_id: UUID
    channel: ContactChannel = Field(description="how the person was tried (readable: an "
                                    "auditor sees who tried, when and how)")
    reached: Flag = Field(description="true if the person answered; an unreached try is "
                          "recorded too but does not reset the contact interval")
    note: OptionalText = Field(default="", description="personal (sealed)")


@command("cases.record_contact", "/cases/record-contact", {R.VOLUNTEER, R.SUPERVISOR})
def record_contact(body: RecordContact, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record a try to reach the person, reached or not; one that reached them clears
    contact overdue and possible lost contact."""
    case = uow.get(Case, body.case_id)
    case.record_contact(channel=body.channel, reached=body.reached, note=body.note,
                        by=acting(uow, meta), meta=meta)
    return case.id
