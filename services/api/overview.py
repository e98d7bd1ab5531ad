"""Reads the console's pages need beyond the board's pages: one board row (a psychologist's
only for the cases of their support groups), open cases by urgency over time, and every
reported resource (offered or not) for fact-checkers and supervisors. Registered after the
board's routes: `/board/{case_id}` would take theirs."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from domain.base import NotFound
from projections.views import board, directory
from services.api.deps import PrincipalDep
from services.api.problems import ONE_ROW_PROBLEMS, OPEN_READ_PROBLEMS, READ_PROBLEMS
from services.api.queries import (
    BOARD_READERS,
    SUPERVISORS,
    ConsistencyDep,
    NowDep,
    ServiceDep,
    board_scope,
    caught_up,
    require,
)


def router() -> APIRouter:
    routes = APIRouter(tags=["read models"])

    @routes.get("/board/history", response_model=board.BoardHistory,
                summary="Open cases by urgency over time", responses=READ_PROBLEMS)
    async def board_history(q: Annotated[board.HistoryQuery, Query()], service: ServiceDep,
                            principal: PrincipalDep, wanted: ConsistencyDep,
                            now: NowDep) -> board.BoardHistory:
        """A case counts from its intake until it closed, with the urgency its intake set
        (no event changes it later)."""
        require(principal, BOARD_READERS, "the board")
        await caught_up(service, "case_board", wanted)
        return await board.history(service, q, now)

    @routes.get("/board/{case_id}", response_model=board.BoardCase,
                summary="One case's board row (no personal data)", responses=ONE_ROW_PROBLEMS)
    async def board_row(case_id: UUID, service: ServiceDep, principal: PrincipalDep,
                        wanted: ConsistencyDep, now: NowDep) -> board.BoardCase:
        """What the board shows of one case, open or closed: for a page that must not reveal
        personal data before the caller says why they look."""
        psychologist = board_scope(principal, "a case's board row")
        await caught_up(service, "case_board", wanted)
        rows = await board.cases_by_id(service, [str(case_id)], now,
                                       supervisor=principal.has_any(SUPERVISORS),
                                       psychologist_id=psychologist)
        if not rows:
            raise NotFound(f"no case {case_id} on the board" if psychologist is None else
                           f"no case {case_id} in a support group you lead")
        return rows[0]

    @routes.get("/resources", response_model=directory.ResourceListPage,
                summary="Every reported resource, offered or not", responses=OPEN_READ_PROBLEMS)
    async def resource_list(q: Annotated[directory.ResourceListQuery, Query()],
                            service: ServiceDep, principal: PrincipalDep,
                            wanted: ConsistencyDep, now: NowDep) -> directory.ResourceListPage:
        """Any caller who may read the directory: status, verification and its countdown,
        and the open cases relying on each (what to verify, renew or recall)."""
        fresh = await caught_up(service, "resource_directory", wanted)
        return await directory.listing(service, q, now, fresh=fresh)

    return routes
