"""All errors become RFC 9457 problem details, mapped here and nowhere else."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.base import CoordinationError
from services.auth import Forbidden, NotAuthenticated
from services.outcomes import Rejected

PROBLEM = "application/problem+json"
TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
          409: "Conflict", 413: "Too large", 422: "Unprocessable content",
          503: "Unavailable", 504: "Timed out"}


def problem(status: int, detail: str, *, rule: str | None = None,
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:corridor:problem:{rule or status}",
                            "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail}
    if rule:
        body["rule"] = rule
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def rejected(outcome: Rejected) -> JSONResponse:
    return problem(outcome.http_status, outcome.detail, rule=outcome.rule,
                   command_id=str(outcome.command_id), duplicate=outcome.duplicate,
                   **outcome.extra)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path"))


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(tuple(e.get("loc", ()))), "rule": e.get("type", "invalid"),
                   "message": e.get("msg", "")} for e in error.errors()]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        return problem(422, f"{first['field'] or 'request'}: {first['message']}",
                       rule="validation", errors=errors)

    @app.exception_handler(CoordinationError)
    async def broken_rule(_: Request, error: CoordinationError) -> JSONResponse:
        return problem(error.http_status, str(error), rule=error.rule,
                       **getattr(error, "extra", {}))

    @app.exception_handler(PersistenceError)
    async def store_unavailable(_: Request, error: PersistenceError) -> JSONResponse:
        return problem(503, "the event store did not take the write; nothing was stored. "
                            "Retry with the same command id.", rule="StoreUnavailable")

    @app.exception_handler(TimeoutError)
    async def timed_out(_: Request, error: TimeoutError) -> JSONResponse:
        return problem(504, "the command was not answered in time; retry with the same "
                            "command id to learn its outcome", rule="Timeout")

    @app.exception_handler(NotAuthenticated)
    async def unauthenticated(_: Request, error: NotAuthenticated) -> JSONResponse:
        return problem(401, str(error), rule="authentication")

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, error: Forbidden) -> JSONResponse:
        return problem(403, str(error), rule="role")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail))
