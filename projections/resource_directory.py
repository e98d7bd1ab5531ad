"""The resource directory: what may be handed out now, and what fact-checkers must re-check.

A resource is offered only while verified, available (not full, unsafe, closed, destroyed
or retracted), with free places if it is a shelter, free seats if it is a transport offering
seats (one that has left is not offered), and before its `expires_at`. Expiry is a time, not
an event the directory waits for: the query filters `expires_at > now`, so a verification
stops being offered the moment it runs out, even before VerificationExpired is recorded. The
contact person's details (a driver's name and phone) stay sealed; the row only says one
exists. Seat counts follow the transport's own hold events; `directory_holds` keeps its
current holds. An opening window is kept as it was set; whether it is open is a question of
the time asked about, answered by the query (in the window's own time zone). Places are also
kept by their key (domain.places), so a case's region finds what is near it.
"""

from __future__ import annotations

from typing import Any

from domain.places import place_key
from projections.changes import Change, Delete, Increment, Insert, Update, Upsert
from projections.records import EventRecord
from projections.schema import BOOL, ID, INT, TEXT, TIME, Column, Table
from projections.values import id_of, stamp, stream_key, time_of, window_columns

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
    Column("seats", INT), Column("seats_held", INT, 0), Column("seats_confirmed", INT, 0),
    Column("accepts", TEXT, ""), Column("departs_from", TIME), Column("departs_until", TIME),
    Column("origin", TEXT), Column("destination", TEXT),
    Column("window_opens_at", TIME), Column("window_closes_at", TIME),
    Column("window_daily_from", TEXT), Column("window_daily_until", TEXT),
    Column("window_zone", TEXT), Column("window_closed_within", BOOL, False),
    Column("region_key", TEXT), Column("origin_key", TEXT), Column("destination_key", TEXT),
), key=("resource_id",),
    indexes=(("verification", "status", "kind", "region"), ("expires_at",), ("region_key",),
             ("origin_key",), ("destination_key",)))

HOLDS = Table("directory_holds", (
    Column("resource_id", ID), Column("hold_id", ID), Column("case_id", ID),
    Column("seats", INT), Column("until", TIME), Column("confirmed", BOOL, False),
    Column("held_by", ID), Column("held_at", TIME),
), key=("resource_id", "hold_id"))

TABLES = (DIRECTORY, HOLDS)

STATUS_AFTER = {"ResourceMarkedFull": "full", "ResourceMarkedUnsafe": "unsafe",
                "ResourceClosed": "closed", "ResourceDestroyed": "destroyed",
                "ResourceReopened": "available", "ResourceRetracted": "retracted"}


def _values(record: EventRecord) -> dict[str, Any]:
    d, kind = record.data, record.type
    if kind == "ResourceReported":
        return {"kind": d.get("kind"), "region": d.get("region"), "place": d.get("place"),
                "details": d.get("details"), "capacity": d.get("capacity"),
                "has_contact": d.get("contact") is not None,
                "reported_by": id_of(d.get("reported_by")), "reported_at": record.occurred_at,
                "region_key": place_key(d.get("region"))}
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
    if kind == "TransportOffered":
        return {"seats": d.get("seats"), "accepts": ",".join(d.get("accepts") or ()),
                "departs_from": time_of(d.get("departs_from")),
                "departs_until": time_of(d.get("departs_until")), "origin": d.get("origin"),
                "destination": d.get("destination"), "origin_key": place_key(d.get("origin")),
                "destination_key": place_key(d.get("destination"))}
    if kind in ("WindowSet", "WindowCleared"):
        return window_columns(record)
    return {}


def _seats(record: EventRecord, resource_id: str) -> list[Change]:
    """Seat counters and the holds table for a hold event (none for other events)."""
    d, kind = record.data, record.type
    key = {"resource_id": resource_id}
    hold = {**key, "hold_id": id_of(d.get("hold_id"))}
    seats = int(d.get("seats") or 0)
    if kind == "SeatsHeld":
        return [Increment("resource_directory", key, "seats_held", seats),
                Insert("directory_holds", {
                    **hold, "case_id": id_of(d.get("case_id")), "seats": seats,
                    "until": time_of(d.get("until")), "confirmed": False,
                    "held_by": id_of(d.get("held_by")), "held_at": record.occurred_at})]
    if kind == "HoldConfirmed":
        return [Increment("resource_directory", key, "seats_held", -seats),
                Increment("resource_directory", key, "seats_confirmed", seats),
                Update("directory_holds", hold, {"confirmed": True})]
    if kind in ("HoldReleased", "HoldLapsed"):
        column = "seats_confirmed" if d.get("confirmed") else "seats_held"
        return [Increment("resource_directory", key, column, -seats),
                Delete("directory_holds", hold)]
    return []


def project(record: EventRecord) -> list[Change]:
    """Directory changes for one resource event."""
    if record.stream_type != "resource":
        return []
    resource_id = stream_key(record)
    values = _values(record)
    return [Upsert("resource_directory", {"resource_id": resource_id},
                   {**values, **stamp(record)}), *_seats(record, resource_id)]
