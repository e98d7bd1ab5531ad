"""All errors become RFC 9457 problem details, mapped here and nowhere else; the OpenAPI
document declares them from here too (`problem_responses` and one mapping per kind of route),
so what it says a route answers is what the route answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import psycopg
import psycopg.errors
from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.base import CoordinationError
from services.auth import Forbidden, NotAuthenticated
from services.runtime.outcomes import Rejected
from services.runtime.writer import CommandNotAnswered, WriterBusy
from services.storage.failures import store_full

PROBLEM = "application/problem+json"
TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 408: "Request timeout", 409: "Conflict",
          413: "Too large",
          415: "Unsupported media type",
          422: "Unprocessable content", 500: "Internal error",
          503: "Unavailable", 504: "Timed out"}


class FieldError(BaseModel):
    """One invalid input of a 422."""

    field: str = Field(description="dotted path of the field or parameter; `body` for the "
                                   "body's text as a whole")
    rule: str
    message: str


class Problem(BaseModel):
    """A problem document (RFC 9457). Members beyond these depend on the problem: a rejected
    command's `command_id` and `duplicate`, a conflict's `flags`, a late read's `position`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="urn:corridor:problem:<rule or status>")
    title: str
    status: int
    detail: str
    rule: str | None = Field(default=None, description="the rule or check that refused")
    errors: list[FieldError] | None = Field(default=None, description="a 422's invalid inputs")
    more_errors: int | None = Field(default=None, description="invalid inputs not listed")
    claim: str | None = Field(default=None, description="a 401's malformed token claim")


DESCRIPTIONS = {
    401: "missing or invalid token (`claim` names a malformed claim)",
    403: "the caller's roles do not allow this (or a partner token outside its referrals)",
    404: "nothing with that id; the problem names it",
    408: "the body did not arrive within CORRIDOR_BODY_TIMEOUT_SECONDS; nothing was run",
    409: "a rule was broken, the expected version did not match, or the stored history "
         "cannot be replayed",
    413: "the body is larger than CORRIDOR_MAX_BODY_BYTES",
    415: "the body is not application/json; the problem names the type expected",
    422: "invalid input (a parameter, the body, JSON that is not UTF-8 or nested too deep); "
         "`errors` names each field and rule",
    503: "a store, the read models or the writer are unavailable, or the store's disk is "
         "full (`rule` says which); retry (a command with the same command id)",
    504: "not answered in time: a command (retry with the same command id), or a read model "
         "that had not reached min_position within wait_ms",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: these problems, each as application/problem+json."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {status: {"description": DESCRIPTIONS[status],
                     "content": {PROBLEM: {"schema": schema}}} for status in statuses}


COMMAND_PROBLEMS = problem_responses(401, 403, 404, 408, 409, 413, 415, 422, 503, 504)
"""A command: the token, the role, the body (its size, time, type, JSON and fields), the
domain's rules and the writer."""
READ_PROBLEMS = problem_responses(401, 403, 422, 503, 504)
"""A read-model query for some roles (its parameters, min_position and wait_ms)."""
ONE_ROW_PROBLEMS = problem_responses(401, 403, 404, 422, 503, 504)
"""One row (a volunteer's load, a case) for some roles."""
OPEN_READ_PROBLEMS = problem_responses(401, 403, 422, 503, 504)
"""A read-model query any authenticated caller may make (a partner token's 403)."""
OPEN_ONE_ROW_PROBLEMS = problem_responses(401, 403, 404, 422, 503, 504)
"""One row any authenticated caller may read (a partner token's 403)."""
STREAM_PROBLEMS = problem_responses(401, 403, 422, 503)
"""A live stream (its one parameter, compact)."""
STATUS_PROBLEMS = problem_responses(401, 403, 503)
"""The read models' status (no parameters, any caller but a partner's)."""
AUDIT_PROBLEMS = problem_responses(401, 403, 404, 409, 422, 503, 504)
"""An audit view: recorded in the stream's access log before it is answered."""
AUDIT_CHECK_PROBLEMS = problem_responses(401, 403, 404, 422, 503)
"""A check of the hash chain (nothing replayed, nothing recorded)."""


RETRY_AFTER_SECONDS = 2
"""The Retry-After of a 503: a store that is back, or a writer's queue that has room again,
is usually so within a second or two (docs/operations.md)."""
STORE_DOWN: tuple[type[Exception], ...] = (
    OperationalError, InterfaceError,  # eventsourcing's, raised for psycopg's below
    psycopg.OperationalError, psycopg.InterfaceError,  # PoolTimeout is an OperationalError
    asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError,
    ConnectionError,  # refused, reset, aborted, a broken pipe (OSError's connection kinds)
)
"""What the database's drivers raise when it cannot be reached (psycopg for the event store,
asyncpg for the read models, the socket itself): a 503 `store_unavailable`, not a bug's 500."""


def problem(status: int, detail: str, *, rule: str | None = None,
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:corridor:problem:{rule or status}",
                            "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail}
    if rule:
        body["rule"] = rule
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:  # every 503 here is passing: the client should come back
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
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
    if rule in ("repeated_key", "json_too_deep"):  # about the body's text, not one field
        return {"field": "body", "rule": rule, "message": e.get("msg", "")}
    return {"field": _field(loc), "rule": rule, "message": e.get("msg", "")}


def problem_for(error: Exception) -> JSONResponse | None:
    """The answer to an error raised while carrying a command out, None for a bug (500)."""
    if isinstance(error, CoordinationError):
        return problem(error.http_status, str(error), rule=error.rule,
                       **getattr(error, "extra", {}))
    if store_full(error):
        return problem(503, "the event store's disk is full: nothing was stored. Retry with "
                            "the same command id once space is freed", rule="store_full")
    if isinstance(error, STORE_DOWN):
        return problem(503, f"the database cannot be reached ({type(error).__name__}); "
                            "retry later (a command with the same command id)",
                       rule="store_unavailable")
    if isinstance(error, PersistenceError):
        return problem(503, "the event store did not take the write; nothing was stored. "
                            "Retry with the same command id.", rule="StoreUnavailable")
    if isinstance(error, WriterBusy):
        return problem(503, str(error), rule="writer_busy")
    if isinstance(error, CommandNotAnswered):
        return problem(503, str(error), rule="command_not_answered")
    if isinstance(error, TimeoutError):
        return problem(504, "the command was not answered in time; retry with the same "
                            "command id to learn its outcome", rule="Timeout")
    if isinstance(error, NotAuthenticated):
        named = {"claim": error.claim} if error.claim else {}
        return problem(401, str(error), rule="authentication", **named)
    if isinstance(error, Forbidden):
        return problem(403, str(error), rule="role")
    return None


def invalid_input(found: Sequence[Any]) -> JSONResponse:
    """The 422 for a request's invalid inputs (pydantic's error dicts)."""
    errors = [_error(e) for e in found[:MAX_ERRORS]]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    extra = {"more_errors": len(found) - MAX_ERRORS} if len(found) > MAX_ERRORS else {}
    return problem(422, f"{first['field'] or 'request'}: {first['message']}",
                   rule="validation", errors=errors, **extra)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return invalid_input(error.errors())

    async def mapped(_: Request, error: Exception) -> JSONResponse:
        response = problem_for(error)
        assert response is not None  # registered below only for the errors it maps
        return response

    kinds: tuple[type[Exception], ...] = (
        CoordinationError, PersistenceError, *STORE_DOWN, WriterBusy, CommandNotAnswered,
        TimeoutError, NotAuthenticated, Forbidden)
    for kind in kinds:
        app.add_exception_handler(kind, mapped)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        response = problem(error.status_code, str(error.detail))
        response.headers.update(error.headers or {})  # e.g. the Allow of a 405
        return response

    @app.exception_handler(Exception)
    async def bug(_: Request, error: Exception) -> JSONResponse:
        # Starlette's last resort: the server still logs the error and its traceback; the
        # client gets a problem document instead of a text/plain "Internal Server Error".
        return problem(500, "the service failed on this request; it is logged",
                       rule="internal")

    document_problems(app)


def document_problems(app: FastAPI) -> None:
    """Add the Problem schema to the app's OpenAPI document (the routes' `responses=` refer
    to it; FastAPI collects only the schemas of models it validates)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(schema.pop("$defs", {}))
            schemas["Problem"] = schema
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
