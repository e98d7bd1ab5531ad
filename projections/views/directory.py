"""The resource directory (only what may be handed out now) and expiring verifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from domain.transport import SeatCount
from projections.views.board import OPEN, condition
from projections.views.common import (
    MAX_PAGE,
    Plain,
    Reader,
    as_time,
    id_arg,
    marks,
    seconds_between,
    split,
)
from projections.views.windows import WindowView, window_state, window_view

Kind = Literal["shelter", "transport", "food_point", "medicine", "route", "border_crossing",
               "contact", "corridor", "checkpoint", "curfew"]
WITHDRAWN = ("destroyed", "retracted")


class DirectoryQuery(BaseModel):
    """Resources on offer, by kind and region."""

    kind: Kind | None = None
    region: Plain | None = Field(default=None, min_length=1, max_length=200)
    min_free_seats: int | None = Field(default=None, ge=1, le=1000, description="only "
                                       "transports with at least this many seats free")
    opening_later: bool = Field(default=False, description="also list resources outside "
                                "their window now, each saying when it opens")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=100_000)


class ClosingSoonQuery(BaseModel):
    """Resources on offer whose window closes (or a transport that leaves) soon."""

    within_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    kind: Kind | None = None
    region: Plain | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=100_000)


class Seats(BaseModel):
    """A transport's seats: offered, held (not yet confirmed), confirmed, free; what it
    takes besides adults; when it leaves and from where to where."""

    offered: int
    held: int
    confirmed: int
    free: int
    accepts: list[str] = Field(description="children, pets, mobility, luggage")
    departs_from: datetime | None
    departs_until: datetime | None
    origin: str | None
    destination: str | None


class OfferedResource(BaseModel):
    """A verified, unexpired, available resource (with free places, if a shelter; with free
    seats and not left yet, if a transport offering seats)."""

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
    seats: Seats | None = Field(default=None, description="a transport's seats, if offered")
    window: WindowView | None = Field(default=None, description="its opening window, if it "
                                      "has one: offered only while open (listed when closed "
                                      "only with opening_later, saying when it opens)")
    version: int | None


class ClosingResource(BaseModel):
    """A resource on offer now that stops being so soon: its window closes, or (a transport)
    its departure window ends."""

    resource: OfferedResource
    closes_at: datetime
    closes_in_seconds: int
    what_closes: Literal["window", "departure"]


class ClosingSoonPage(BaseModel):
    """What closes soon, soonest first."""

    now: datetime
    total: int
    limit: int
    offset: int
    closing: list[ClosingResource]


class DirectoryHold(BaseModel):
    """A current hold on a transport's seats."""

    hold_id: UUID
    case_id: UUID
    seats: int
    confirmed: bool
    until: datetime | None
    held_by: UUID | None
    held_at: datetime | None


class DirectoryPage(BaseModel):
    """A page of the directory as of `now`."""

    now: datetime
    total: int
    limit: int
    offset: int
    resources: list[OfferedResource]


class DirectoryEntry(BaseModel):
    """One resource as the directory holds it, offered or not, as of `now`."""

    now: datetime
    resource_id: UUID
    kind: str
    region: str
    place: str | None
    details: str | None
    capacity: int | None
    occupancy: int | None
    free_places: int | None
    has_contact: bool = Field(description="a contact person is on record (sealed)")
    status: str = Field(description="available, full, unsafe, closed, destroyed or retracted")
    status_changed_at: datetime | None
    reason: str | None = Field(description="the reason given when it was last recalled "
                                           "(marked full or unsafe, closed, destroyed, "
                                           "retracted) or rejected; null while it stands")
    verification: str = Field(description="unverified, verified, rejected or expired")
    verified_at: datetime | None
    verified_by: UUID | None
    expires_at: datetime | None
    expires_in_seconds: int | None = Field(description="0 once the verification has run out")
    usable: bool = Field(description="it may be handed out at `now` (it is in the directory "
                                     "unless it is a transport with no seat free)")
    unusable_because: str | None = Field(description="why not: its status, its verification, "
                                                     "expired, full, or left (a transport "
                                                     "whose departure window is over)")
    seats: Seats | None = Field(default=None, description="a transport's seats, if offered")
    window: WindowView | None = Field(default=None, description="its opening window, if any")
    holds: list[DirectoryHold] = Field(default_factory=list,
                                       description="current holds on a transport's seats")
    reported_at: datetime | None
    cases_relying: int = Field(description="open cases relying on it (from the case board)")
    cases_flagged: int = Field(description="open cases with a raised flag about it")
    version: int | None
    position: int | None


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


OFFERED = ("verification = 'verified' AND status = 'available' AND expires_at > ? "
           "AND (capacity IS NULL OR occupancy < capacity) "
           "AND (seats IS NULL OR seats - seats_held - seats_confirmed >= ?) "
           "AND (departs_until IS NULL OR departs_until > ?)")
"""What may be handed out at a time: the domain's usability rule (verified, fresh,
available, a shelter with a free place) and a transport's: a seat free, not left yet."""


async def directory(reader: Reader, q: DirectoryQuery, now: datetime, *,
                    fresh: bool = False) -> DirectoryPage:
    """Resources that may be handed out at `now`."""
    table = await reader.table("resource_directory", "resource_directory", fresh=fresh)
    narrow, args = _narrow(q.kind, q.region)
    if q.min_free_seats is not None:
        narrow += " AND seats IS NOT NULL"
    where = OFFERED + narrow
    params = [now, q.min_free_seats or 1, now, *args]
    if not await _windowed(reader, table, where, params):  # all in SQL, a page at a time
        total = (await reader.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}",
                                    params))[0]["n"]
        rows = await reader.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY kind, "
                                  "region, place, resource_id LIMIT ? OFFSET ?",
                                  [*params, q.limit, q.offset])
        return DirectoryPage(now=now, total=int(total), limit=q.limit, offset=q.offset,
                             resources=[_offered(r, now) for r in rows])
    # Some have windows: whether each is open is the domain's to say, in its time zone.
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY kind, region, "
                              "place, resource_id", params)
    shown = [r for r in rows if q.opening_later or _open(r, now)]
    return DirectoryPage(now=now, total=len(shown), limit=q.limit, offset=q.offset,
                         resources=[_offered(r, now)
                                    for r in shown[q.offset:q.offset + q.limit]])


async def _windowed(reader: Reader, table: str, where: str, params: list[Any]) -> bool:
    rows = await reader.fetch(f"SELECT 1 AS found FROM {table} WHERE {where} AND window_zone "
                              "IS NOT NULL LIMIT 1", params)
    return bool(rows)


def _open(row: dict[str, Any], now: datetime) -> bool:
    state = window_state(row, now)
    return state is None or state.is_open


async def closing_soon(reader: Reader, q: ClosingSoonQuery, now: datetime, *,
                       fresh: bool = False) -> ClosingSoonPage:
    """Resources on offer now whose window closes (or, a transport, that leave) within the
    next `within_minutes`, soonest first."""
    table = await reader.table("resource_directory", "resource_directory", fresh=fresh)
    narrow, args = _narrow(q.kind, q.region)
    until = now + timedelta(minutes=q.within_minutes)
    rows = await reader.fetch(
        f"SELECT * FROM {table} WHERE {OFFERED} AND (window_zone IS NOT NULL OR "
        f"departs_until <= ?){narrow}", [now, 1, now, until, *args])
    closing = []
    for row in rows:
        found = _closes(row, now)
        if found is not None and found[0] <= until:
            closes, what = found
            closing.append(ClosingResource(
                resource=_offered(row, now), closes_at=closes, what_closes=what,
                closes_in_seconds=seconds_between(closes, now) or 0))
    closing.sort(key=lambda c: (c.closes_at, str(c.resource.resource_id)))
    return ClosingSoonPage(now=now, total=len(closing), limit=q.limit, offset=q.offset,
                           closing=closing[q.offset:q.offset + q.limit])


def _closes(row: dict[str, Any], now: datetime) -> tuple[datetime, Literal["window",
                                                                          "departure"]] | None:
    """When an offered resource stops being offered next, and why (None: not soon)."""
    state = window_state(row, now)
    if state is not None and not state.is_open:
        return None
    found: list[tuple[datetime, Literal["window", "departure"]]] = []
    if state is not None and state.closes_at is not None:
        found.append((state.closes_at, "window"))
    departs = as_time(row["departs_until"])
    if departs is not None:
        found.append((departs, "departure"))
    return min(found, default=None)


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
        expires_in_seconds=seconds_between(expires, now), seats=seats_of(row),
        window=window_view(row, now), version=row["version"])


def seats_of(row: dict[str, Any]) -> Seats | None:
    """A directory row's seats, if it is a transport offering seats."""
    if row.get("seats") is None:
        return None
    count = SeatCount(offered=row["seats"], held=row["seats_held"] or 0,
                      confirmed=row["seats_confirmed"] or 0)
    return Seats(offered=count.offered, held=count.held, confirmed=count.confirmed,
                 free=count.free, accepts=split(row["accepts"]),
                 departs_from=as_time(row["departs_from"]),
                 departs_until=as_time(row["departs_until"]), origin=row["origin"],
                 destination=row["destination"])


async def entry(reader: Reader, resource_id: UUID, now: datetime, *,
                fresh: bool = False) -> DirectoryEntry | None:
    """One resource's row, offered or not, and the open cases relying on it (None: no such
    resource was reported)."""
    table = await reader.table("resource_directory", "resource_directory", fresh=fresh)
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE resource_id = ?",
                              [id_arg(resource_id)])
    if not rows:
        return None
    relying, flagged = await _reliance(reader, resource_id, fresh)
    holds = await _holds(reader, resource_id, fresh) if rows[0]["seats"] is not None else []
    return _entry(rows[0], now, relying, flagged, holds)


async def _holds(reader: Reader, resource_id: UUID, fresh: bool) -> list[DirectoryHold]:
    table = await reader.table("resource_directory", "directory_holds", fresh=fresh)
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE resource_id = ? ORDER BY held_at, "
                              "hold_id", [id_arg(resource_id)])
    return [DirectoryHold(hold_id=r["hold_id"], case_id=r["case_id"], seats=r["seats"] or 0,
                          confirmed=bool(r["confirmed"]), until=as_time(r["until"]),
                          held_by=r["held_by"], held_at=as_time(r["held_at"])) for r in rows]


async def _reliance(reader: Reader, resource_id: UUID, fresh: bool) -> tuple[int, int]:
    """(open cases relying on the resource, open cases flagged about it), one round trip."""
    board = await reader.table("case_board", "case_board", fresh=fresh)
    uses = await reader.table("case_board", "case_resources", fresh=fresh)
    flags = await reader.table("case_board", "case_flags", fresh=fresh)
    is_open = f"b.status IN ({marks(OPEN)})"
    [row] = await reader.fetch(
        f"SELECT (SELECT COUNT(DISTINCT u.case_id) FROM {uses} u JOIN {board} b ON "
        f"b.case_id = u.case_id WHERE u.resource_id = ? AND {is_open}) AS relying, "
        f"(SELECT COUNT(DISTINCT f.case_id) FROM {flags} f JOIN {board} b ON "
        f"b.case_id = f.case_id WHERE f.resource_id = ? AND {is_open}) AS flagged",
        [id_arg(resource_id), *OPEN, id_arg(resource_id), *OPEN])
    return int(row["relying"] or 0), int(row["flagged"] or 0)


def _entry(row: dict[str, Any], now: datetime, relying: int, flagged: int,
           holds: list[DirectoryHold]) -> DirectoryEntry:
    expires, capacity = as_time(row["expires_at"]), row["capacity"]
    status, verification = row["status"] or "available", row["verification"] or "unverified"
    unusable = condition(row, now)
    recalled = status != "available" or verification == "rejected"
    return DirectoryEntry(
        now=now, resource_id=row["resource_id"], kind=row["kind"], region=row["region"],
        place=row["place"], details=row["details"], capacity=capacity,
        occupancy=row["occupancy"],
        free_places=None if capacity is None else capacity - (row["occupancy"] or 0),
        has_contact=bool(row["has_contact"]), status=status,
        status_changed_at=row["status_changed_at"],
        reason=row["status_reason"] if recalled else None, verification=verification,
        verified_at=row["verified_at"], verified_by=row["verified_by"], expires_at=expires,
        expires_in_seconds=None if expires is None else seconds_between(expires, now),
        usable=unusable is None, unusable_because=unusable, seats=seats_of(row),
        window=window_view(row, now), holds=holds,
        reported_at=row["reported_at"],
        cases_relying=relying, cases_flagged=flagged, version=row["version"],
        position=row["position"])


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


Verification = Literal["unverified", "verified", "rejected", "expired"]
ResourceStatus = Literal["available", "full", "unsafe", "closed", "destroyed", "retracted"]


class ResourceListQuery(BaseModel):
    """Every reported resource (offered or not), by kind, region, status and verification."""

    kind: Kind | None = None
    region: Plain | None = Field(default=None, min_length=1, max_length=200)
    status: list[ResourceStatus] = Field(default_factory=list)
    verification: list[Verification] = Field(default_factory=list, description="`expired`: "
                                             "verified once, the verification has run out")
    sort: Literal["expires", "kind", "reported"] = Field(default="expires", description=
                                                         "expires: the soonest to run out "
                                                         "first, never verified last")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=100_000)


class ResourceListPage(BaseModel):
    """A page of reported resources as of `now`, each as `GET /resources/{id}` shows it
    (without its holds)."""

    now: datetime
    total: int
    limit: int
    offset: int
    resources: list[DirectoryEntry]


LIST_ORDER = {"expires": "CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, kind, "
                         "region, resource_id",
              "kind": "kind, region, place, resource_id",
              "reported": "reported_at DESC, resource_id"}


def _listed(q: ResourceListQuery, now: datetime) -> tuple[str, list[Any]]:
    narrow, args = _narrow(q.kind, q.region)
    where = "1 = 1" + narrow
    if q.status:
        where += f" AND COALESCE(status, 'available') IN ({marks(q.status)})"
        args += list(q.status)
    if q.verification:
        terms = []
        for wanted in q.verification:
            if wanted == "verified":
                terms.append("(verification = 'verified' AND expires_at > ?)")
                args.append(now)
            elif wanted == "expired":
                terms.append("(verification = 'expired' OR (verification = 'verified' AND "
                             "(expires_at IS NULL OR expires_at <= ?)))")
                args.append(now)
            else:
                terms.append("COALESCE(verification, 'unverified') = ?")
                args.append(wanted)
        where += f" AND ({' OR '.join(terms)})"
    return where, args


async def listing(reader: Reader, q: ResourceListQuery, now: datetime, *,
                  fresh: bool = False) -> ResourceListPage:
    """Reported resources with their status, verification and the open cases relying on
    them, a page at a time."""
    table = await reader.table("resource_directory", "resource_directory", fresh=fresh)
    where, args = _listed(q, now)
    total = (await reader.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}",
                                args))[0]["n"]
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY "
                              f"{LIST_ORDER[q.sort]} LIMIT ? OFFSET ?",
                              [*args, q.limit, q.offset])
    reliance = await _reliance_of(reader, [str(r["resource_id"]) for r in rows], fresh)
    return ResourceListPage(now=now, total=int(total), limit=q.limit, offset=q.offset,
                            resources=[_entry(r, now, *reliance.get(str(r["resource_id"]),
                                                                    (0, 0)), [])
                                       for r in rows])


async def _reliance_of(reader: Reader, ids: list[str],
                       fresh: bool) -> dict[str, tuple[int, int]]:
    """(open cases relying, open cases flagged about it) for each of some resources."""
    if not ids:
        return {}
    board = await reader.table("case_board", "case_board", fresh=fresh)
    uses = await reader.table("case_board", "case_resources", fresh=fresh)
    flags = await reader.table("case_board", "case_flags", fresh=fresh)
    is_open = f"b.status IN ({marks(OPEN)})"
    relying = await reader.fetch(
        f"SELECT u.resource_id, COUNT(DISTINCT u.case_id) AS n FROM {uses} u JOIN {board} b "
        f"ON b.case_id = u.case_id WHERE {is_open} AND u.resource_id IN ({marks(ids)}) "
        "GROUP BY u.resource_id", [*OPEN, *ids])
    flagged = await reader.fetch(
        f"SELECT f.resource_id, COUNT(DISTINCT f.case_id) AS n FROM {flags} f JOIN {board} b "
        f"ON b.case_id = f.case_id WHERE {is_open} AND f.resource_id IN ({marks(ids)}) "
        "GROUP BY f.resource_id", [*OPEN, *ids])
    found: dict[str, tuple[int, int]] = {}
    for r in relying:
        found[str(r["resource_id"])] = (int(r["n"]), 0)
    for r in flagged:
        key = str(r["resource_id"])
        found[key] = (found.get(key, (0, 0))[0], int(r["n"]))
    return found
