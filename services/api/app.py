"""The FastAPI application: commands, queries, health; wiring in the lifespan only."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services import bootstrap
from services.api import (
    cases,
    command_routes,
    console,
    health,
    overview,
    problems,
    queries,
    referrals,
    routes_api,
)
from services.audit import api as audit_api
from services.settings import Settings


def tune_collector() -> None:
    """Long-lived start-up objects need no more collection; collecting young objects less
    often keeps collector pauses out of the commands' tail latency (under load a full
    collection over the start-up objects stalls every command in flight). Off in tests,
    which start many apps in one process and must not freeze their garbage."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await asyncio.to_thread(bootstrap.for_api, settings)
        app.state.runtime = runtime
        async with runtime.running():
            with queries.streams_end_on_signals(runtime.projections):
                if settings.tune_gc:
                    tune_collector()
                yield

    # No redirect for a trailing slash: Starlette's points at whatever Host the client sent.
    api = FastAPI(title="corridor", version="0.1.0", lifespan=lifespan, redirect_slashes=False,
                  description="Coordination backend for volunteer evacuation networks: "
                              "commands in, events stored, read models out.",
                  # corridor's metrics are Prometheus' (/metrics) and it configures no
                  # OpenTelemetry; left on, FastAPI asks OpenTelemetry's global providers
                  # whether to trace on every request (a visible share of each command)
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    problems.install(api)
    command_routes.install(api)
    api.include_router(queries.router())
    api.include_router(overview.router())
    api.include_router(cases.router())
    api.include_router(referrals.router())
    api.include_router(routes_api.router())
    api.include_router(audit_api.router())
    api.include_router(health.router())
    console.install(api)  # last: its files are mounted under /console
    return api
