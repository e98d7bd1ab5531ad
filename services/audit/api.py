"""The audit over HTTP, for auditors and admins: history, as-of, diff, resources, export and
verification. Every read is recorded in the stream's access log before it is answered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

import services.audit.access_commands  # noqa: F401  (registers the audit commands)
from services.api.deps import PrincipalDep, Purpose, RuntimeDep
from services.api.problems import AUDIT_CHECK_PROBLEMS, AUDIT_PROBLEMS
from services.audit.access import ensure_recorded
from services.audit.export import MEDIA_TYPES, ExportFormat
from services.audit.models import History, ResourceReport, StateDiff, StreamState, VerifyReport
from services.audit.queries import AuditQueries, Viewed
from services.audit.replay import MAX_VERSION, parse_moment, parse_time
from services.audit.verify import verify_store, verify_stream
from services.auth import CallerRole, Forbidden, Principal
from services.bootstrap import Runtime

T = TypeVar("T")
AUDIT_ROLES = frozenset({CallerRole.AUDITOR})  # admins pass every role check


def require_auditor(principal: PrincipalDep) -> Principal:
    if not principal.has_any(AUDIT_ROLES):
        raise Forbidden("the audit needs the auditor or admin role")
    return principal


AuditorDep = Annotated[Principal, Depends(require_auditor)]


def invalid(parameter: str, message: str) -> RequestValidationError:
    """A 422 naming the query parameter (rendered as a problem by services.api.problems)."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", parameter),
                                    "msg": message, "input": None}])


def parsed(parameter: str, parse: Callable[[str], T], text: str) -> T:
    """Parse a query parameter; a ValueError becomes a 422 naming the parameter."""
    try:
        return parse(text)
    except ValueError as error:
        raise invalid(parameter, str(error)) from None


async def answered(runtime: Runtime, principal: Principal, viewed: Viewed[T]) -> T:
    """The result, once the view is on record (not recorded: not shown)."""
    outcome = await runtime.send("audit.record_view", viewed.record, principal)
    ensure_recorded(outcome)
    return viewed.result


def _queries(runtime: Runtime) -> AuditQueries:
    return AuditQueries(runtime.app)


def router() -> APIRouter:
    routes = APIRouter(prefix="/audit", tags=["audit"])

    @routes.get("/verify", response_model=VerifyReport, summary="Prove the history unaltered",
                responses=AUDIT_CHECK_PROBLEMS)
    async def verify(runtime: RuntimeDep, principal: AuditorDep,
                     stream_id: UUID | None = None, snapshots: bool = False) -> VerifyReport:
        """Recompute the hash chain from the stored events (one stream, or the whole store
        with every anchor) and name the first broken event."""
        if stream_id is not None:
            return await asyncio.to_thread(verify_stream, runtime.app, stream_id)
        return await asyncio.to_thread(verify_store, runtime.app, snapshots=snapshots)

    @routes.get("/{stream_id}/history", response_model=History, summary="Event by event",
                responses=AUDIT_PROBLEMS)
    async def history(stream_id: UUID, runtime: RuntimeDep, principal: AuditorDep,
                      purpose: Purpose = "audit",
                      from_version: int = Query(1, ge=1, le=MAX_VERSION),
                      to_version: int | None = Query(None, ge=1, le=MAX_VERSION)) -> History:
        """Each event with the stream's full state right after it."""
        if to_version is not None and to_version < from_version:
            raise invalid("to_version", f"is before from_version ({from_version})")
        viewed = await asyncio.to_thread(_queries(runtime).history, stream_id, principal.actor,
                                         purpose, from_version=from_version,
                                         to_version=to_version)
        return await answered(runtime, principal, viewed)

    @routes.get("/{stream_id}/as-of", response_model=StreamState, summary="State at a moment",
                responses=AUDIT_PROBLEMS)
    async def as_of(stream_id: UUID, runtime: RuntimeDep, principal: AuditorDep,
                    version: int | None = Query(None, ge=0, le=MAX_VERSION),
                    at: str | None = Query(None, description="ISO 8601 time with timezone"),
                    purpose: Purpose = "audit") -> StreamState:
        """The stream as of a version, or as recorded at or before a time."""
        if (version is None) == (at is None):
            raise invalid("version" if version is None else "at",
                          "give exactly one of 'version' and 'at'")
        when = parsed("at", parse_time, at) if at is not None else None
        viewed = await asyncio.to_thread(_queries(runtime).as_of, stream_id, principal.actor,
                                         purpose, version=version, at=when)
        return await answered(runtime, principal, viewed)

    @routes.get("/{stream_id}/diff", response_model=StateDiff, summary="What changed",
                responses=AUDIT_PROBLEMS)
    async def diff(stream_id: UUID, runtime: RuntimeDep, principal: AuditorDep,
                   from_: str = Query(alias="from", description="a version or an ISO time"),
                   to: str = Query(description="a version or an ISO time"),
                   purpose: Purpose = "audit") -> StateDiff:
        """Field-by-field changes between two moments, and the events in between."""
        before, after = parsed("from", parse_moment, from_), parsed("to", parse_moment, to)
        viewed = await asyncio.to_thread(_queries(runtime).diff, stream_id, principal.actor,
                                         purpose, before, after)
        return await answered(runtime, principal, viewed)

    @routes.get("/{stream_id}/resources", response_model=ResourceReport,
                summary="Resources relied on, as they stood then", responses=AUDIT_PROBLEMS)
    async def resources(stream_id: UUID, runtime: RuntimeDep, principal: AuditorDep,
                        purpose: Purpose = "audit") -> ResourceReport:
        """For each event naming resources: each one's verification at that moment."""
        viewed = await asyncio.to_thread(_queries(runtime).resources, stream_id,
                                         principal.actor, purpose)
        return await answered(runtime, principal, viewed)

    @routes.get("/{stream_id}/export", summary="The history as JSON, CSV or printable HTML",
                response_class=Response,
                responses={200: {"content": {m.split(";")[0]: {} for m in MEDIA_TYPES.values()}},
                           **AUDIT_PROBLEMS})
    async def export(stream_id: UUID, runtime: RuntimeDep, principal: AuditorDep,
                     format: ExportFormat = "json", purpose: Purpose = "audit") -> Response:
        """A document of the whole history, with the stream's chain checked at export."""
        viewed = await asyncio.to_thread(_queries(runtime).export, stream_id, principal.actor,
                                         purpose, format)
        content = await answered(runtime, principal, viewed)
        filename = f"history-{stream_id}.{format}"
        return Response(content, media_type=MEDIA_TYPES[format],
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    return routes
