"""Referrals over HTTP: partners, a case's referrals (its consents shown, withdrawn or not),
and the package of a referral, for the partner's own service (a partner token, its own
referrals only) or for the case's assignee or a supervisor. Every package handed out is
recorded first (on the referral and in the case's access log); one that is not on record
is not shown."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from domain.base import NotFound
from domain.case import Case
from domain.partner import Partner
from domain.referral import NotThePartnersReferral, PersonErased, Referral
from projections.views import referrals as views
from services.api.deps import CallerDep, PrincipalDep, Purpose, RuntimeDep
from services.api.problems import AUDIT_PROBLEMS, READ_PROBLEMS, rejected
from services.api.queries import (
    BOARD_READERS,
    SUPERVISORS,
    ConsistencyDep,
    NowDep,
    ServiceDep,
    caught_up,
    require,
)
from services.api.referral_package import html, package
from services.auth import CallerRole, Principal
from services.bootstrap import Runtime
from services.clock import now as clock_now
from services.commands.referrals import RecordExport
from services.runtime.outcomes import Rejected

A = TypeVar("A")
CASEWORKERS = frozenset({CallerRole.VOLUNTEER, CallerRole.SUPERVISOR})
NOT_KEPT = {"Cache-Control": "no-store"}
"""A package holds a person's data: no cache on the way keeps a copy the consent's
withdrawal could not reach."""


def current(runtime: Runtime, aggregate_id: UUID, cls: type[A]) -> A:
    """The aggregate as stored now (the cached copy brought up to date: another process
    may have withdrawn a consent a moment ago)."""
    try:
        found: Any = runtime.app.readers.get(aggregate_id)
    except AggregateNotFoundError:
        raise NotFound(f"no {cls.__name__.lower()} with id {aggregate_id}") from None
    if not isinstance(found, cls):
        raise NotFound(f"{aggregate_id} is not a {cls.__name__.lower()}")
    aggregate: Any = found
    for domain_event in runtime.app.events.get(aggregate_id, gt=aggregate.version):
        aggregate = domain_event.mutate(aggregate)  # type: ignore[attr-defined]
    return aggregate  # type: ignore[no-any-return]


def _ensure_own(caller: Principal, referral: Referral) -> None:
    if caller.partner_id is not None and referral.partner_id != caller.partner_id:
        raise NotThePartnersReferral(f"referral {referral.id} was not made to partner "
                                     f"{caller.partner_id}")


def _ensure_referral_reader(caller: Principal) -> None:
    if caller.partner_id is None:
        require(caller, CASEWORKERS, "referrals")


def router() -> APIRouter:
    routes = APIRouter(tags=["referrals"])

    @routes.get("/partners", response_model=list[views.PartnerView],
                summary="Registered partner organisations", responses=READ_PROBLEMS)
    async def partners(service: ServiceDep, principal: PrincipalDep,
                       wanted: ConsistencyDep) -> list[views.PartnerView]:
        require(principal, BOARD_READERS, "partners")
        fresh = await caught_up(service, "referrals", wanted)
        return await views.partners(service, fresh=fresh)

    @routes.get("/cases/{case_id}/referrals", response_model=list[views.ReferralView],
                summary="A case's referrals and consents (withdrawn ones too)",
                responses=READ_PROBLEMS)
    async def case_referrals(case_id: UUID, service: ServiceDep, principal: PrincipalDep,
                             wanted: ConsistencyDep, now: NowDep) -> list[views.ReferralView]:
        require(principal, BOARD_READERS, "a case's referrals")
        fresh = await caught_up(service, "referrals", wanted)
        return await views.referrals(service, now, case_id=case_id, fresh=fresh)

    @routes.get("/referrals", response_model=list[views.ReferralView],
                summary="Referrals: a partner's own, or any for supervisors",
                responses=READ_PROBLEMS)
    async def all_referrals(service: ServiceDep, caller: CallerDep, wanted: ConsistencyDep,
                            now: NowDep,
                            limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                            offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
                            ) -> list[views.ReferralView]:
        """A partner token lists the referrals made to its organisation; a supervisor every
        referral."""
        if caller.partner_id is None:
            require(caller, SUPERVISORS, "every referral")
        fresh = await caught_up(service, "referrals", wanted)
        found = await views.referrals(service, now, partner_id=caller.partner_id, limit=limit,
                                      offset=offset, fresh=fresh)
        if caller.partner_id is not None:  # the network's own ids stay inside it
            return [r.model_copy(update={"case_id": None}) for r in found]
        return found

    @routes.get("/referrals/{referral_id}/package", summary="What the consent lets the "
                "network share, as JSON or a printable page (recorded first)",
                response_class=Response, responses={
                    200: {"content": {"application/json": {}, "text/html": {}},
                          "description": "the package; nothing the consent leaves out"},
                    **AUDIT_PROBLEMS})
    async def referral_package(referral_id: UUID, runtime: RuntimeDep, caller: CallerDep,
                               format: Literal["json", "html"] = "json",
                               purpose: Purpose = "referral") -> Response:
        """The partner's own service (a partner token) for a referral made to it, or the
        case's assignee or a supervisor to pass it on by hand; only while the referral is
        sent and not declined, the consent holds and the person's data exists."""
        _ensure_referral_reader(caller)
        referral = await asyncio.to_thread(current, runtime, referral_id, Referral)
        _ensure_own(caller, referral)
        outcome = await runtime.send("referrals.record_export", RecordExport(
            command_id=uuid4(), referral_id=referral_id, format=format, purpose=purpose),
            caller)
        if isinstance(outcome, Rejected):  # not on record: not shown
            return rejected(outcome)
        document = await asyncio.to_thread(_package, runtime, referral_id)
        if format == "html":
            return HTMLResponse(html(document), headers=NOT_KEPT)
        return JSONResponse(document, headers=NOT_KEPT)

    return routes


def _package(runtime: Runtime, referral_id: UUID) -> dict[str, Any]:
    referral = current(runtime, referral_id, Referral)
    case = current(runtime, referral.case_id, Case)
    partner = current(runtime, referral.partner_id, Partner)
    personal = runtime.app.sealer.reveal(case.personal)
    if personal is None:
        raise PersonErased(f"the personal data of case {case.id} was erased")
    return package(case=case, referral=referral, partner_name=partner.name, personal=personal,
                   exported_at=clock_now())



