"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.api.deps import RuntimeDep

READY_TIMEOUT_SECONDS = 3.0


class Readiness(BaseModel):
    """Whether this process can serve, and each dependency's check."""

    status: str
    checks: dict[str, Any] = Field(description="each dependency checked, by name")


READINESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "every dependency answers"},
    503: {"model": Readiness, "description": "a dependency does not answer; `checks` names it"},
}


def _store_answers(runtime: Any) -> bool:
    try:
        runtime.app.recorder.max_notification_id()
    except Exception:
        return False
    return True


def router() -> APIRouter:
    routes = APIRouter(tags=["health"])

    @routes.get("/health/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @routes.get("/health/ready", summary="The store (writer process, Kafka if used) answer",
                responses=READINESS_RESPONSES)
    async def ready(runtime: RuntimeDep) -> JSONResponse:
        try:  # a probe must answer fast: a store that does not answer in time is not ready
            store_ok = await asyncio.wait_for(asyncio.to_thread(_store_answers, runtime),
                                              READY_TIMEOUT_SECONDS)
        except TimeoutError:
            store_ok = False
        checks: dict[str, bool] = {"event_store": store_ok}
        if runtime.remote is not None:  # an HTTP worker: its commands go to the writer
            checks["writer"] = await runtime.remote.ping(READY_TIMEOUT_SECONDS)
        if runtime.kafka is not None:
            checks["kafka"] = await runtime.kafka.probe()
        ok = all(checks.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks},
                            status_code=200 if ok else 503)

    return routes
