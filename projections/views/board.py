"""The case board: filtered, sorted, paged open cases with waits, flags and resources."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from domain.duplicates import ASK_A_SUPERVISOR
from domain.errors import NotASupervisor
from domain.resource import unusable_reason
from domain.transport import departure_passed
from projections.values import WINDOW_COLUMNS
from projections.views.common import (
    MAX_PAGE,
    Plain,
    Reader,
    as_id,
    as_time,
    id_arg,
    marks,
    seconds_between,
    split,
)
from projections.views.windows import WINDOW_CLOSED, WindowView, window_state, window_view

Status = Literal["unassigned", "assigned", "closed"]
UrgencyLevel = Literal["critical", "high", "medium", "low"]
Stage = Literal["waiting", "en_route", "stuck", "returned", "cannot_leave", "arrived"]
Sort = Literal["urgency", "waiting", "since_contact", "newest", "recent_activity"]

ORDER: dict[str, str] = {
    "urgency": "urgency_rank ASC, opened_at ASC",
    "waiting": "opened_at ASC",
    "since_contact": "COALESCE(last_contact_at, opened_at) ASC, urgency_rank ASC",
    "newest": "opened_at DESC",
    "recent_activity": "last_event_at DESC",
}
NEEDS = ("mobility_needs", "medical_needs", "needs_medicine", "needs_food", "needs_clothes")
OPEN = ("unassigned", "assigned")
LEFT = "left"
"""A transport whose departure window is over: nobody boards it any more."""
WINDOW = ", ".join(f"s.{c}" for c in WINDOW_COLUMNS)


class BoardQuery(BaseModel):
    """Filters, sort and page of the board; no status filter means open cases only."""

    status: list[Status] = Field(default_factory=list)
    urgency: list[UrgencyLevel] = Field(default_factory=list)
    stage: list[Stage] = Field(default_factory=list)
    region: Plain | None = Field(default=None, min_length=1, max_length=200)
    assignee_id: UUID | None = None
    psychologist_id: UUID | None = Field(default=None, description="only the cases whose "
                                         "support group this psychologist leads (a "
                                         "psychologist's own board is always this)")
    unassigned_only: bool = False
    flagged: bool | None = Field(default=None, description="only cases with (true) or "
                                                         "without (false) active flags")
    contact_overdue: bool | None = Field(default=None, description="only cases overdue "
                                         "for contact (true) or not (false)")
    possible_lost_contact: bool | None = Field(default=None, description="supervisors "
                                               "only: cases three contact intervals silent "
                                               "(true) or not (false)")
    sort: Sort = "urgency"
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=100_000)


class BoardFlag(BaseModel):
    """An active flag; `detail` and `raised_by` are shown to supervisors only."""

    flag_id: UUID
    reason: str
    resource_id: UUID | None
    raised_at: datetime
    closes_at: datetime | None = Field(default=None, description="a window flag "
                                       "(window_closing, window_closed): when the window "
                                       "the case relies on closes, or closed")
    detail: str | None = None
    raised_by: str | None = None


class ReliedOnResource(BaseModel):
    """A resource a step of the case relies on, with what is known of it now."""

    resource_id: UUID
    since: datetime
    via: str
    kind: str | None
    status: str | None
    verification: str | None
    expires_at: datetime | None
    usable: bool
    departs_until: datetime | None = Field(default=None, description="a transport: when its "
                                           "departure window ends")
    window: WindowView | None = Field(default=None, description="its opening window, if it "
                                                                "has one, as of `now`")


class BoardHold(BaseModel):
    """Seats the case holds on a transport: held until `until` unless confirmed."""

    hold_id: UUID
    resource_id: UUID
    seats: int
    confirmed: bool
    until: datetime | None
    held_at: datetime | None
    runs_out_in_seconds: int | None = Field(description="unconfirmed: time left at `now` "
                                                        "(0 once run out); null if confirmed")


class BoardCase(BaseModel):
    """One case on the board: ids, counts and readable answers, never personal data."""

    case_id: UUID
    status: str
    urgency: str
    stage: str
    region: str | None
    destination: str | None
    contact_channel: str | None
    languages: list[str]
    safe_now: bool | None
    adults: int | None
    children: int | None
    pets: int | None
    needs: list[str]
    opened_at: datetime
    waiting_seconds: int | None = Field(description="time since intake, at `now`")
    last_contact_at: datetime | None
    since_contact_seconds: int | None = Field(
        description="time since the last step, advice or follow-up (or since intake)")
    assignee_id: UUID | None
    assigned_at: datetime | None
    last_step: str | None
    borders_crossed: int
    notes: int
    flags_active: int
    flags: list[BoardFlag]
    relied_on: list[ReliedOnResource]
    seats_held: int = Field(default=0, description="seats held for the case on transports, "
                                                   "not yet confirmed")
    seats_confirmed: int = 0
    holds: list[BoardHold] = Field(default_factory=list)
    support_members: int
    outcome: str | None
    closed_at: datetime | None
    version: int | None = Field(description="stream version: pass as expected_version")
    position: int | None
    person_id: UUID | None = Field(default=None, description="supervisors only")
    psychologist_id: UUID | None = Field(default=None, description="supervisors only")
    personal_erased: bool | None = Field(default=None, description="supervisors only")
    contact_overdue: bool = Field(default=False, description="an interval of its urgency "
                                  "passed without contact (CORRIDOR_CONTACT_INTERVAL_HOURS); "
                                  "a contact that reaches the person or a step clears it")
    contact_overdue_since: datetime | None = None
    contact_attempts: int = Field(default=0, description="contacts recorded, reached or not")
    last_contact_attempt_at: datetime | None = None
    possible_lost_contact: bool | None = Field(default=None, description="supervisors "
                                               "only: three intervals without contact")
    possible_duplicate: str | None = Field(default=None, description=f"'{ASK_A_SUPERVISOR}' "
                                           "while another active case may be the same "
                                           "person")
    possible_duplicate_of: list[UUID] | None = Field(default=None, description="supervisors "
                                                     "only: which cases")
    merged_into: UUID | None = Field(default=None, description="closed as merged into "
                                     "this case")


class BoardPage(BaseModel):
    """A page of the board."""

    now: datetime
    total: int
    limit: int
    offset: int
    cases: list[BoardCase]


class BoardCounts(BaseModel):
    """How many cases by status and (open ones) by urgency."""

    by_status: dict[str, int]
    by_urgency: dict[str, int]
    flagged: int
    relying_on_changed_resources: int
    contact_overdue: int = Field(default=0, description="open cases overdue for contact")
    contact_overdue_by_urgency: dict[str, int] = Field(default_factory=dict)
    possible_lost_contact: int = 0
    possible_duplicates: int = Field(default=0, description="open cases marked as maybe "
                                     "the same person as another")


class ResourceAlert(BaseModel):
    """An open case relying on a resource that is no longer usable, and whether it is flagged."""

    case_id: UUID
    urgency: str
    case_status: str
    assignee_id: UUID | None
    resource_id: UUID
    kind: str | None
    condition: str = Field(description="unsafe, full, closed, destroyed, retracted, "
                                       "rejected, expired or unverified")
    reason: str | None
    changed_at: datetime | None
    flag_ids: list[UUID] = Field(description="flags raised on the case for this resource")


def _where(q: BoardQuery) -> tuple[str, list[Any]]:
    terms: list[str] = []
    args: list[Any] = []
    statuses: list[str] = list(q.status) or list(OPEN)
    terms.append(f"status IN ({marks(statuses)})")
    args += statuses
    for column, values in (("urgency", q.urgency), ("stage", q.stage)):
        if values:
            terms.append(f"{column} IN ({marks(values)})")
            args += list(values)
    if q.region is not None:
        terms.append("region = ?")
        args.append(q.region)
    if q.assignee_id is not None:
        terms.append("assignee_id = ?")
        args.append(id_arg(q.assignee_id))
    if q.psychologist_id is not None:
        terms.append("psychologist_id = ?")
        args.append(id_arg(q.psychologist_id))
    if q.unassigned_only:
        terms.append("assignee_id IS NULL")
    if q.flagged is not None:
        terms.append("flags_active > 0" if q.flagged else "flags_active = 0")
    if q.contact_overdue is not None:
        terms.append("contact_overdue_since IS " + ("NOT NULL" if q.contact_overdue
                                                   else "NULL"))
    if q.possible_lost_contact is not None:
        terms.append("lost_contact_suspected_at IS " + ("NOT NULL" if q.possible_lost_contact
                                                       else "NULL"))
    return " AND ".join(terms), args


async def board(reader: Reader, q: BoardQuery, now: datetime, *,
                supervisor: bool, fresh: bool = False) -> BoardPage:
    """A page of the board as of `now` (waits are computed from it)."""
    if q.possible_lost_contact is not None and not supervisor:
        raise NotASupervisor("only supervisors see which cases may have lost contact")
    table = await reader.table("case_board", "case_board", fresh=fresh)
    where, args = _where(q)
    total = (await reader.fetch(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", args))[0]["n"]
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY {ORDER[q.sort]}, "
                              "case_id LIMIT ? OFFSET ?", [*args, q.limit, q.offset])
    ids = [as_id(r["case_id"]) or "" for r in rows]
    flags = await _flags(reader, ids, supervisor, fresh)
    relied = await _relied_on(reader, ids, now, fresh)
    holds = await _holds(reader, ids, now, fresh)
    cases = [_case(r, now, flags.get(i, []), relied.get(i, []), holds.get(i, []), supervisor)
             for r, i in zip(rows, ids, strict=True)]
    await _mark_duplicates(reader, cases, supervisor, fresh)
    return BoardPage(now=now, total=int(total), limit=q.limit, offset=q.offset, cases=cases)


async def cases_by_id(reader: Reader, case_ids: list[str], now: datetime, *,
                      supervisor: bool, psychologist_id: UUID | None = None) -> list[BoardCase]:
    """Board rows of some cases (for the live stream); with `psychologist_id`, only those
    whose support group that psychologist leads."""
    if not case_ids:
        return []
    table = await reader.table("case_board", "case_board")
    scope, args = "", list(case_ids)
    if psychologist_id is not None:
        scope = " AND psychologist_id = ?"
        args.append(id_arg(psychologist_id))
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE case_id IN ({marks(case_ids)})"
                              f"{scope}", args)
    ids = [as_id(r["case_id"]) or "" for r in rows]
    flags = await _flags(reader, ids, supervisor, False)
    relied = await _relied_on(reader, ids, now, False)
    holds = await _holds(reader, ids, now, False)
    cases = [_case(r, now, flags.get(i, []), relied.get(i, []), holds.get(i, []), supervisor)
             for r, i in zip(rows, ids, strict=True)]
    await _mark_duplicates(reader, cases, supervisor, False)
    return cases


def _case(row: dict[str, Any], now: datetime, flags: list[BoardFlag],
          relied: list[ReliedOnResource], holds: list[BoardHold],
          supervisor: bool) -> BoardCase:
    opened = as_time(row["opened_at"])
    contact = as_time(row["last_contact_at"])
    extra = ({"person_id": row["person_id"], "psychologist_id": row["psychologist_id"],
              "personal_erased": bool(row["personal_erased"])} if supervisor else {})
    return BoardCase(
        case_id=row["case_id"], status=row["status"], urgency=row["urgency"] or "unknown",
        stage=row["stage"], region=row["region"], destination=row["destination"],
        contact_channel=row["contact_channel"], languages=split(row["languages"]),
        safe_now=row["safe_now"], adults=row["adults"], children=row["children"],
        pets=row["pets"], needs=[n for n in NEEDS if row[n]],
        opened_at=opened or now, waiting_seconds=seconds_between(now, opened),
        last_contact_at=contact, since_contact_seconds=seconds_between(now, contact or opened),
        assignee_id=row["assignee_id"], assigned_at=row["assigned_at"],
        last_step=row["last_step"], borders_crossed=row["borders_crossed"] or 0,
        notes=row["notes"] or 0, flags_active=row["flags_active"] or 0, flags=flags,
        relied_on=relied, seats_held=row["seats_held"] or 0,
        seats_confirmed=row["seats_confirmed"] or 0, holds=holds,
        support_members=row["support_members"] or 0,
        outcome=row["outcome"], closed_at=row["closed_at"], version=row["version"],
        position=row["position"], **extra, **_silence(row, supervisor))


def _silence(row: dict[str, Any], supervisor: bool) -> dict[str, Any]:
    """Contact overdue for everyone; possible lost contact for supervisors (issue 23)."""
    lost = row["lost_contact_suspected_at"] is not None if supervisor else None
    return {"contact_overdue": row["contact_overdue_since"] is not None,
            "contact_overdue_since": as_time(row["contact_overdue_since"]),
            "contact_attempts": row["contact_attempts"] or 0,
            "last_contact_attempt_at": as_time(row["last_contact_attempt_at"]),
            "possible_lost_contact": lost, "merged_into": row["merged_into"]}


async def _mark_duplicates(reader: Reader, cases: list[BoardCase], supervisor: bool,
                           fresh: bool) -> None:
    """Possible duplicates: everyone is told to ask a supervisor; only supervisors are
    told which other cases (a volunteer may not see them)."""
    ids = [str(c.case_id) for c in cases]
    if not ids:
        return
    table = await reader.table("case_board", "case_duplicates", fresh=fresh)
    rows = await reader.fetch(f"SELECT case_id, other_case_id FROM {table} WHERE case_id IN "
                              f"({marks(ids)}) ORDER BY found_at, other_case_id", ids)
    others: dict[str, list[UUID]] = {}
    for r in rows:
        others.setdefault(as_id(r["case_id"]) or "", []).append(UUID(str(r["other_case_id"])))
    for case in cases:
        found = others.get(str(case.case_id))
        if found:
            case.possible_duplicate = ASK_A_SUPERVISOR
            case.possible_duplicate_of = found if supervisor else None


async def _flags(reader: Reader, ids: list[str], supervisor: bool,
                 fresh: bool) -> dict[str, list[BoardFlag]]:
    if not ids:
        return {}
    table = await reader.table("case_board", "case_flags", fresh=fresh)
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE case_id IN ({marks(ids)}) "
                              "ORDER BY raised_at", ids)
    found: dict[str, list[BoardFlag]] = {}
    for r in rows:
        found.setdefault(as_id(r["case_id"]) or "", []).append(BoardFlag(
            flag_id=r["flag_id"], reason=r["reason"] or "", resource_id=r["resource_id"],
            raised_at=r["raised_at"], closes_at=as_time(r["closes_at"]),
            detail=r["detail"] if supervisor else None,
            raised_by=r["raised_by"] if supervisor else None))
    return found


async def _relied_on(reader: Reader, ids: list[str], now: datetime,
                     fresh: bool) -> dict[str, list[ReliedOnResource]]:
    if not ids:
        return {}
    uses = await reader.table("case_board", "case_resources", fresh=fresh)
    state = await reader.table("case_board", "board_resources", fresh=fresh)
    rows = await reader.fetch(
        f"SELECT u.case_id, u.resource_id, u.since, u.via, s.kind, s.status, s.verification, "
        f"s.expires_at, s.capacity, s.occupancy, s.departs_until, {WINDOW} FROM {uses} u "
        f"LEFT JOIN {state} s ON s.resource_id = u.resource_id WHERE u.case_id IN "
        f"({marks(ids)}) ORDER BY u.since", ids)
    found: dict[str, list[ReliedOnResource]] = {}
    for r in rows:
        found.setdefault(as_id(r["case_id"]) or "", []).append(ReliedOnResource(
            resource_id=r["resource_id"], since=r["since"], via=r["via"], kind=r["kind"],
            status=r["status"], verification=r["verification"], expires_at=r["expires_at"],
            usable=condition(r, now) is None, departs_until=r["departs_until"],
            window=window_view(r, now)))
    return found


async def _holds(reader: Reader, ids: list[str], now: datetime,
                 fresh: bool) -> dict[str, list[BoardHold]]:
    if not ids:
        return {}
    table = await reader.table("case_board", "case_holds", fresh=fresh)
    rows = await reader.fetch(f"SELECT * FROM {table} WHERE case_id IN ({marks(ids)}) "
                              "ORDER BY held_at, hold_id", ids)
    found: dict[str, list[BoardHold]] = {}
    for r in rows:
        until, confirmed = as_time(r["until"]), bool(r["confirmed"])
        found.setdefault(as_id(r["case_id"]) or "", []).append(BoardHold(
            hold_id=r["hold_id"], resource_id=r["resource_id"], seats=r["seats"] or 0,
            confirmed=confirmed, until=until, held_at=r["held_at"],
            runs_out_in_seconds=None if confirmed or until is None
            else seconds_between(until, now)))
    return found


def condition(row: dict[str, Any], now: datetime) -> str | None:
    """Why a resource may not be handed out now (None when it may), from its board copy:
    the domain's rule (its status, verification, expiry, a full shelter), 'left' for a
    transport whose departure window is over, 'window_closed' outside its opening window."""
    if row.get("status") is None:
        return "unknown"
    reason = unusable_reason(
        status=row["status"], verification=row["verification"],
        expires_at=as_time(row["expires_at"]), capacity=row.get("capacity"),
        occupancy=row.get("occupancy"), at=now)
    if reason is None and departure_passed(as_time(row.get("departs_until")), now):
        return LEFT
    state = window_state(row, now) if reason is None else None
    if state is not None and not state.is_open:
        return WINDOW_CLOSED
    return reason


async def counts(reader: Reader, now: datetime) -> BoardCounts:
    """Cases by status and open cases by urgency, flagged ones, resource alerts."""
    table = await reader.table("case_board", "case_board")
    rows = await reader.fetch(
        f"SELECT status, urgency, COUNT(*) AS n, SUM(CASE WHEN flags_active > 0 THEN 1 ELSE 0 "
        f"END) AS flagged FROM {table} GROUP BY status, urgency")
    by_status: dict[str, int] = {}
    by_urgency: dict[str, int] = {}
    flagged = 0
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + int(r["n"])
        if r["status"] in OPEN:
            key = r["urgency"] or "unknown"
            by_urgency[key] = by_urgency.get(key, 0) + int(r["n"])
            flagged += int(r["flagged"] or 0)
    alerts = await resource_alerts(reader, now)
    return BoardCounts(by_status=by_status, by_urgency=by_urgency, flagged=flagged,
                       relying_on_changed_resources=len({a.case_id for a in alerts}),
                       **await _silence_counts(reader, table))


async def _silence_counts(reader: Reader, table: str) -> dict[str, Any]:
    """Open cases overdue for contact (by urgency), possibly lost, possibly duplicates."""
    rows = await reader.fetch(
        f"SELECT urgency, COUNT(*) AS n, SUM(CASE WHEN lost_contact_suspected_at IS NOT NULL "
        f"THEN 1 ELSE 0 END) AS lost FROM {table} WHERE status IN ('unassigned', 'assigned') "
        f"AND contact_overdue_since IS NOT NULL GROUP BY urgency")
    duplicates_t = await reader.table("case_board", "case_duplicates")
    duplicates = await reader.fetch(
        f"SELECT COUNT(DISTINCT d.case_id) AS n FROM {duplicates_t} d JOIN {table} b ON "
        f"b.case_id = d.case_id WHERE b.status IN ('unassigned', 'assigned')")
    by_urgency = {r["urgency"] or "unknown": int(r["n"]) for r in rows}
    return {"contact_overdue": sum(by_urgency.values()),
            "contact_overdue_by_urgency": by_urgency,
            "possible_lost_contact": sum(int(r["lost"] or 0) for r in rows),
            "possible_duplicates": int(duplicates[0]["n"]) if duplicates else 0}


async def resource_alerts(reader: Reader, now: datetime, limit: int = 1000,
                          offset: int = 0) -> list[ResourceAlert]:
    """Open cases relying on resources that changed (unsafe, full, expired, ...)."""
    board_t = await reader.table("case_board", "case_board")
    uses = await reader.table("case_board", "case_resources")
    state = await reader.table("case_board", "board_resources")
    flags_t = await reader.table("case_board", "case_flags")
    rows = await reader.fetch(
        f"SELECT u.case_id, u.resource_id, b.urgency, b.urgency_rank, b.status AS case_status, "
        f"b.assignee_id, s.kind, s.status, s.verification, s.expires_at, s.capacity, "
        f"s.occupancy, s.reason, s.changed_at, s.departs_until, {WINDOW} FROM {uses} u "
        f"JOIN {board_t} b ON b.case_id = u.case_id JOIN {state} s ON s.resource_id = "
        f"u.resource_id WHERE b.status IN ('unassigned', 'assigned') AND (s.status <> "
        f"'available' OR s.verification <> 'verified' OR s.expires_at IS NULL OR "
        f"s.expires_at <= ? OR (s.capacity IS NOT NULL AND s.occupancy >= s.capacity) "
        f"OR s.window_zone IS NOT NULL) "
        f"ORDER BY b.urgency_rank, s.changed_at DESC, u.case_id", [now])
    # a window's state is the domain's to say (in its time zone): asked here, not in SQL
    rows = [r for r in rows if condition(r, now) is not None][offset:offset + limit]
    ids = sorted({as_id(r["case_id"]) or "" for r in rows})
    raised = await reader.fetch(
        f"SELECT case_id, flag_id, resource_id FROM {flags_t} WHERE resource_id IS NOT NULL "
        f"AND case_id IN ({marks(ids)})", ids) if ids else []
    flagged: dict[tuple[str, str], list[UUID]] = {}
    for f in raised:
        key = (as_id(f["case_id"]) or "", as_id(f["resource_id"]) or "")
        flagged.setdefault(key, []).append(UUID(str(f["flag_id"])))
    return [ResourceAlert(
        case_id=r["case_id"], urgency=r["urgency"] or "unknown", case_status=r["case_status"],
        assignee_id=r["assignee_id"], resource_id=r["resource_id"], kind=r["kind"],
        condition=condition(r, now) or "usable", reason=r["reason"],
        changed_at=r["changed_at"],
        flag_ids=flagged.get((as_id(r["case_id"]) or "", as_id(r["resource_id"]) or ""), []))
        for r in rows]


class HistoryQuery(BaseModel):
    """How far back, and how finely, to count open cases."""

    days: int = Field(default=7, ge=1, le=90)
    points: int = Field(default=28, ge=2, le=200, description="moments sampled, evenly "
                                                           "spaced, the last one `now`")


class OpenAt(BaseModel):
    """Open cases at one moment, by urgency."""

    at: datetime
    by_urgency: dict[str, int]


class BoardHistory(BaseModel):
    """Open cases by urgency over time: a case counts from its intake until it closed (with
    its urgency now: the board keeps no earlier urgency)."""

    now: datetime
    points: list[OpenAt]


async def history(reader: Reader, q: HistoryQuery, now: datetime) -> BoardHistory:
    """Open cases by urgency at evenly spaced moments up to `now`."""
    table = await reader.table("case_board", "case_board")
    start = now - timedelta(days=q.days)
    rows = await reader.fetch(f"SELECT urgency, opened_at, closed_at FROM {table} WHERE "
                              "opened_at <= ? AND (closed_at IS NULL OR closed_at > ?)",
                              [now, start])
    spans = [(r["urgency"] or "unknown", as_time(r["opened_at"]), as_time(r["closed_at"]))
             for r in rows]
    step = (now - start) / (q.points - 1)
    points = []
    for i in range(q.points):
        at = start + step * i
        counted: dict[str, int] = {}
        for urgency, opened, closed in spans:
            if opened is not None and opened <= at and (closed is None or closed > at):
                counted[urgency] = counted.get(urgency, 0) + 1
        points.append(OpenAt(at=at, by_urgency=counted))
    return BoardHistory(now=now, points=points)
