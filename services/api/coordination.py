"""Read-only answers that help coordinators decide: what closes soon, and who and what could
serve a case (explained)."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from domain.base import NotFound
from projections.views import directory, suggestions
from services.api.deps import PrincipalDep
from services.api.problems import ONE_ROW_PROBLEMS, OPEN_READ_PROBLEMS
from services.api.queries import (
    BOARD_READERS,
    ConsistencyDep,
    NowDep,
    ServiceDep,
    caught_up,
    require,
)

READ_MODELS = ("case_board", "volunteer_workload", "resource_directory")


def router() -> APIRouter:
    """The coordination endpoints (registered before /resources/{resource_id})."""
    routes = APIRouter(tags=["read models"])

    @routes.get("/resources/closing-soon", response_model=directory.ClosingSoonPage,
                summary="Resources on offer whose window closes (or that leave) soon",
                responses=OPEN_READ_PROBLEMS)
    async def closing_soon(q: Annotated[directory.ClosingSoonQuery, Query()],
                           service: ServiceDep, principal: PrincipalDep,
                           wanted: ConsistencyDep, now: NowDep) -> directory.ClosingSoonPage:
        """Any caller who may read the directory: corridors, crossings and checkpoints whose
        window closes, curfews coming into force, transports leaving, soonest first."""
        fresh = await caught_up(service, "resource_directory", wanted)
        return await directory.closing_soon(service, q, now, fresh=fresh)

    @routes.get("/cases/{case_id}/suggestions", response_model=suggestions.Suggestions,
                summary="Who should take a case and what fits it, with reasons",
                responses=ONE_ROW_PROBLEMS)
    async def case_suggestions(case_id: UUID,
                               q: Annotated[suggestions.SuggestionsQuery, Query()],
                               service: ServiceDep, principal: PrincipalDep,
                               wanted: ConsistencyDep,
                               now: NowDep) -> suggestions.Suggestions:
        """Caseworkers and supervisors (a supervisor assigns from them with cases/assign):
        volunteers cleared, in good standing, on shift and not past a long day, scored by
        language, daytime and load; resources usable, open and fitting the household, and
        the near misses with why they were left out. Reads only; records nothing."""
        require(principal, BOARD_READERS, "suggestions")
        fresh = any(await asyncio.gather(*(caught_up(service, m, wanted) for m in READ_MODELS)))
        found = await suggestions.suggestions(service, case_id, q, now, fresh=fresh)
        if found is None:
            raise NotFound(f"no case {case_id} on the board")
        return found

    return routes
