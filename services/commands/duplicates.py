"""The same person twice: a new case's blind-index entries, and a supervisor's merge or
"not the same person" (issue 23)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from pydantic import Field

from domain.base import Meta
from domain.case import Case
from services.auth import CallerRole as R
from services.commands.common import acting
from services.commands.registry import CommandBody, command
from services.runtime.unit_of_work import UnitOfWork


class Identifying(Protocol):
    """What an intake says that identifies the person."""

    name: str
    contact_handle: str
    birth_year: int | None


def index_intake(uow: UnitOfWork, case_id: UUID, person_id: UUID, intake: Identifying) -> None:
    """Keyed hashes of the intake's phone / handle / name and birth year, stored with the
    case's opening (never the plaintext); the duplicate watch matches them once stored."""
    uow.index_blindly(uow.app.blind_index.entries(
        subject_id=person_id, case_id=case_id, name=intake.name,
        contact_handle=intake.contact_handle, birth_year=intake.birth_year))


def same_person_cases(uow: UnitOfWork, case: Case) -> list[Case]:
    """The cases merged with this one (into it, or it into them) whose person's data is not
    erased yet: an erasure of the person covers them too, blind-index entries and all."""
    linked = [*case.merged_case_ids, *([case.merged_into] if case.merged_into else [])]
    found = [uow.find(Case, i) for i in dict.fromkeys(linked) if i != case.id]
    return [c for c in found if c is not None and not c.personal.erased]


class MergeCases(CommandBody):
    case_id: UUID = Field(description="the case that goes on")
    merged_case_id: UUID = Field(description="the same person's other case: it closes as "
                                 "merged into `case_id`")

    def streams(self) -> set[UUID]:
        return {self.case_id, self.merged_case_id}


@command("cases.merge", "/cases/merge", {R.SUPERVISOR})
def merge(body: MergeCases, uow: UnitOfWork, meta: Meta) -> UUID:
    """A supervisor merges the same person's two cases: one goes on, the other closes as
    merged into it; both histories stay, each naming the other."""
    survivor, merged = uow.get(Case, body.case_id), uow.get(Case, body.merged_case_id)
    by = acting(uow, meta)
    merged.merge_into(survivor=survivor, by=by, meta=meta)
    survivor.take_in(merged=merged, by=by, meta=meta)
    return survivor.id


class TellApart(CommandBody):
    case_id: UUID
    other_case_id: UUID

    def streams(self) -> set[UUID]:
        return {self.case_id, self.other_case_id}


@command("cases.tell_apart", "/cases/tell-apart", {R.SUPERVISOR})
def tell_apart(body: TellApart, uow: UnitOfWork, meta: Meta) -> UUID:
    """A supervisor says two cases marked as possible duplicates are not the same person
    (both are unmarked, and never marked against each other again)."""
    case, other = uow.get(Case, body.case_id), uow.get(Case, body.other_case_id)
    by = acting(uow, meta)
    case.tell_apart(other_case_id=other.id, by=by, meta=meta)
    if other.is_possible_duplicate_of(case.id):
        other.tell_apart(other_case_id=case.id, by=by, meta=meta)
    return case.id
