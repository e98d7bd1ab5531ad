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
from services.runtime.outcomes import Rejected

PROBLEM = "application/problem+json"
TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 408: "Request timeout", 409: "Conflict",
          413: "Too large",
          415: "Unsupported media type",
          422: "Unprocessable content",
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


MAX_ERRORS = 20
"""Errors listed in one 422 (a body with tens of thousands of unknown keys would otherwise
get an answer of megabytes)."""


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path"))


def _error(e: Any) -> dict[str, str]:
    loc, rule = tuple(e.get("loc", ())), e.get("type", "invalid")
    if rule == "json_invalid":  # its loc ends with the character offset, not a field
        reason = e.get("ctx", {}).get("error", "")
        where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        return {"field": "body", "rule": rule,
                "message": f"not valid JSON{where}" + (f" ({reason})" if reason else "")}
    if rule == "repeated_key":  # about the body's text, not one field of it
        return {"field": "body", "rule": rule, "message": e.get("msg", "")}
    return {"field": _field(loc), "rule": rule, "message": e.get("msg", "")}


def problem_for(error: Exception) -> JSONResponse | None:
    """The answer to an error raised while carrying a command out, None for a bug (500)."""
    if isinstance(error, CoordinationError):
        return problem(error.http_status, str(error), rule=error.rule,
                       **getattr(error, "extra", {}))
    if isinstance(error, PersistenceError):
        return problem(503, "the event store did not take the write; nothing was stored. "
                            "Retry with the same command id.", rule="StoreUnavailable")
    if isinstance(error, TimeoutError):
        return problem(504, "the command was not answered in time; retry with the same "
                            "command id to learn its outcome", rule="Timeout")
    if isinstance(error, NotAuthenticated):
        named = {"claim": error.claim} if error.claim else {}
        return problem(401, str(error), rule="authentication", **named)
    if isinstance(error, Forbidden):
        return problem(403, str(error), rule="role")
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        found = error.errors()
        errors = [_error(e) for e in found[:MAX_ERRORS]]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        extra = {"more_errors": len(found) - MAX_ERRORS} if len(found) > MAX_ERRORS else {}
        return problem(422, f"{first['field'] or 'request'}: {first['message']}",
                       rule="validation", errors=errors, **extra)

    async def mapped(_: Request, error: Exception) -> JSONResponse:
        response = problem_for(error)
        assert response is not None  # registered below only for the errors it maps
        return response

    for kind in (CoordinationError, PersistenceError, TimeoutError, NotAuthenticated,
                 Forbidden):
        app.add_exception_handler(kind, mapped)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        response = problem(error.status_code, str(error.detail))
        response.headers.update(error.headers or {})  # e.g. the Allow of a 405
        return response
