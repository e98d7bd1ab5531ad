"""The FastAPI application: commands, queries, health; wiring in the lifespan only."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.api import cases, command_routes, health, problems, queries
from services.audit import api as audit_api
from services.bootstrap import Runtime, build_runtime
from services.settings import Settings

Hook = Callable[[Runtime], Any]


def startup_hooks(*, writes_here: bool = True) -> list[Hook]:
    """Async hooks returning an async stop: the read models (and their in-process
    projections), the Kafka relay and command consumer (when configured), anchoring.
    An HTTP worker that sends its commands to a writer process only opens the read models."""
    from services.api.queries import start_projections
    from services.audit.anchoring import anchoring
    from services.cli.kafka import start_in_process

    if not writes_here:
        return [start_projections]
    return [start_projections, start_in_process, anchoring(every_seconds=600.0),
            *STARTUP_HOOKS]


@asynccontextmanager
async def started(runtime: Runtime, hooks: list[Hook]) -> AsyncIterator[None]:
    """Run the start hooks, then (on exit, in reverse) their stops and close the runtime."""
    stops = []
    try:
        for hook in hooks:
            stop = await hook(runtime)
            if stop is not None:
                stops.append(stop)
        yield
    finally:
        for stop in reversed(stops):
            await stop()
        await asyncio.to_thread(runtime.close)


def tune_collector() -> None:
    """Long-lived start-up objects need no more collection; collecting young objects less
    often keeps collector pauses out of the commands' tail latency (under load a full
    collection over the start-up objects stalls every command in flight). Off in tests,
    which start many apps in one process and must not freeze their garbage."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


async def build(settings: Settings, *, writer_on_loop: bool = False) -> Runtime:
    """This process's runtime; an HTTP worker (CORRIDOR_WRITER_SOCKET set) starts no
    writer, reactions or projections of its own and connects to the writer process. With
    `writer_on_loop` (the writer process), commands run on this event loop's thread."""
    socket = settings.writer_socket
    if not socket:
        loop = asyncio.get_running_loop() if writer_on_loop else None
        return await asyncio.to_thread(build_runtime, settings, writer_loop=loop)
    from services.runtime.ipc import RemoteCommands

    settings = settings.model_copy(update={"projections_in_process": False,
                                           "reactions_in_process": False})
    runtime = await asyncio.to_thread(build_runtime, settings, start_writer=False)
    runtime.remote = RemoteCommands(socket)
    return runtime


STARTUP_HOOKS: list[Hook] = []
"""Extra async start/stop pairs, run after the built-in ones."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build(settings)
        app.state.runtime = runtime
        async with started(runtime, startup_hooks(writes_here=runtime.remote is None)):
            if settings.tune_gc:
                tune_collector()
            yield

    # No redirect for a trailing slash: Starlette's points at whatever Host the client sent.
    api = FastAPI(title="corridor", version="0.1.0", lifespan=lifespan, redirect_slashes=False,
                  description="Coordination backend for volunteer evacuation networks: "
                              "commands in, events stored, read models out.")
    problems.install(api)
    command_routes.install(api)
    api.include_router(queries.router())
    api.include_router(cases.router())
    api.include_router(audit_api.router())
    api.include_router(health.router())
    return api
