"""The case board: every case's status, urgency, waits, assignee, flags and relied-on resources.

Rows hold ids, counts and readable survey answers only; names, contacts, exact places,
health details and notes stay sealed in the event store. Waits are computed at query
time from the stored timestamps. The board keeps its own small copy of each resource's
condition, so "cases relying on a resource that changed" is a join, whatever order
case and resource events arrive in. `stage` is the aggregate's journey stage; `last_step`
(and `last_step_at`) is the last movement or transport arranged (or seats held on one), so
a case with a ride arranged no longer looks untouched; advice counts as contact, not as a
step. Seats the case holds on transports are counted on its row (held, confirmed) and listed
in `case_holds`; a hold is relied on like any transport arranged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.contact import CONTACT_STEP_EVENTS
from domain.journey import STAGE_AFTER_EVENT
from projections.changes import Change, Delete, Increment, Insert, Update, Upsert
from projections.records import EventRecord
from projections.schema import BOOL, ID, INT, TEXT, TIME, Column, Table
from projections.values import id_of, ids_of, stream_key, time_of, window_columns

URGENCY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
STAGE_AFTER = {event: stage.value for event, stage in STAGE_AFTER_EVENT.items()}
"""The stage after each movement event: the domain's own table, so the board never disagrees."""
CONTACT_EVENTS = frozenset({"AdviceGiven", "TransportArranged", "FollowUpRecorded",
                            *STAGE_AFTER})
"""Events that mean a volunteer was in touch with the person (they reset 'since contact')."""
HEARD_FROM = frozenset(CONTACT_STEP_EVENTS)
"""Steps that count as contact (domain.contact): they clear contact overdue and possible lost
contact, as a ContactRecorded that reached the person does."""

BOARD = Table("case_board", (
    Column("case_id", ID), Column("person_id", ID), Column("status", TEXT),
    Column("urgency", TEXT), Column("urgency_rank", INT), Column("stage", TEXT, "waiting"),
    Column("region", TEXT), Column("destination", TEXT), Column("contact_channel", TEXT),
    Column("safe_now", BOOL), Column("adults", INT), Column("children", INT),
    Column("pets", INT), Column("mobility_needs", BOOL), Column("medical_needs", BOOL),
    Column("needs_medicine", BOOL), Column("needs_food", BOOL), Column("needs_clothes", BOOL),
    Column("languages", TEXT, ""), Column("opened_at", TIME), Column("assignee_id", ID),
    Column("assigned_at", TIME), Column("last_contact_at", TIME), Column("last_step", TEXT),
    Column("last_step_at", TIME), Column("borders_crossed", INT, 0), Column("notes", INT, 0),
    Column("flags_active", INT, 0), Column("psychologist_id", ID),
    Column("support_members", INT, 0), Column("outcome", TEXT), Column("closed_at", TIME),
    Column("personal_erased", BOOL, False), Column("last_event_at", TIME),
    Column("version", INT), Column("position", INT),
    Column("seats_held", INT, 0), Column("seats_confirmed", INT, 0),
    Column("contact_overdue_since", TIME), Column("lost_contact_suspected_at", TIME),
    Column("contact_attempts", INT, 0), Column("last_contact_attempt_at", TIME),
    Column("merged_into", ID),
), key=("case_id",), indexes=(("status", "urgency_rank"), ("assignee_id",), ("region",)))

DUPLICATES = Table("case_duplicates", (
    Column("case_id", ID), Column("other_case_id", ID), Column("matched_on", TEXT),
    Column("found_at", TIME),
), key=("case_id", "other_case_id"))
"""Active cases marked as maybe the same person (both ways round); supervisors see which."""

HOLDS = Table("case_holds", (
    Column("case_id", ID), Column("hold_id", ID), Column("resource_id", ID),
    Column("seats", INT), Column("until", TIME), Column("confirmed", BOOL, False),
    Column("held_at", TIME),
), key=("case_id", "hold_id"))

FLAGS = Table("case_flags", (
    Column("case_id", ID), Column("flag_id", ID), Column("reason", TEXT),
    Column("detail", TEXT), Column("resource_id", ID), Column("raised_at", TIME),
    Column("raised_by", TEXT), Column("closes_at", TIME),
), key=("case_id", "flag_id"), indexes=(("resource_id",),))

RELIED_ON = Table("case_resources", (
    Column("case_id", ID), Column("resource_id", ID), Column("since", TIME),
    Column("via", TEXT),
), key=("case_id", "resource_id"), indexes=(("resource_id",),))

RESOURCE_STATE = Table("board_resources", (
    Column("resource_id", ID), Column("kind", TEXT), Column("status", TEXT, "available"),
    Column("verification", TEXT, "unverified"), Column("expires_at", TIME),
    Column("capacity", INT), Column("occupancy", INT, 0), Column("reason", TEXT),
    Column("changed_at", TIME), Column("seats", INT), Column("departs_until", TIME),
    Column("window_opens_at", TIME), Column("window_closes_at", TIME),
    Column("window_daily_from", TEXT), Column("window_daily_until", TEXT),
    Column("window_zone", TEXT), Column("window_closed_within", BOOL, False),
), key=("resource_id",))

TABLES = (BOARD, FLAGS, RELIED_ON, RESOURCE_STATE, HOLDS, DUPLICATES)


def _row(record: EventRecord, **values: Any) -> Upsert:
    if record.type in HEARD_FROM or (record.type == "ContactRecorded"
                                     and record.data.get("reached")):
        values["contact_overdue_since"] = values["lost_contact_suspected_at"] = None
    values["last_event_at"], values["version"] = record.occurred_at, record.version
    values["position"] = record.position  # stamp(record), without building a second dict
    return Upsert("case_board", {"case_id": stream_key(record)}, values)


def _opened(record: EventRecord) -> list[Change]:
    d = record.data
    return [_row(
        record, person_id=id_of(d.get("person_id")), status="unassigned",
        urgency=d.get("urgency"), urgency_rank=URGENCY_RANK.get(d.get("urgency", ""), 9),
        stage="waiting", region=d.get("region"), destination=d.get("destination"),
        contact_channel=d.get("contact_channel"), safe_now=bool(d.get("safe_now")),
        adults=d.get("adults", 0), children=len(d.get("children_ages") or ()),
        pets=d.get("pets", 0), mobility_needs=bool(d.get("mobility_needs")),
        medical_needs=bool(d.get("medical_needs")),
        needs_medicine=bool(d.get("needs_medicine")), needs_food=bool(d.get("needs_food")),
        needs_clothes=bool(d.get("needs_clothes")),
        languages=",".join(d.get("languages") or ()), opened_at=record.occurred_at)]


def _assigned(record: EventRecord) -> list[Change]:
    return [_row(record, status="assigned", assignee_id=id_of(record.data["volunteer_id"]),
                 assigned_at=record.occurred_at)]


def _released(record: EventRecord) -> list[Change]:
    return [_row(record, status="unassigned", assignee_id=None, assigned_at=None)]


def _relied_on(record: EventRecord, **values: Any) -> list[Change]:
    case_id = stream_key(record)
    # Insert keeps the first `since` when a later step names the same resource again.
    uses: list[Change] = [
        Insert("case_resources", {"case_id": case_id, "resource_id": r,
                                  "since": record.occurred_at, "via": record.type})
        for r in ids_of(record.data.get("resource_ids"))]
    return [_row(record, last_contact_at=record.occurred_at, **values), *uses]


def _transport_arranged(record: EventRecord) -> list[Change]:
    # A step of the journey that moves no one: the stage stays the aggregate's ("waiting"
    # until they set off), and the board says what was done last and when.
    return _relied_on(record, last_step=record.type, last_step_at=record.occurred_at)


def _seats_held(record: EventRecord) -> list[Change]:
    d, case_id = record.data, stream_key(record)
    resource_id = id_of(d.get("resource_id"))
    seats = int(d.get("seats") or 0)
    return [
        _row(record, last_step=record.type, last_step_at=record.occurred_at,
             last_contact_at=record.occurred_at),
        Insert("case_resources", {"case_id": case_id, "resource_id": resource_id,
                                  "since": record.occurred_at, "via": record.type}),
        Increment("case_board", {"case_id": case_id}, "seats_held", seats),
        Insert("case_holds", {"case_id": case_id, "hold_id": id_of(d.get("hold_id")),
                              "resource_id": resource_id, "seats": seats,
                              "until": time_of(d.get("until")), "confirmed": False,
                              "held_at": record.occurred_at})]


def _seats_confirmed(record: EventRecord) -> list[Change]:
    d, case_id = record.data, stream_key(record)
    seats = int(d.get("seats") or 0)
    return [_row(record, last_contact_at=record.occurred_at),
            Increment("case_board", {"case_id": case_id}, "seats_held", -seats),
            Increment("case_board", {"case_id": case_id}, "seats_confirmed", seats),
            Update("case_holds", {"case_id": case_id, "hold_id": id_of(d.get("hold_id"))},
                   {"confirmed": True})]


def _seats_freed(record: EventRecord) -> list[Change]:
    d, case_id = record.data, stream_key(record)
    column = "seats_confirmed" if d.get("confirmed") else "seats_held"
    return [_row(record),
            Increment("case_board", {"case_id": case_id}, column, -int(d.get("seats") or 0)),
            Delete("case_holds", {"case_id": case_id, "hold_id": id_of(d.get("hold_id"))})]


def _moved(record: EventRecord) -> list[Change]:
    changes: list[Change] = [_row(
        record, stage=STAGE_AFTER[record.type], last_step=record.type,
        last_step_at=record.occurred_at, last_contact_at=record.occurred_at)]
    if record.type == "BorderCrossed":
        changes.append(Increment("case_board", {"case_id": stream_key(record)},
                                 "borders_crossed", 1))
    return changes


def _flagged(record: EventRecord) -> list[Change]:
    d, case_id = record.data, stream_key(record)
    return [
        _row(record),
        Insert("case_flags", {
            "case_id": case_id, "flag_id": id_of(d["flag_id"]), "reason": d.get("reason"),
            "detail": d.get("detail", ""), "resource_id": id_of(d.get("resource_id")),
            "raised_at": record.occurred_at, "raised_by": record.actor,
            "closes_at": time_of(d.get("closes_at"))}),
        # The domain refuses to raise a raised flag or clear a cleared one, so +1/-1 is exact.
        Increment("case_board", {"case_id": case_id}, "flags_active", 1),
    ]


def _flag_cleared(record: EventRecord) -> list[Change]:
    case_id = stream_key(record)
    return [_row(record),
            Delete("case_flags", {"case_id": case_id, "flag_id": id_of(record.data["flag_id"])}),
            Increment("case_board", {"case_id": case_id}, "flags_active", -1)]


def _group_formed(record: EventRecord) -> list[Change]:
    d = record.data
    return [_row(record, psychologist_id=id_of(d.get("psychologist_id")),
                 support_members=len(d.get("member_ids") or ()))]


def _member_added(record: EventRecord) -> list[Change]:
    return [_row(record),
            Increment("case_board", {"case_id": stream_key(record)}, "support_members", 1)]


def _closed(record: EventRecord) -> list[Change]:
    # A closed case relies on nothing any more (the aggregate forgets its resources too).
    return [_row(record, status="closed", outcome=record.data.get("outcome"),
                 closed_at=record.occurred_at),
            Delete("case_resources", {"case_id": stream_key(record)})]


def _reopened(record: EventRecord) -> list[Change]:
    assignee = id_of(record.data.get("assignee_id"))
    if assignee is None:
        return [_row(record, status="unassigned", assignee_id=None, assigned_at=None,
                     outcome=None, closed_at=None)]
    return [_row(record, status="assigned", assignee_id=assignee, outcome=None, closed_at=None)]


def _note(record: EventRecord) -> list[Change]:
    return [_row(record),
            Increment("case_board", {"case_id": stream_key(record)}, "notes", 1)]


CASE_HANDLERS: dict[str, Callable[[EventRecord], list[Change]]] = {
    "CaseOpened": _opened, "CaseTaken": _assigned, "CaseAssigned": _assigned,
    "CaseReleased": _released, "AdviceGiven": _relied_on,
    "TransportArranged": _transport_arranged,
    **dict.fromkeys(STAGE_AFTER, _moved),
    "NoteAdded": _note, "FollowUpRecorded": lambda r: [_row(r, last_contact_at=r.occurred_at)],
    "CaseFlagged": _flagged, "FlagCleared": _flag_cleared,
    "SupportGroupFormed": _group_formed, "SupportGroupMemberAdded": _member_added,
    "SupportGroupDissolved": lambda r: [_row(r, psychologist_id=None, support_members=0)],
    "CaseClosed": _closed, "CaseReopened": _reopened,
    "PersonalDataErased": lambda r: [_row(r, personal_erased=True)],
    "TransportSeatsHeld": _seats_held, "TransportSeatsConfirmed": _seats_confirmed,
    "TransportSeatsReleased": _seats_freed, "TransportSeatsLapsed": _seats_freed,
}

def _contact(record: EventRecord) -> list[Change]:
    reached = {"last_contact_at": record.occurred_at} if record.data.get("reached") else {}
    return [_row(record, last_contact_attempt_at=record.occurred_at, **reached),
            Increment("case_board", {"case_id": stream_key(record)}, "contact_attempts", 1)]


def _duplicate(record: EventRecord) -> list[Change]:
    d = record.data
    return [_row(record), Upsert("case_duplicates", {
        "case_id": stream_key(record), "other_case_id": id_of(d.get("other_case_id"))}, {
        "matched_on": ",".join(d.get("matched_on") or ()), "found_at": record.occurred_at})]


def _unlinked(field: str) -> Callable[[EventRecord], list[Change]]:
    """A pair no longer marked: told apart, or one merged into the other."""
    def handle(record: EventRecord) -> list[Change]:
        other = id_of(record.data.get(field))
        merged = {"merged_into": other} if record.type == "CaseMergedInto" else {}
        return [_row(record, **merged), Delete("case_duplicates", {
            "case_id": stream_key(record), "other_case_id": other})]
    return handle


SILENCE_HANDLERS: dict[str, Callable[[EventRecord], list[Change]]] = {
    "ContactRecorded": _contact,
    "ContactOverdue": lambda r: [_row(r, contact_overdue_since=time_of(r.data.get("due_at")))],
    "LostContactSuspected": lambda r: [_row(r, lost_contact_suspected_at=r.occurred_at)],
    "PossibleDuplicateFound": _duplicate,
    "DuplicateToldApart": _unlinked("other_case_id"),
    "CaseMergedInto": _unlinked("survivor_case_id"),
    "CaseMergedIn": _unlinked("merged_case_id"),
}
"""Contact and the same person twice (issue 23)."""
CASE_HANDLERS.update(SILENCE_HANDLERS)


RESOURCE_STATUS = {"ResourceMarkedFull": "full", "ResourceMarkedUnsafe": "unsafe",
                   "ResourceClosed": "closed", "ResourceDestroyed": "destroyed",
                   "ResourceReopened": "available", "ResourceRetracted": "retracted"}
VERIFICATION = {"ResourceVerified": "verified", "ResourceRejected": "rejected",
                "VerificationExpired": "expired"}


def _resource(record: EventRecord) -> list[Change]:
    d, kind = record.data, record.type
    if kind == "TransportOffered":  # what it offers, not a change of its condition
        return [Upsert("board_resources", {"resource_id": stream_key(record)}, {
            "seats": d.get("seats"), "departs_until": time_of(d.get("departs_until"))})]
    if kind in ("WindowSet", "WindowCleared"):  # when it is open: asked at query time
        return [Upsert("board_resources", {"resource_id": stream_key(record)},
                       window_columns(record))]
    values: dict[str, Any] = {"changed_at": record.occurred_at}
    if kind == "ResourceReported":
        values.update(kind=d.get("kind"), capacity=d.get("capacity"))
    elif kind in RESOURCE_STATUS:
        values.update(status=RESOURCE_STATUS[kind], reason=d.get("reason", ""))
    elif kind in VERIFICATION:
        values.update(verification=VERIFICATION[kind], reason=d.get("reason", kind))
        if kind != "VerificationExpired":
            values["expires_at"] = time_of(d.get("expires_at"))
    elif kind == "OccupancyUpdated":
        values.update(occupancy=d.get("occupancy"), capacity=d.get("capacity"))
    else:
        return []
    return [Upsert("board_resources", {"resource_id": stream_key(record)}, values)]


def project(record: EventRecord) -> list[Change]:
    """Board changes for one event (cases and the condition of resources they rely on)."""
    if record.stream_type == "case":
        handler = CASE_HANDLERS.get(record.type)
        return handler(record) if handler else [_row(record)]
    if record.stream_type == "resource":
        return _resource(record)
    return []
