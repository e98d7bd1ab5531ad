"""The resource directory (only what may be handed out now) and expiring verifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from projections.views.common import MAX_PAGE, Plain, Reader, as_time, seconds_between

Kind = Literal["shelter", "transport", "food_point", "medicine", "route", "border_crossing",
               "contact"]
WITHDRAWN = ("destroyed", "retracted")


class DirectoryQuery(BaseModel):
    """Resources on offer, by kind and region."""

    kind: Kind | None = None
    region: Plain | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=100_000)


class OfferedResource(BaseModel):
    """A verified, unexpired, available resource (with free places, if a shelter)."""

    resource_id: UUID
    kind: str
    region: str
    place: str | None
    details: str | None
    capacity: int | None
    occupancy: int | None
    free_places: int | None
    has_contact: bool = Field(description="a contact person is on record (sealed)")
    verified_at: datetime | None
    verified_by: UUID | None
    expires_at: datetime
    expires_in_seconds: int | None
    version: int | None


class DirectoryPage(BaseModel):
    """A page of the directory as of `now`."""

    now: datetime
    total: int
    limit: int
    offset: int
    resources: list[OfferedResource]


class ExpiringQuery(BaseModel):
    """Verifications running out within a window (and those already run out)."""

    within_hours: float = Field(default=2.0, gt=0, le=168)
    kind: Kind | None = None
    region: Plain | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=100_000)


class ExpiringVerification(BaseModel):
    """A verification a fact-checker should renew (or let go)."""

    resource_id: UUID
    kind: str
    region: str
    place: str | None
    status: str
    reported_by: UUID | None
    verified_by: UUID | None
    verified_at: datetime | None
    expires_at: datetime
    overdue: bool = Field(description="already run out: no longer offered")
    expires_in_seconds: int


class ExpiringPage(BaseModel):
    """Expiring verifications, soonest first."""

    now: datetime
    total: int
    limit: int
    offset: int
    verifications: list[ExpiringVerification]


def _narrow(kind: str | None, region: str | None) -> tuple[str, list[Any]]:
    terms, args = [], []
    if kind is not None:
        terms.append("kind = ?")
        args.append(kind)
    if region is not None:
        terms.append("region = ?")
        args.append(region)
    return "".join(f" AND {t}" for t in terms), args


async def directory(reader: Reader, q: DirectoryQuery, now: datetime, *,
                    fresh: bool = False) -> DirectoryPage:
    """Resources that may be handed out at `now`."""
    table = await reader.table("resource_directory", "resource_directory", fresh=fresh)
    narrow, args = _narrow(q.kind, q.region)
    where = ("verification = 'verified' AND status = 'available' AND expires_at > ? "
             "AND (capacity IS NULL OR occupancy < capacity)" + narrow)
    params = [now, *args]
    total = (await reader.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}",
                                params))[0]["n"]
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY kind, region, "
                              "place, resource_id LIMIT ? OFFSET ?", [*params, q.limit, q.offset])
    return DirectoryPage(now=now, total=int(total), limit=q.limit, offset=q.offset,
                         resources=[_offered(r, now) for r in rows])


def _offered(row: dict[str, Any], now: datetime) -> OfferedResource:
    expires = as_time(row["expires_at"]) or now
    capacity = row["capacity"]
    return OfferedResource(
        resource_id=row["resource_id"], kind=row["kind"], region=row["region"],
        place=row["place"], details=row["details"], capacity=capacity,
        occupancy=row["occupancy"],
        free_places=None if capacity is None else capacity - (row["occupancy"] or 0),
        has_contact=bool(row["has_contact"]), verified_at=row["verified_at"],
        verified_by=row["verified_by"], expires_at=expires,
        expires_in_seconds=seconds_between(expires, now), version=row["version"])


async def expiring(reader: Reader, q: ExpiringQuery, now: datetime, *,
                   fresh: bool = False) -> ExpiringPage:
    """Verified resources whose verification runs out within the window, soonest first."""
    table = await reader.table("resource_directory", "resource_directory", fresh=fresh)
    narrow, args = _narrow(q.kind, q.region)
    where = (f"verification = 'verified' AND status NOT IN ('{WITHDRAWN[0]}', "
             f"'{WITHDRAWN[1]}') AND expires_at <= ?" + narrow)
    params = [now + timedelta(hours=q.within_hours), *args]
    total = (await reader.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}",
                                params))[0]["n"]
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY expires_at, "
                              "resource_id LIMIT ? OFFSET ?", [*params, q.limit, q.offset])
    return ExpiringPage(now=now, total=int(total), limit=q.limit, offset=q.offset,
                        verifications=[_expiring(r, now) for r in rows])


def _expiring(row: dict[str, Any], now: datetime) -> ExpiringVerification:
    expires = as_time(row["expires_at"]) or now
    return ExpiringVerification(
        resource_id=row["resource_id"], kind=row["kind"], region=row["region"],
        place=row["place"], status=row["status"], reported_by=row["reported_by"],
        verified_by=row["verified_by"], verified_at=row["verified_at"], expires_at=expires,
        overdue=expires <= now, expires_in_seconds=int((expires - now).total_seconds()))
