"""Read-only answers that help coordinators decide: what closes soon."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from projections.views import directory
from services.api.deps import PrincipalDep
from services.api.problems import OPEN_READ_PROBLEMS
from services.api.queries import ConsistencyDep, NowDep, ServiceDep, caught_up


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

    return routes
