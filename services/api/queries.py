"""Read-model queries over HTTP: board, audit trail, workload, resource directory, status.

Every read endpoint takes `min_position` (a position a command returned) and `wait_ms`: it
answers once the read model has applied that position, or with 504 when it has not in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel, Field
from pydantic_core import to_json

from domain.base import CoordinationError, InvalidCommand, NotFound
from projections import metrics
from projections.service import ProjectionService
from projections.tracking import Touched
from projections.views import audit, board, directory, workload
from projections.views.common import Moment
from services.api.deps import PrincipalDep, RuntimeDep
from services.api.problems import (
    ONE_ROW_PROBLEMS,
    OPEN_ONE_ROW_PROBLEMS,
    OPEN_READ_PROBLEMS,
    READ_PROBLEMS,
    STATUS_PROBLEMS,
    STREAM_PROBLEMS,
)
from services.auth import CallerRole, Forbidden, Principal
from services.clock import now as clock_now

R = CallerRole
BOARD_READERS = frozenset({R.VOLUNTEER, R.SUPERVISOR})
SUPERVISORS = frozenset({R.SUPERVISOR})
AUDIT_READERS = frozenset({R.AUDITOR, R.SUPERVISOR})
CHECKERS = frozenset({R.FACT_CHECKER, R.SUPERVISOR})
PSYCHOLOGISTS = frozenset({R.PSYCHOLOGIST})
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 300.0
"""A stream ends after this long (EventSource reconnects): a bound on how long one can
hold a shutting-down server if its signal was not seen."""


class PositionNotWritten(InvalidCommand):
    """The requested position was never written to the store."""


class ReadModelBehind(CoordinationError):
    """The read model had not applied the requested position when the wait ran out."""

    http_status = 504


class ProjectionsUnavailable(CoordinationError):
    """This process serves no read models (its runtime has none)."""

    http_status = 503


def get_service(runtime: RuntimeDep) -> ProjectionService:
    service = runtime.projections
    if service is None:
        raise ProjectionsUnavailable("read models are not running in this process")
    return service


ServiceDep = Annotated[ProjectionService, Depends(get_service)]


class Consistency(BaseModel):
    """Read-your-writes: wait for a position before answering."""

    min_position: int | None = None
    wait_ms: int = 5000


def consistency(
    min_position: Annotated[int | None, Query(ge=0, description="answer only once the read "
                                              "model has applied this store position (the "
                                              "`position` a command returned)")] = None,
    wait_ms: Annotated[int, Query(ge=0, le=30_000, description="how long to wait for "
                                  "min_position before answering 504")] = 5000,
) -> Consistency:
    return Consistency(min_position=min_position, wait_ms=wait_ms)


ConsistencyDep = Annotated[Consistency, Depends(consistency)]


def as_of(now: Annotated[Moment | None, Query(
        description="the moment waits, hours and expiries are computed for (default: now)",
        )] = None) -> datetime:
    return now or clock_now()


NowDep = Annotated[datetime, Depends(as_of)]


def require(principal: Principal, roles: frozenset[CallerRole], what: str) -> None:
    if not principal.has_any(roles):
        raise Forbidden(f"{what} needs one of the roles: {', '.join(sorted(roles))}")


def board_scope(principal: Principal, what: str) -> UUID | None:
    """Whose support groups' cases alone the caller may see on the board: None for the
    whole board (volunteers, supervisors), a psychologist's own id for a psychologist."""
    if principal.has_any(BOARD_READERS):
        return None
    if not principal.has_any(PSYCHOLOGISTS):
        raise Forbidden(f"{what} needs one of the roles: {', '.join(sorted(BOARD_READERS))} "
                        "(or psychologist, for the cases of their support groups)")
    try:
        return UUID(principal.actor)
    except ValueError:
        raise Forbidden(f"{what}: a psychologist's token names them by their volunteer id, "
                        f"not {principal.actor!r}") from None


async def caught_up(service: ProjectionService, projection: str, wanted: Consistency) -> bool:
    """Wait for the wanted position; True when a fresh table lookup is due."""
    if wanted.min_position is None:
        return False
    head = await service.head()
    if service.recorder is not None and wanted.min_position > head:  # never written
        unwritten = PositionNotWritten(f"min_position {wanted.min_position} is beyond the "
                                       f"newest store position {head}")
        unwritten.extra = {"head": head}  # type: ignore[attr-defined]
        raise unwritten
    if not await service.wait_for(projection, wanted.min_position, wanted.wait_ms / 1000):
        reached = (await service.positions()).get(projection, 0)
        error = ReadModelBehind(f"{projection} is at position {reached}, not yet at "
                                f"{wanted.min_position}, after {wanted.wait_ms} ms")
        error.extra = {"position": reached,  # type: ignore[attr-defined]
                       "min_position": wanted.min_position}
        raise error
    return True


class ProjectionStatusView(BaseModel):
    """Where one read model stands."""

    projection: str
    generation: int | None
    position: int = Field(description="last store notification id applied")
    head: int = Field(description="newest notification id in the store")
    lag: int
    code_version: int
    needs_rebuild: bool
    building: dict[int, int] = Field(description="generations being rebuilt: position")


def router() -> APIRouter:
    """The query endpoints."""
    from services.api import coordination  # it builds on the dependencies here

    routes = APIRouter(tags=["read models"])
    _board_routes(routes)
    _audit_routes(routes)
    _workload_routes(routes)
    routes.include_router(coordination.router())  # before /resources/{resource_id}
    _directory_routes(routes)
    _status_routes(routes)
    return routes


def _board_routes(routes: APIRouter) -> None:
    @routes.get("/board", response_model=board.BoardPage, summary="The case board",
                responses=READ_PROBLEMS)
    async def case_board(q: Annotated[board.BoardQuery, Query()], service: ServiceDep,
                         principal: PrincipalDep, wanted: ConsistencyDep,
                         now: NowDep) -> board.BoardPage:
        psychologist = board_scope(principal, "the board")
        if psychologist is not None:
            if q.psychologist_id not in (None, psychologist):
                raise Forbidden("a psychologist sees the cases of their own support groups")
            q = q.model_copy(update={"psychologist_id": psychologist})
        fresh = await caught_up(service, "case_board", wanted)
        return await board.board(service, q, now, supervisor=principal.has_any(SUPERVISORS),
                                 fresh=fresh)

    @routes.get("/board/counts", response_model=board.BoardCounts,
                summary="Cases by status and urgency", responses=READ_PROBLEMS)
    async def board_counts(service: ServiceDep, principal: PrincipalDep,
                           wanted: ConsistencyDep, now: NowDep) -> board.BoardCounts:
        require(principal, BOARD_READERS, "the board")
        await caught_up(service, "case_board", wanted)
        return await board.counts(service, now)

    @routes.get("/board/resource-alerts", response_model=list[board.ResourceAlert],
                summary="Open cases relying on a resource that changed",
                responses=READ_PROBLEMS)
    async def resource_alerts(service: ServiceDep, principal: PrincipalDep,
                              wanted: ConsistencyDep, now: NowDep,
                              limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                              offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
                              ) -> list[board.ResourceAlert]:
        require(principal, BOARD_READERS, "the board")
        await caught_up(service, "case_board", wanted)
        return await board.resource_alerts(service, now, limit, offset)

    @routes.get("/board/stream", summary="Board changes as server-sent events",
                response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {}},
                                 "description": "`case` events carry a board row; with "
                                                "compact=true, `cases` events carry the rows "
                                                "changed together as {fields, rows} (each "
                                                "row a list of values in the fields' order); "
                                                "`refresh` asks to reload"},
                           **STREAM_PROBLEMS})
    async def board_stream(request: Request, service: ServiceDep, principal: PrincipalDep,
                           compact: Annotated[bool, Query(description=(
                               "rows changed together in one `cases` event, their field names "
                               "once (about a third of the bytes of `case` events: what the "
                               "console asks for)"))] = False) -> StreamingResponse:
        view = StreamView(principal.has_any(SUPERVISORS), board_scope(principal, "the board"),
                          compact)
        events = board_events(service, view, request.is_disconnected)
        return StreamingResponse(events, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})


def _audit_routes(routes: APIRouter) -> None:
    @routes.get("/audit", response_model=audit.AuditPage, summary="The audit trail",
                responses=READ_PROBLEMS)
    async def audit_trail(q: Annotated[audit.AuditQuery, Query()], service: ServiceDep,
                          principal: PrincipalDep, wanted: ConsistencyDep) -> audit.AuditPage:
        require(principal, AUDIT_READERS, "the audit trail")
        fresh = await caught_up(service, "audit_trail", wanted)
        return await audit.trail(service, q, fresh=fresh)


def _workload_routes(routes: APIRouter) -> None:
    @routes.get("/workload", response_model=workload.WorkloadPage,
                summary="Volunteer workload and who has capacity now",
                responses=READ_PROBLEMS)
    async def volunteer_workload(q: Annotated[workload.WorkloadQuery, Query()],
                                 service: ServiceDep, principal: PrincipalDep,
                                 wanted: ConsistencyDep, now: NowDep) -> workload.WorkloadPage:
        require(principal, BOARD_READERS, "the workload view")
        fresh = await caught_up(service, "volunteer_workload", wanted)
        return await workload.workload(service, q, now, fresh=fresh)

    @routes.get("/workload/{volunteer_id}", response_model=workload.VolunteerLoad,
                summary="One volunteer's workload", responses=ONE_ROW_PROBLEMS)
    async def one_volunteer(volunteer_id: UUID,
                            limits: Annotated[workload.VolunteerLimits, Query()],
                            service: ServiceDep, principal: PrincipalDep,
                            wanted: ConsistencyDep, now: NowDep) -> workload.VolunteerLoad:
        require(principal, BOARD_READERS, "the workload view")
        fresh = await caught_up(service, "volunteer_workload", wanted)
        load = await workload.volunteer_load(service, volunteer_id, limits, now, fresh=fresh)
        if load is None:
            raise NotFound(f"no registered volunteer {volunteer_id}")
        return load


def _directory_routes(routes: APIRouter) -> None:
    @routes.get("/resources/directory", response_model=directory.DirectoryPage,
                summary="Verified, unexpired, available resources",
                responses=OPEN_READ_PROBLEMS)
    async def resource_directory(q: Annotated[directory.DirectoryQuery, Query()],
                                 service: ServiceDep, principal: PrincipalDep,
                                 wanted: ConsistencyDep, now: NowDep) -> directory.DirectoryPage:
        fresh = await caught_up(service, "resource_directory", wanted)
        return await directory.directory(service, q, now, fresh=fresh)

    @routes.get("/resources/expiring", response_model=directory.ExpiringPage,
                summary="Verifications running out (for fact-checkers)",
                responses=READ_PROBLEMS)
    async def expiring(q: Annotated[directory.ExpiringQuery, Query()], service: ServiceDep,
                       principal: PrincipalDep, wanted: ConsistencyDep,
                       now: NowDep) -> directory.ExpiringPage:
        require(principal, CHECKERS, "expiring verifications")
        fresh = await caught_up(service, "resource_directory", wanted)
        return await directory.expiring(service, q, now, fresh=fresh)

    # After the two above: their paths would otherwise be taken for a resource id.
    @routes.get("/resources/{resource_id}", response_model=directory.DirectoryEntry,
                summary="One resource: status, verification, whether usable now, who relies "
                        "on it", responses=OPEN_ONE_ROW_PROBLEMS)
    async def one_resource(resource_id: UUID, service: ServiceDep, principal: PrincipalDep,
                           wanted: ConsistencyDep, now: NowDep) -> directory.DirectoryEntry:
        """Any caller who may read the directory; the contact person stays sealed."""
        fresh = any(await asyncio.gather(caught_up(service, "resource_directory", wanted),
                                         caught_up(service, "case_board", wanted)))
        found = await directory.entry(service, resource_id, now, fresh=fresh)
        if found is None:
            raise NotFound(f"no resource {resource_id} in the directory")
        return found


def _status_routes(routes: APIRouter) -> None:
    @routes.get("/projections/status", response_model=list[ProjectionStatusView],
                summary="Position, store head and lag of every read model",
                responses=STATUS_PROBLEMS)
    async def status(service: ServiceDep, principal: PrincipalDep) -> list[ProjectionStatusView]:
        statuses = await service.status()
        metrics.record(statuses)
        return [ProjectionStatusView(
            projection=s.projection, generation=s.generation, position=s.position,
            head=s.head, lag=s.lag, code_version=s.code_version,
            needs_rebuild=s.needs_rebuild, building=s.building) for s in statuses]

    @routes.get("/metrics", summary="Prometheus metrics (projection lag and more)",
                response_class=Response, tags=["health"],
                responses={200: {"description": "the Prometheus text format",
                                 "content": {CONTENT_TYPE_LATEST.split(";")[0]: {
                                     "schema": {"type": "string"}}}}})
    async def prometheus(runtime: RuntimeDep) -> Response:
        if runtime.projections is not None:
            metrics.record(await runtime.projections.status())
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@dataclass(frozen=True)
class StreamView:
    """What one stream is sent: supervisors' rows or everyone's, a psychologist's cases only
    (their id) or all, rows one by one or together (compact)."""

    supervisor: bool = False
    psychologist: UUID | None = None
    compact: bool = False


async def board_events(service: ProjectionService, view: StreamView,
                       disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[bytes]:
    """Server-sent events: the changed board rows (a `case` event each, or one `cases` event
    when compact), `refresh` when too many; for a psychologist, only the rows of their
    support groups' cases."""
    ends = asyncio.get_running_loop().time() + STREAM_SECONDS
    async with service.feed.subscribe() as queue:
        yield b"retry: 2000\n: connected\n\n"
        while not await disconnected() and asyncio.get_running_loop().time() < ends:
            touched = await _next_change(service, queue)
            if service.closing:
                return
            if touched is None:
                yield b": keep-alive\n\n"
                continue
            waiting = [touched]  # and what queued meanwhile: one write for all of it
            while not queue.empty():
                waiting.append(queue.get_nowait())
            chunks = [await SHARED_FRAMES.frames(service, each, view) for each in waiting]
            sending = b"".join(chunk for frames in chunks for chunk in frames)
            if sending:  # nothing of what changed is this stream's to see
                yield sending


async def _next_change(service: ProjectionService,
                       queue: asyncio.Queue[Touched]) -> Touched | None:
    """The next change, or None after a heartbeat interval or when the server closes."""
    change = asyncio.ensure_future(queue.get())
    closing = asyncio.ensure_future(service.closing_event.wait())
    try:
        await asyncio.wait([change, closing], timeout=HEARTBEAT_SECONDS,
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        closing.cancel()
        if not change.done():
            change.cancel()
    return change.result() if change.done() and not change.cancelled() else None


class SharedFrames:
    """The frames of one board change, made once for all the streams that send it: the feed
    hands every stream the same change, and each asking the board for the same rows made
    the cost of a command grow with the number of open consoles."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._made: OrderedDict[tuple[int, StreamView],
                                tuple[Touched, asyncio.Future[list[bytes]]]] = OrderedDict()

    async def frames(self, service: ProjectionService, touched: Touched,
                     view: StreamView) -> list[bytes]:
        key = (id(touched), view)
        found = self._made.get(key)
        future: asyncio.Future[list[bytes]]
        if found is None or found[0] is not touched:  # an id is reused once its object died
            future = asyncio.ensure_future(_frames(service, touched, view))
            self._made[key] = (touched, future)
            while len(self._made) > self._size:
                self._made.popitem(last=False)
        else:
            future = found[1]
        return await asyncio.shield(future)  # a stream that goes away cancels only itself


SHARED_FRAMES = SharedFrames()


async def _frames(service: ProjectionService, touched: Touched,
                  view: StreamView) -> list[bytes]:
    if touched.everything:
        return [sse("refresh", {})]
    cases = sorted(touched.cases | set(await relying_cases(service, touched.resources)))
    rows = await board.cases_by_id(service, cases, clock_now(), supervisor=view.supervisor,
                                   psychologist_id=view.psychologist)
    if not view.compact:
        return [frame("case", to_json(row), str(row.position or "")) for row in rows]
    if not rows:
        return []
    values = [[found[name] for name in ROW_FIELDS]
              for found in (row.model_dump(mode="json") for row in rows)]
    last = max(row.position or 0 for row in rows)
    return [frame("cases", orjson.dumps({"fields": ROW_FIELDS, "rows": values}), str(last))]


ROW_FIELDS = list(board.BoardCase.model_fields)
"""The order of a compact row's values (its `fields`)."""


async def relying_cases(service: ProjectionService, resources: frozenset[str]) -> list[str]:
    """Cases relying on some resources (their board rows change with the resource)."""
    if not resources:
        return []
    table = await service.table("case_board", "case_resources")
    ids = sorted(resources)
    rows = await service.fetch(f"SELECT DISTINCT case_id FROM {table} WHERE resource_id IN "
                               f"({', '.join('?' for _ in ids)})", ids)
    return [str(r["case_id"]) for r in rows]


def sse(event: str, data: dict[str, Any], event_id: str = "") -> bytes:
    """One server-sent event frame."""
    return frame(event, orjson.dumps(data), event_id)


def frame(event: str, data: bytes, event_id: str = "") -> bytes:
    """One server-sent event frame of JSON already encoded (a board row goes straight from
    its model to bytes: no dict in between)."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id else "")
    return head.encode() + b"data: " + data + b"\n\n"


@contextlib.contextmanager
def streams_end_on_signals(service: ProjectionService | None) -> Iterator[None]:
    """While serving, SIGTERM/SIGINT first end the live streams (then do what they did)."""
    restore = _end_streams_on_signals(service) if service is not None else None
    try:
        yield
    finally:
        if restore is not None:
            restore()


def _end_streams_on_signals(service: ProjectionService) -> Callable[[], None]:
    """Chain SIGTERM/SIGINT so live streams end first: the server waits for open responses
    before it shuts its application down, and a stream would otherwise never end."""
    previous: dict[int, Any] = {}

    def handle(signum: int, frame: Any) -> None:
        service.begin_closing()
        handler = previous.get(signum)
        if callable(handler):
            handler(signum, frame)

    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, handle)
        except ValueError:  # not the main thread (tests, embedded servers): nothing to chain
            previous.pop(signum, None)

    def restore() -> None:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
    return restore
