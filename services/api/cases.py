"""Reading one case: readable facts for caseworkers, personal data only on need-to-know,
and every disclosure of personal data recorded as an event before it is shown."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter
from pydantic import BaseModel, Field

from domain.access import AccessLog, access_log_id
from domain.base import NotFound
from domain.case import Case
from domain.duplicates import ASK_A_SUPERVISOR
from projections.views import referrals as referral_views
from projections.views.referrals import ReferralView
from services.api.deps import PrincipalDep, Purpose, RuntimeDep
from services.api.privacy import need_to_know, shown
from services.api.problems import ONE_ROW_PROBLEMS
from services.auth import CallerRole, Forbidden, Principal
from services.bootstrap import Runtime
from services.clock import now
from services.commands.cases import RecordDisclosure
from services.runtime.outcomes import Rejected
from services.storage.sealing import Sealer

READERS = frozenset({CallerRole.VOLUNTEER, CallerRole.SUPERVISOR, CallerRole.PSYCHOLOGIST,
                     CallerRole.AUDITOR, CallerRole.ADMIN})


class CaseContact(BaseModel):
    """Keeping in touch: the last contact, whether it is overdue, and every try (issue 23)."""

    last_contact_at: datetime
    overdue_since: datetime | None
    possible_lost_contact: bool | None = Field(description="supervisors only")
    attempts: list[dict[str, Any]] = Field(description="{at, actor, channel, reached}: "
                                           "supervisors, auditors and the assignee only")


class CaseDuplicates(BaseModel):
    """The same person twice: shown to everyone as 'ask a supervisor', with the other cases
    only to supervisors."""

    possible_duplicate: str | None
    possible_duplicates: list[dict[str, Any]] | None = Field(
        description="supervisors only: {case_id, matched_on, found_at}")
    merged_into: UUID | None
    merged_case_ids: list[UUID]


class CaseDetail(BaseModel):
    """One case as it stands; `personal` is revealed only to those who need to know."""

    case_id: UUID
    version: int
    status: str
    urgency: str
    stage: str
    outcome: str | None
    region: str
    destination: str
    answers: dict[str, Any]
    opened_at: datetime
    assignee_id: UUID | None
    resource_ids: list[UUID]
    flags: list[dict[str, Any]] = Field(description="raised flags; `personal` (a typed reason, "
                                         "the detail) is shown as `personal` is")
    psychologist_id: UUID | None
    support_member_ids: list[UUID]
    closed_at: datetime | None
    disclosure: str | None
    personal: dict[str, Any] | str
    notes: list[dict[str, Any] | str]
    follow_ups: list[dict[str, Any] | str]
    journal: list[dict[str, Any]] = Field(description="each step's free text (advice, places, "
                                           "reasons): {event, at, personal}, `personal` shown "
                                           "as `personal` is")
    contact: CaseContact | None = None
    duplicates: CaseDuplicates | None = None
    referrals: list[ReferralView] = Field(default_factory=list, description="the case handed "
                                          "on: to whom, what the consent covers, until when, "
                                          "withdrawn or not (the referrals read model, as GET "
                                          "/cases/{id}/referrals)")


ANSWERS = ("safe_now", "contact_channel", "adults", "children_ages", "pets", "mobility_needs",
           "medical_needs", "needs_medicine", "needs_food", "needs_clothes", "languages")


def _load(runtime: Runtime, case_id: UUID) -> tuple[Case, AccessLog | None]:
    try:
        case: object = runtime.app.readers.get(case_id)
    except AggregateNotFoundError:
        raise NotFound(f"no case with id {case_id}") from None
    if not isinstance(case, Case):
        raise NotFound(f"{case_id} is not a case")
    try:
        log: object = runtime.app.readers.get(access_log_id(case_id))
    except AggregateNotFoundError:
        log = None
    return case, log if isinstance(log, AccessLog) else None


def _detail(runtime: Runtime, case: Case, basis: str | None) -> CaseDetail:
    sealer, allowed = runtime.app.sealer, basis is not None
    return CaseDetail(
        case_id=case.id, version=case.version, status=case.status.value,
        urgency=case.urgency.value, stage=case.stage.value,
        outcome=case.outcome.value if case.outcome else None, region=case.region,
        destination=case.destination, answers={a: getattr(case, a) for a in ANSWERS},
        opened_at=case.opened_at, assignee_id=case.assignee_id,
        resource_ids=list(case.resource_ids), flags=_told(case.flags, sealer, allowed),
        psychologist_id=case.psychologist_id, support_member_ids=list(case.support_member_ids),
        closed_at=case.closed_at, disclosure=basis,
        personal=_as_field(shown(case.personal, sealer, allowed)),
        notes=[_as_field(shown(n, sealer, allowed)) for n in case.notes],
        follow_ups=[_as_field(shown(f, sealer, allowed)) for f in case.follow_ups],
        journal=_told(case.journal, sealer, allowed))


def _with_silence(detail: CaseDetail, case: Case, principal: Principal) -> CaseDetail:
    """Contact and duplicates as the caller may see them (issue 23)."""
    supervisor = principal.has_any(frozenset({CallerRole.SUPERVISOR}))
    sees_attempts = supervisor or principal.has_any(frozenset({CallerRole.AUDITOR})) or (
        case.assignee_id is not None and principal.actor == str(case.assignee_id))
    contact = CaseContact(
        last_contact_at=case.contact_since, overdue_since=case.contact_overdue_since,
        possible_lost_contact=(case.lost_contact_suspected_at is not None
                               if supervisor else None),
        attempts=list(case.contact_attempts) if sees_attempts else [])
    duplicates = CaseDuplicates(
        possible_duplicate=ASK_A_SUPERVISOR if case.possible_duplicates else None,
        possible_duplicates=list(case.possible_duplicates) if supervisor else None,
        merged_into=case.merged_into, merged_case_ids=list(case.merged_case_ids))
    return detail.model_copy(update={"contact": contact, "duplicates": duplicates})


async def _referrals(runtime: Runtime, case_id: UUID) -> list[ReferralView]:
    """The case's referrals as the read model holds them (none where it is not served)."""
    if runtime.projections is None:
        return []
    return await referral_views.referrals(runtime.projections, now(), case_id=case_id)


def _told(entries: list[dict[str, Any]], sealer: Sealer, allowed: bool) -> list[dict[str, Any]]:
    """Entries (flags, the journal) with their sealed free text shown as need-to-know allows."""
    return [{**e, "personal": _as_field(shown(e["personal"], sealer, allowed))}
            for e in entries]


def _as_field(value: Any) -> dict[str, Any] | str:
    return value if isinstance(value, str) else dict(value)


def router() -> APIRouter:
    routes = APIRouter(prefix="/cases", tags=["cases"])

    @routes.get("/{case_id}", response_model=CaseDetail, summary="One case, need-to-know",
                responses=ONE_ROW_PROBLEMS)
    async def read_case(case_id: UUID, runtime: RuntimeDep, principal: PrincipalDep,
                        purpose: Purpose = "casework",
                        ) -> CaseDetail:
        if not principal.has_any(READERS):
            raise Forbidden("reading cases needs a caseworker, supervisor or auditor role")
        case, log = await asyncio.to_thread(_load, runtime, case_id)
        granted = log is not None and log.may_see_personal_data(principal.actor, now())
        basis = need_to_know(principal, case, granted)
        if basis is not None and not case.personal.erased:
            outcome = await runtime.send("cases.record_disclosure", RecordDisclosure(
                command_id=uuid4(), case_id=case.id, person_id=case.person_id, basis=basis,
                purpose=purpose), principal)
            if isinstance(outcome, Rejected):  # not recorded: not shown
                basis = None
        detail = await asyncio.to_thread(_detail, runtime, case, basis)
        return _with_silence(detail, case, principal).model_copy(
            update={"referrals": await _referrals(runtime, case.id)})

    return routes
