"""Volunteer workload: standing, training, shifts, last activity, and the cases each one holds.

Case counts are not kept as counters. CaseClosed does not name the assignee and CaseTaken
does not carry the case's urgency, so a counter would need a read of the case's previous
state. Instead the read model keeps one small row per case (assignee, urgency, status),
written from each case event alone, and counts them with GROUP BY at query time (indexed
by assignee). Reassigning, releasing, closing and reopening then can never drift a count.
Shifts are stored as intervals; hours today and over seven days are computed at query time.
Seat holds a volunteer placed are kept one row per hold (from the transport's events, which
name who held them), so "holds awaiting confirmation" is a count at query time too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.contact import CONTACT_STEP_EVENTS
from projections.changes import Change, Delete, Increment, Insert, Latest, Update, Upsert
from projections.records import EventRecord
from projections.schema import BOOL, ID, INT, TEXT, TIME, Column, Table
from projections.values import id_of, stamp, stream_key, time_of, volunteer_actor

VOLUNTEERS = Table("volunteer_workload", (
    Column("volunteer_id", ID), Column("registered_at", TIME),
    Column("time_zone", TEXT, "UTC"), Column("languages", TEXT, ""),
    Column("cleared", BOOL, False), Column("training_minutes", INT, 0),
    Column("standing", TEXT, "active"), Column("standing_reason", TEXT),
    Column("on_shift_since", TIME), Column("last_activity_at", TIME),
    Column("last_event_at", TIME), Column("version", INT), Column("position", INT),
), key=("volunteer_id",))

ROLES = Table("volunteer_roles", (Column("volunteer_id", ID), Column("role", TEXT)),
              key=("volunteer_id", "role"))

SHIFTS = Table("volunteer_shifts", (
    Column("volunteer_id", ID), Column("started_at", TIME), Column("ended_at", TIME),
), key=("volunteer_id", "started_at"), indexes=(("volunteer_id", "ended_at"),))

CASES = Table("workload_cases", (
    Column("case_id", ID), Column("assignee_id", ID), Column("urgency", TEXT),
    Column("status", TEXT), Column("contact_overdue", BOOL, False),
), key=("case_id",), indexes=(("assignee_id", "status"),))

HOLDS = Table("workload_holds", (
    Column("resource_id", ID), Column("hold_id", ID), Column("volunteer_id", ID),
    Column("case_id", ID), Column("seats", INT), Column("until", TIME),
    Column("confirmed", BOOL, False),
), key=("resource_id", "hold_id"), indexes=(("volunteer_id", "confirmed"),))

TABLES = (VOLUNTEERS, ROLES, SHIFTS, CASES, HOLDS)
URGENT = frozenset({"critical", "high"})


def _volunteer(record: EventRecord, **values: Any) -> Upsert:
    return Upsert("volunteer_workload", {"volunteer_id": stream_key(record)},
                  {**values, **stamp(record)})


def _registered(record: EventRecord) -> list[Change]:
    d, vid = record.data, stream_key(record)
    roles: list[Change] = [Insert("volunteer_roles", {"volunteer_id": vid, "role": r})
                           for r in d.get("roles") or ()]
    return [_volunteer(record, registered_at=record.occurred_at,
                       time_zone=d.get("time_zone") or "UTC",
                       languages=",".join(d.get("languages") or ())), *roles]


def _role(record: EventRecord) -> list[Change]:
    row = {"volunteer_id": stream_key(record), "role": record.data["role"]}
    change = Insert("volunteer_roles", row) if record.type == "RoleGranted" else Delete(
        "volunteer_roles", row)
    return [_volunteer(record), change]


def _trained(record: EventRecord) -> list[Change]:
    return [_volunteer(record),
            Increment("volunteer_workload", {"volunteer_id": stream_key(record)},
                      "training_minutes", int(record.data.get("minutes", 0)))]


def _shift_started(record: EventRecord) -> list[Change]:
    vid = stream_key(record)
    return [_volunteer(record, on_shift_since=record.occurred_at),
            Insert("volunteer_shifts", {"volunteer_id": vid, "started_at": record.occurred_at,
                                        "ended_at": None})]


def _shift_ended(record: EventRecord) -> list[Change]:
    # ShiftEnded does not repeat the start; the one open interval is the one it closes.
    vid = stream_key(record)
    return [_volunteer(record, on_shift_since=None),
            Update("volunteer_shifts", {"volunteer_id": vid, "ended_at": None},
                   {"ended_at": record.occurred_at})]


def _standing(standing: str) -> Callable[[EventRecord], list[Change]]:
    def handle(record: EventRecord) -> list[Change]:
        reason = None if standing == "active" else record.data.get("reason")
        return [_volunteer(record, standing=standing, standing_reason=reason)]
    return handle


VOLUNTEER_HANDLERS: dict[str, Callable[[EventRecord], list[Change]]] = {
    "VolunteerRegistered": _registered, "RoleGranted": _role, "RoleRevoked": _role,
    "TrainingLogged": _trained,
    "VolunteerCleared": lambda r: [_volunteer(r, cleared=True)],
    "ShiftStarted": _shift_started, "ShiftEnded": _shift_ended,
    "VolunteerSuspended": _standing("suspended"), "VolunteerBanned": _standing("banned"),
    "VolunteerReinstated": _standing("active"),
}


def _case(record: EventRecord, **values: Any) -> list[Change]:
    return [Upsert("workload_cases", {"case_id": stream_key(record)}, values)]


def _heard_from(record: EventRecord) -> list[Change]:
    """A contact clears contact overdue (a no-op update unless the case was overdue)."""
    return [Update("workload_cases", {"case_id": stream_key(record), "contact_overdue": True},
                   {"contact_overdue": False})]


def _reopened(record: EventRecord) -> list[Change]:
    assignee = id_of(record.data.get("assignee_id"))
    return _case(record, assignee_id=assignee,
                 status="unassigned" if assignee is None else "assigned")


CASE_HANDLERS: dict[str, Callable[[EventRecord], list[Change]]] = {
    "CaseOpened": lambda r: _case(r, urgency=r.data.get("urgency"), status="unassigned",
                                  assignee_id=None),
    "CaseTaken": lambda r: _case(r, assignee_id=id_of(r.data["volunteer_id"]),
                                 status="assigned"),
    "CaseAssigned": lambda r: _case(r, assignee_id=id_of(r.data["volunteer_id"]),
                                    status="assigned"),
    "CaseReleased": lambda r: _case(r, assignee_id=None, status="unassigned"),
    "CaseClosed": lambda r: _case(r, status="closed"),
    "CaseReopened": _reopened,
    "ContactOverdue": lambda r: _case(r, contact_overdue=True),
    "ContactRecorded": lambda r: _heard_from(r) if r.data.get("reached") else [],
    **dict.fromkeys(CONTACT_STEP_EVENTS, lambda r: _heard_from(r)),
}


def _hold(record: EventRecord) -> list[Change]:
    """A seat hold's row, from the transport's hold events (none for other events)."""
    d = record.data
    key = {"resource_id": stream_key(record), "hold_id": id_of(d.get("hold_id"))}
    if record.type == "SeatsHeld":
        return [Insert("workload_holds", {
            **key, "volunteer_id": id_of(d.get("held_by")), "case_id": id_of(d.get("case_id")),
            "seats": d.get("seats"), "until": time_of(d.get("until")), "confirmed": False})]
    if record.type == "HoldConfirmed":
        return [Update("workload_holds", key, {"confirmed": True})]
    if record.type in ("HoldReleased", "HoldLapsed"):
        return [Delete("workload_holds", key)]
    return []


def _activity(record: EventRecord) -> list[Change]:
    volunteer_id = volunteer_actor(record.actor)
    if volunteer_id is None:
        return []
    return [Latest("volunteer_workload", {"volunteer_id": volunteer_id}, "last_activity_at",
                   record.occurred_at)]


def project(record: EventRecord) -> list[Change]:
    """Workload changes for one event: the volunteer's own stream, case holding, activity."""
    changes: list[Change] = []
    if record.stream_type == "volunteer":
        handler = VOLUNTEER_HANDLERS.get(record.type)
        changes = handler(record) if handler else [_volunteer(record)]
    elif record.stream_type == "case":
        handler = CASE_HANDLERS.get(record.type)
        changes = handler(record) if handler else []
    elif record.stream_type == "resource":
        changes = _hold(record)
    return changes + _activity(record)
