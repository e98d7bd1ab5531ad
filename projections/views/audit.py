"""The audit trail: events of a stream, an actor or a time window, in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from projections.views.common import Moment, Plain, Reader, id_arg

MAX_AUDIT_PAGE = 500


class AuditQuery(BaseModel):
    """Which events: by stream, actor, correlation, type and time window."""

    stream_id: UUID | None = None
    actor: Plain | None = Field(default=None, min_length=1, max_length=200)
    correlation_id: UUID | None = None
    type: Plain | None = Field(default=None, min_length=1, max_length=100)
    stream_type: Plain | None = Field(default=None, min_length=1, max_length=50)
    since: Moment | None = Field(default=None, description="from this time (inclusive)")
    until: Moment | None = Field(default=None, description="before this time")
    order: Literal["asc", "desc"] = "asc"
    limit: int = Field(default=100, ge=1, le=MAX_AUDIT_PAGE)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and until <= since:
            raise ValueError("until must be later than since")
        return until


class AuditEntry(BaseModel):
    """One event as the auditor sees it: who, when, why (causation, correlation), what."""

    position: int
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    occurred_at: datetime
    actor: str
    causation_id: UUID | None = Field(description="the command that caused it")
    correlation_id: UUID | None
    summary: str
    details: dict[str, Any] = Field(description="readable fields; personal data is named by "
                                                "its subject, never shown")


class AuditPage(BaseModel):
    """A page of the trail; `has_more` says whether the next offset finds more."""

    limit: int
    offset: int
    has_more: bool
    entries: list[AuditEntry]


def _where(q: AuditQuery) -> tuple[str, list[Any]]:
    terms: list[str] = []
    args: list[Any] = []
    for column, value in (("stream_id", q.stream_id), ("correlation_id", q.correlation_id)):
        if value is not None:
            terms.append(f"{column} = ?")
            args.append(id_arg(value))
    for column, text in (("actor", q.actor), ("type", q.type), ("stream_type", q.stream_type)):
        if text is not None:
            terms.append(f"{column} = ?")
            args.append(text)
    if q.since is not None:
        terms.append("occurred_at >= ?")
        args.append(q.since)
    if q.until is not None:
        terms.append("occurred_at < ?")
        args.append(q.until)
    return (" AND ".join(terms) or "TRUE"), args


async def trail(reader: Reader, q: AuditQuery, *, fresh: bool = False) -> AuditPage:
    """Events matching the query, a stream in version order, otherwise in store order."""
    table = await reader.table("audit_trail", "audit_events", fresh=fresh)
    where, args = _where(q)
    direction = "ASC" if q.order == "asc" else "DESC"
    order = (f"version {direction}" if q.stream_id is not None
             else f"position {direction}")
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY {order} "
                              "LIMIT ? OFFSET ?", [*args, q.limit + 1, q.offset])
    entries = [_entry(r) for r in rows[:q.limit]]
    return AuditPage(limit=q.limit, offset=q.offset, has_more=len(rows) > q.limit,
                     entries=entries)


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        position=row["position"], stream_id=row["stream_id"], stream_type=row["stream_type"],
        version=row["version"], type=row["type"], occurred_at=row["occurred_at"],
        actor=row["actor"], causation_id=row["command_id"],
        correlation_id=row["correlation_id"], summary=row["summary"],
        details=orjson.loads(row["details"] or "{}"))
