"""The audit trail: every event of every stream, in order, with who, when, why and a summary.

The summary and the details are built from the event's readable fields only; personal
data arrives sealed ({"subject_id", "sealed"}) and is shown as "[personal data]".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from projections.changes import Change, Insert
from projections.records import EventRecord
from projections.schema import ID, INT, TEXT, TIME, Column, Table
from projections.values import stream_key, uuid_text

AUDIT = Table("audit_events", (
    Column("stream_id", ID), Column("version", INT), Column("position", INT),
    Column("stream_type", TEXT), Column("type", TEXT), Column("occurred_at", TIME),
    Column("actor", TEXT), Column("command_id", ID), Column("correlation_id", ID),
    Column("summary", TEXT), Column("details", TEXT),
), key=("stream_id", "version"),
    indexes=(("position",), ("actor", "occurred_at"), ("occurred_at",), ("correlation_id",)),
    append_only=True)

TABLES = (AUDIT,)
SUMMARY_TEXT_LIMIT = 200
PERSONAL = "[personal data]"
"""Stands for free text about a case's person (advice, places, reasons): it is sealed and
never copied here (an old event's plaintext arrives withheld: records.PLAINTEXT_BEFORE)."""

Summary = Callable[[Mapping[str, Any]], str]


def _text(value: Any) -> str:
    text = str(value or "")
    return text if len(text) <= SUMMARY_TEXT_LIMIT else text[:SUMMARY_TEXT_LIMIT - 1] + "…"


def _count(values: Any, noun: str) -> str:
    n = len(values or ())
    return f"{n} {noun}" + ("" if n == 1 else "s")


SUMMARIES: dict[str, Summary] = {
    "CaseOpened": lambda d: f"case opened ({d.get('urgency')} urgency) in {d.get('region')}, "
                            f"going to {d.get('destination')}",
    "CaseTaken": lambda d: f"taken by volunteer {d.get('volunteer_id')}",
    "CaseAssigned": lambda d: f"assigned to volunteer {d.get('volunteer_id')} "
                              f"(was {d.get('previous_volunteer_id') or 'unassigned'})",
    "CaseReleased": lambda d: f"released by volunteer {d.get('volunteer_id')} "
                              f"{PERSONAL}",
    "AdviceGiven": lambda d: f"advice given {PERSONAL} "
                             f"({_count(d.get('resource_ids'), 'resource')})",
    "TransportArranged": lambda d: f"transport arranged {PERSONAL} "
                                   f"({_count(d.get('resource_ids'), 'resource')})",
    "Departed": lambda d: "departed",
    "CheckpointReached": lambda d: f"reached a checkpoint {PERSONAL}",
    "Stuck": lambda d: f"stuck {PERSONAL}",
    "Returned": lambda d: f"returned {PERSONAL}",
    "BorderCrossed": lambda d: f"crossed a border {PERSONAL}",
    "ArrivedSafe": lambda d: f"arrived safe {PERSONAL}",
    "CannotLeave": lambda d: f"cannot leave {PERSONAL}",
    "NoteAdded": lambda d: f"note added {PERSONAL}",
    "FollowUpRecorded": lambda d: f"follow-up recorded {PERSONAL}",
    "CaseFlagged": lambda d: f"flagged {d.get('reason')} {PERSONAL}"
                             + (f" (resource {d['resource_id']})" if d.get("resource_id") else ""),
    "FlagCleared": lambda d: f"flag {d.get('flag_id')} cleared {PERSONAL}",
    "SupportGroupFormed": lambda d: f"support group formed with psychologist "
                                    f"{d.get('psychologist_id')} and "
                                    f"{_count(d.get('member_ids'), 'member')}",
    "SupportGroupMemberAdded": lambda d: f"support group member {d.get('member_id')} added",
    "SupportGroupDissolved": lambda d: f"support group dissolved {PERSONAL}",
    "CaseClosed": lambda d: f"closed: {d.get('outcome')}",
    "CaseReopened": lambda d: f"reopened {PERSONAL}",
    "PersonalDataErased": lambda d: f"personal data of {d.get('subject_id')} erased",
    "VolunteerRegistered": lambda d: f"volunteer registered ({', '.join(d.get('roles') or ())})",
    "RoleGranted": lambda d: f"role {d.get('role')} granted",
    "RoleRevoked": lambda d: f"role {d.get('role')} revoked",
    "TrainingLogged": lambda d: f"{d.get('minutes')} minutes of training: "
                                f"{_text(d.get('topic'))}",
    "VolunteerCleared": lambda d: f"cleared for casework after {d.get('training_minutes')} "
                                  "minutes of training",
    "ShiftStarted": lambda d: "shift started",
    "ShiftEnded": lambda d: "shift ended",
    "VolunteerSuspended": lambda d: f"suspended: {_text(d.get('reason'))}",
    "VolunteerBanned": lambda d: f"banned: {_text(d.get('reason'))}",
    "VolunteerReinstated": lambda d: f"reinstated: {_text(d.get('reason'))}",
    "ResourceReported": lambda d: f"{d.get('kind')} reported in {d.get('region')}: "
                                  f"{_text(d.get('place'))}",
    "ResourceVerified": lambda d: f"verified by {d.get('verified_by')} until "
                                  f"{d.get('expires_at')}",
    "ResourceRejected": lambda d: f"rejected by {d.get('rejected_by')}: "
                                  f"{_text(d.get('reason'))}",
    "VerificationExpired": lambda d: f"verification expired at {d.get('expired_at')}",
    "ResourceMarkedFull": lambda d: f"marked full: {_text(d.get('reason'))}",
    "ResourceMarkedUnsafe": lambda d: f"marked unsafe: {_text(d.get('reason'))}",
    "ResourceClosed": lambda d: f"closed: {_text(d.get('reason'))}",
    "ResourceDestroyed": lambda d: f"destroyed: {_text(d.get('reason'))}",
    "ResourceReopened": lambda d: f"reopened: {_text(d.get('reason'))}",
    "OccupancyUpdated": lambda d: f"occupancy {d.get('occupancy')}/{d.get('capacity')}",
    "ResourceRetracted": lambda d: f"retracted: {_text(d.get('reason'))}",
    "AccessLogOpened": lambda d: f"access log opened for {d.get('stream_id')}",
    "AuditAccessGranted": lambda d: f"audit access granted to {d.get('auditor')} by "
                                    f"{d.get('granted_by')}: {_text(d.get('purpose'))}",
    "AuditAccessRevoked": lambda d: f"audit access of {d.get('auditor')} revoked: "
                                    f"{_text(d.get('reason'))}",
    "HistoryViewed": lambda d: f"history viewed by {d.get('viewer')} ({d.get('view')}): "
                               f"{_text(d.get('purpose'))}",
    "PersonalDataViewed": lambda d: f"personal data viewed by {d.get('viewer')} "
                                    f"({d.get('view')}, {d.get('basis')}): "
                                    f"{_text(d.get('purpose'))}",
    "LogAnchored": lambda d: f"log anchored from {d.get('from_position')} to "
                             f"{d.get('to_position')}",
}


def summary(record: EventRecord) -> str:
    """A one-line, non-personal description of the event."""
    describe = SUMMARIES.get(record.type)
    return describe(record.data) if describe else record.type


def _readable_value(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        if "sealed" in value and "subject_id" in value:
            return {"personal_data_of": value["subject_id"], "erased": not value["sealed"]}
        return {k: _readable_value(v) if type(v) is dict or type(v) is list else v
                for k, v in value.items()}
    if kind is list:
        return [_readable_value(v) if type(v) is dict or type(v) is list else v
                for v in value]
    return value


def readable(data: Mapping[str, Any]) -> dict[str, Any]:
    """The event's fields with sealed personal data named by its subject, never shown."""
    shown = {}
    for key, value in data.items():  # one pass: this runs for every event of a rebuild
        kind = type(value)
        shown[key] = _readable_value(value) if kind is dict or kind is list else value
    shown.pop("class_version", None)
    return shown


def project(record: EventRecord) -> list[Change]:
    """One audit row per event."""
    command = uuid_text(record.command_id)
    return [Insert("audit_events", {
        "stream_id": stream_key(record), "version": record.version,
        "position": record.position, "stream_type": record.stream_type, "type": record.type,
        "occurred_at": record.occurred_at, "actor": record.actor,
        "command_id": command,
        # Most requests are their own correlation: format the id once.
        "correlation_id": command if record.correlation_id == record.command_id
        else uuid_text(record.correlation_id),
        "summary": summary(record),
        "details": orjson.dumps(readable(record.data)).decode(),
    })]
