"""What each route is really like: the journeys that relied on a route, a humanitarian
corridor, a border crossing or a checkpoint, and the last incident on it.

Rows keep only what the query needs to count: which case relied on which of those resources
from which store position (and until it closed), and each case's departures, arrivals, stuck
and returned steps with their times. The counts, the median and the k-anonymity threshold are
the query's (projections.views.routes): what is published never names a case, and nothing here
is personal (the sealed places and reasons of the steps are not read). The last incident is the
last time the resource was marked unsafe, with its readable reason.
"""

from __future__ import annotations

from projections.changes import Change, Insert, Update, Upsert
from projections.records import EventRecord
from projections.schema import ID, INT, TEXT, TIME, Column, Table
from projections.values import id_of, ids_of, stream_key

ROUTE_KINDS = ("route", "corridor", "border_crossing", "checkpoint")
"""Resource kinds whose outcomes are kept: the ways out and the points on them."""
STEPS = {"Departed": "departed", "ArrivedSafe": "arrived_safe", "Stuck": "stuck",
         "Returned": "returned"}
"""The journey steps counted per route."""
RELYING = frozenset({"AdviceGiven", "TransportArranged"})

ROUTES = Table("route_resources", (
    Column("resource_id", ID), Column("kind", TEXT), Column("region", TEXT),
    Column("place", TEXT), Column("last_incident_at", TIME), Column("last_incident", TEXT),
), key=("resource_id",), indexes=(("kind",),))

LINKS = Table("route_links", (
    Column("case_id", ID), Column("resource_id", ID), Column("since_position", INT),
    Column("until_position", INT),
), key=("case_id", "resource_id"), indexes=(("resource_id",),))

STEP_ROWS = Table("route_steps", (
    Column("case_id", ID), Column("position", INT), Column("step", TEXT), Column("at", TIME),
), key=("case_id", "position"), indexes=(("at",),))

TABLES = (ROUTES, LINKS, STEP_ROWS)


def _resource(record: EventRecord) -> list[Change]:
    d, key = record.data, {"resource_id": stream_key(record)}
    if record.type == "ResourceReported" and d.get("kind") in ROUTE_KINDS:
        return [Upsert("route_resources", key, {"kind": d.get("kind"),
                                                "region": d.get("region"),
                                                "place": d.get("place")})]
    if record.type == "ResourceMarkedUnsafe":
        return [Upsert("route_resources", key, {"last_incident_at": record.occurred_at,
                                                "last_incident": d.get("reason")})]
    return []


def _relied_on(record: EventRecord, resource_ids: list[str]) -> list[Change]:
    """Links from this position on (the first kept); a link ended by a closing is open again."""
    case_id = stream_key(record)
    changes: list[Change] = []
    for resource_id in resource_ids:
        key = {"case_id": case_id, "resource_id": resource_id}
        changes.append(Insert("route_links", {**key, "since_position": record.position,
                                              "until_position": None}))
        changes.append(Update("route_links", key, {"until_position": None}))
    return changes


def _case(record: EventRecord) -> list[Change]:
    kind = record.type
    if kind in STEPS:
        return [Insert("route_steps", {"case_id": stream_key(record),
                                       "position": record.position, "step": STEPS[kind],
                                       "at": record.occurred_at})]
    if kind in RELYING:
        return _relied_on(record, ids_of(record.data.get("resource_ids")))
    if kind == "TransportSeatsHeld":
        held = id_of(record.data.get("resource_id"))
        return [] if held is None else _relied_on(record, [held])
    if kind == "CaseClosed":  # a closed case relies on nothing (Case.resource_ids)
        return [Update("route_links", {"case_id": stream_key(record), "until_position": None},
                       {"until_position": record.position})]
    return []


def project(record: EventRecord) -> list[Change]:
    """Route outcome changes for one event."""
    if record.stream_type == "case":
        return _case(record)
    if record.stream_type == "resource":
        return _resource(record)
    return []
