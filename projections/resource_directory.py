"""The resource directory: what may be handed out now, and what fact-checkers must re-check.

A resource is offered only while verified, available (not full, unsafe, closed, destroyed
or retracted), with free places if it is a shelter, and before its `expires_at`. Expiry is
a time, not an event the directory waits for: the query filters `expires_at > now`, so a
verification stops being offered the moment it runs out, even before VerificationExpired
is recorded. The contact person's details stay sealed; the row only says one exists.
"""

from __future__ import annotations

from typing import Any

from projections.changes import Change, Upsert
from projections.records import EventRecord
from projections.schema import BOOL, ID, INT, TEXT, TIME, Column, Table
from projections.values import id_of, stamp, stream_key, time_of

DIRECTORY = Table("resource_directory", (
    Column("resource_id", ID), Column("kind", TEXT), Column("region", TEXT),
    Column("place", TEXT), Column("details", TEXT), Column("capacity", INT),
    Column("occupancy", INT, 0), Column("has_contact", BOOL, False),
    Column("reported_by", ID), Column("reported_at", TIME),
    Column("verification", TEXT, "unverified"), Column("verified_by", ID),
    Column("verified_at", TIME), Column("expires_at", TIME),
    Column("status", TEXT, "available"), Column("status_reason", TEXT),
    Column("status_changed_at", TIME), Column("last_event_at", TIME), Column("version", INT),
    Column("position", INT),
), key=("resource_id",),
    indexes=(("verification", "status", "kind", "region"), ("expires_at",)))

TABLES = (DIRECTORY,)

STATUS_AFTER = {"ResourceMarkedFull": "full", "ResourceMarkedUnsafe": "unsafe",
                "ResourceClosed": "closed", "ResourceDestroyed": "destroyed",
                "ResourceReopened": "available", "ResourceRetracted": "retracted"}


def _values(record: EventRecord) -> dict[str, Any]:
    d, kind = record.data, record.type
    if kind == "ResourceReported":
        return {"kind": d.get("kind"), "region": d.get("region"), "place": d.get("place"),
                "details": d.get("details"), "capacity": d.get("capacity"),
                "has_contact": d.get("contact") is not None,
                "reported_by": id_of(d.get("reported_by")), "reported_at": record.occurred_at}
    if kind == "ResourceVerified":
        return {"verification": "verified", "verified_by": id_of(d.get("verified_by")),
                "verified_at": record.occurred_at, "expires_at": time_of(d.get("expires_at"))}
    if kind == "ResourceRejected":
        return {"verification": "rejected", "verified_by": None, "expires_at": None,
                "status_reason": d.get("reason")}
    if kind == "VerificationExpired":
        return {"verification": "expired"}
    if kind in STATUS_AFTER:
        return {"status": STATUS_AFTER[kind], "status_reason": d.get("reason"),
                "status_changed_at": record.occurred_at}
    if kind == "OccupancyUpdated":
        return {"occupancy": d.get("occupancy"), "capacity": d.get("capacity")}
    return {}


def project(record: EventRecord) -> list[Change]:
    """Directory changes for one resource event."""
    if record.stream_type != "resource":
        return []
    values = _values(record)
    return [Upsert("resource_directory", {"resource_id": stream_key(record)},
                   {**values, **stamp(record)})]
