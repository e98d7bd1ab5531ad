"""Liveness and readiness: each dependency with its state (docs/operations.md).

ready (200): the store, the writer and, with Kafka, the broker answer and the relay keeps up.
degraded (200): commands are stored and reads served, but events do not go out (the broker
is down, or the relay is far behind) or the writer sheds load; keep sending traffic.
not ready (503): the store or the writer does not answer; commands would get 503."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.api.deps import RuntimeDep

READY_TIMEOUT_SECONDS = 3.0
RELAY_LAG_BEHIND = 10_000
"""Events stored but not yet acknowledged by Kafka beyond which the relay counts as behind
(a burst leaves a few thousand for a moment; a stopped relay grows past this in seconds)."""
Dependency = dict[str, Any]
"""{"state": "up" | "down" | "busy" | "behind" | "unknown", and what was measured}"""


class Readiness(BaseModel):
    """Whether this process can serve, and each dependency's check."""

    status: str = Field(description="ready, degraded (events do not go out, or the writer "
                                    "sheds load) or not ready")
    checks: dict[str, Any] = Field(description="each dependency checked, by name: whether "
                                               "it answers")
    dependencies: dict[str, Any] = Field(
        default_factory=dict, description="store, writer, broker, relay: each with its "
        "`state` (up, down, busy, behind, unknown) and what was measured (the relay's `lag`)")


READINESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "ready, or degraded: commands and reads are "
                                             "served, events may not go out yet"},
    503: {"model": Readiness, "description": "a dependency does not answer; `checks` names it"},
}


def _store_answers(runtime: Any) -> bool:
    """One try, no retries: eventsourcing's reads retry for many seconds while the database
    is down, and every probe would leave a thread waiting that long."""
    pool = getattr(getattr(runtime.app.recorder, "datastore", None), "pool", None)
    try:
        if runtime.settings.store == "postgres" and pool is not None:
            with pool.connection(timeout=READY_TIMEOUT_SECONDS) as conn:
                conn.execute("SELECT 1")
        else:
            runtime.app.recorder.max_notification_id()
    except Exception:
        return False
    return True


def _relay_lag(runtime: Any) -> int:
    """Events stored but not yet acknowledged by Kafka (any process can read it)."""
    from services.kafka.positions import postgres_position, sqlite_position

    app = runtime.app
    newest = app.recorder.max_notification_id() or 0
    read = postgres_position if runtime.settings.store == "postgres" else sqlite_position
    return max(0, newest - read(app.recorder.datastore, "events"))


async def _within(check: Any, *args: Any) -> Any:
    """A blocking check on a thread, given up after READY_TIMEOUT_SECONDS (None)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(check, *args), READY_TIMEOUT_SECONDS)
    except Exception:
        return None


async def _writer(runtime: Any) -> Dependency:
    if runtime.remote is not None:  # an HTTP worker: its commands go to the writer process
        up = await runtime.remote.ping(READY_TIMEOUT_SECONDS)
        return {"state": "up" if up else "down"}
    writer = runtime.writer
    limit = writer.max_queued
    if limit is not None and writer.queued >= limit:
        return {"state": "busy", "queued": writer.queued}
    return {"state": "up", "queued": writer.queued}


async def _broker(runtime: Any) -> Dependency:
    if runtime.kafka is not None:
        up = await runtime.kafka.probe()
    else:  # an HTTP worker: the relay runs in the writer process; ask the broker here
        from services.kafka.clients import kafka_probe

        up = await kafka_probe(runtime.settings, READY_TIMEOUT_SECONDS)
    return {"state": "up" if up else "down"}


async def dependencies(runtime: Any) -> dict[str, Dependency]:
    """Each dependency of this process with its state. The checks run side by side, so a
    probe is answered within one check's bound (READY_TIMEOUT_SECONDS) even while several
    dependencies are down, before a prober's own timeout (commonly 5 s)."""
    kafka = runtime.settings.uses_kafka
    store_ok, writer, broker, lag = await asyncio.gather(
        _within(_store_answers, runtime), _writer(runtime),
        _broker(runtime) if kafka else _nothing(), _within(_relay_lag, runtime) if kafka
        else _nothing())
    found: dict[str, Dependency] = {"store": {"state": "up" if store_ok else "down"},
                                    "writer": writer}
    if kafka and broker is not None:
        found["broker"] = broker
        found["relay"] = ({"state": "unknown"} if lag is None or not store_ok else
                          {"state": "behind" if lag > RELAY_LAG_BEHIND else "up", "lag": lag})
    return found


async def _nothing() -> None:
    return None


def status_of(found: dict[str, Dependency]) -> str:
    """not ready when commands cannot be stored; degraded when they can but events do not
    go out (or the writer sheds load); else ready."""
    if found["store"]["state"] != "up" or found["writer"]["state"] == "down":
        return "not ready"
    if any(d["state"] != "up" for d in found.values()):
        return "degraded"
    return "ready"


def router() -> APIRouter:
    routes = APIRouter(tags=["health"])

    @routes.get("/health/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @routes.get("/health/ready", summary="The store (writer process, Kafka if used) answer",
                responses=READINESS_RESPONSES)
    async def ready(runtime: RuntimeDep) -> JSONResponse:
        found = await dependencies(runtime)  # each check gives up within a few seconds
        status = status_of(found)
        checks = {"event_store": found["store"]["state"] == "up"}
        if runtime.remote is not None:
            checks["writer"] = found["writer"]["state"] == "up"
        if "broker" in found:
            checks["kafka"] = found["broker"]["state"] == "up"
        return JSONResponse({"status": status, "checks": checks, "dependencies": found},
                            status_code=503 if status == "not ready" else 200)

    return routes
