"""What each route is really like (GET /routes): outcomes per route, corridor, crossing and
checkpoint over a period, k-anonymous, with no case ids and nothing personal."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from domain.base import NotFound
from projections.views import routes as views
from services.api.deps import PrincipalDep
from services.api.problems import ONE_ROW_PROBLEMS, READ_PROBLEMS
from services.api.queries import (
    BOARD_READERS,
    ConsistencyDep,
    NowDep,
    ServiceDep,
    caught_up,
    require,
)


def router() -> APIRouter:
    routes = APIRouter(tags=["read models"])

    @routes.get("/routes", response_model=views.RoutesPage,
                summary="Outcomes per route, corridor, crossing and checkpoint over a period",
                responses=READ_PROBLEMS)
    async def all_routes(q: Annotated[views.RoutesQuery, Query()], service: ServiceDep,
                         principal: PrincipalDep, wanted: ConsistencyDep,
                         now: NowDep) -> views.RoutesPage:
        """Caseworkers and supervisors choosing a route: departed, arrived safe, stuck,
        returned, median hours to arrival and the last incident; counts under 5 cases are
        shown as 'fewer than 5'."""
        require(principal, BOARD_READERS, "route outcomes")
        fresh = await caught_up(service, "route_outcomes", wanted)
        return await views.routes(service, q, now, fresh=fresh)

    @routes.get("/routes/{resource_id}", response_model=views.RouteOutcome,
                summary="One route's outcomes over a period", responses=ONE_ROW_PROBLEMS)
    async def one_route(resource_id: UUID, q: Annotated[views.RoutePeriod, Query()],
                        service: ServiceDep, principal: PrincipalDep, wanted: ConsistencyDep,
                        now: NowDep) -> views.RouteOutcome:
        require(principal, BOARD_READERS, "route outcomes")
        fresh = await caught_up(service, "route_outcomes", wanted)
        found = await views.route(service, resource_id, q, now, fresh=fresh)
        if found is None:
            raise NotFound(f"no route, corridor, crossing or checkpoint {resource_id}")
        return found

    return routes
