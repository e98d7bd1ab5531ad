"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.deps import RuntimeDep


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

    @routes.get("/health/ready", summary="The event store (and Kafka, if configured) answer")
    async def ready(runtime: RuntimeDep) -> JSONResponse:
        checks: dict[str, bool] = {"event_store": await asyncio.to_thread(_store_answers, runtime)}
        probe = runtime.extras.get("kafka_probe")
        if probe is not None:
            checks["kafka"] = await probe()
        ok = all(checks.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks},
                            status_code=200 if ok else 503)

    return routes
