"""Bookkeeping shared by both writers: generations, positions, and one transaction's work.

`projection_generations` says which generation of each read model is live (queries read it),
which is being built, and which were retired. `projection_tracking` holds, per generation and
source partition, the position of the last event applied: for the store, its notification
id (source "store", part 0); for Kafka, the offset per topic partition (source = topic).
A position only moves in the same transaction as the read-model changes it covers, and only
from the value the writer expected, so two runners can never both apply one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson

from projections.catalog import Projection
from projections.changes import Change, row_of
from projections.migrations import Migration, Schema

STORE_SOURCE = "store"
LIVE, BUILDING, RETIRED = "live", "building", "retired"

SCHEMA = Schema(what="read-model store", table="projection_schema_version",
                lock="corridor_projections", migrations=(
    Migration(1, "projection generations and tracking", postgres=(
        "CREATE TABLE IF NOT EXISTS projection_generations (projection text, generation bigint, "
        "state text, code_version bigint, created_at timestamptz, switched_at timestamptz, "
        "PRIMARY KEY (projection, generation))",
        "CREATE TABLE IF NOT EXISTS projection_tracking (projection text, generation bigint, "
        "source text, part bigint, position bigint, store_position bigint, "
        "updated_at timestamptz, PRIMARY KEY (projection, generation, source, part))",
    ), sqlite=(
        "CREATE TABLE IF NOT EXISTS projection_generations (projection TEXT, generation INTEGER, "
        "state TEXT, code_version INTEGER, created_at TEXT, switched_at TEXT, "
        "PRIMARY KEY (projection, generation))",
        "CREATE TABLE IF NOT EXISTS projection_tracking (projection TEXT, generation INTEGER, "
        "source TEXT, part INTEGER, position INTEGER, store_position INTEGER, updated_at TEXT, "
        "PRIMARY KEY (projection, generation, source, part))",
    )),
    Migration(2, "board changes for the other processes of the embedded store", postgres=(
        # PostgreSQL hands them on by NOTIFY (projections.pg_store): no table
    ), sqlite=(
        "CREATE TABLE IF NOT EXISTS board_changes (id INTEGER PRIMARY KEY, payload TEXT "
        "NOT NULL)",
    )),
))
"""The bookkeeping tables' migrations (projections.migrations), in the read models' own
database and version table: on PostgreSQL that is the event store's schema, whose own
tables have theirs (services.storage.migrations). The read models' tables themselves are
versioned per projection and rebuilt into a new generation instead."""

SELECT_GENERATIONS = ("SELECT projection, generation, state, code_version, created_at, "
                      "switched_at FROM projection_generations ORDER BY projection, generation")
INSERT_GENERATION = ("INSERT INTO projection_generations (projection, generation, state, "
                     "code_version, created_at) VALUES (?, ?, ?, ?, ?)")
RETIRE_LIVE = ("UPDATE projection_generations SET state = 'retired' "
               "WHERE projection = ? AND state = 'live'")
MAKE_LIVE = ("UPDATE projection_generations SET state = 'live', switched_at = ? "
             "WHERE projection = ? AND generation = ?")
DELETE_GENERATION = "DELETE FROM projection_generations WHERE projection = ? AND generation = ?"
DELETE_TRACKING = "DELETE FROM projection_tracking WHERE projection = ? AND generation = ?"
INIT_TRACKING = ("INSERT INTO projection_tracking (projection, generation, source, part, "
                 "position, store_position, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (projection, generation, source, part) DO NOTHING")
ADVANCE = ("UPDATE projection_tracking SET position = ?, store_position = ?, updated_at = ? "
           "WHERE projection = ? AND generation = ? AND source = ? AND part = ? "
           "AND position = ?")
SELECT_TRACKING = ("SELECT projection, generation, source, part, position, store_position, "
                   "updated_at FROM projection_tracking")


class PositionConflict(Exception):
    """Another runner moved the position first; this batch was rolled back, not applied."""


@dataclass(frozen=True)
class Target:
    """One generation of one read model, as a destination for changes."""

    projection: Projection
    generation: int

    @property
    def name(self) -> str:
        return self.projection.name


@dataclass(frozen=True)
class Generation:
    """A row of projection_generations."""

    projection: str
    generation: int
    state: str
    code_version: int
    created_at: datetime | None = None
    switched_at: datetime | None = None


@dataclass(frozen=True)
class Position:
    """A row of projection_tracking."""

    projection: str
    generation: int
    source: str
    part: int
    position: int
    store_position: int | None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Mark:
    """Move one source partition's position from `expected` to `position`."""

    expected: int
    position: int
    store_position: int | None
    source: str = STORE_SOURCE
    part: int = 0


@dataclass
class Work:
    """What one transaction does for one target: its changes and the positions they reach."""

    target: Target
    marks: list[Mark]
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class Touched:
    """Board rows a committed transaction changed (for the live board stream)."""

    cases: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    everything: bool = False
    """Too many to name: listeners should reload what they show."""

    def __bool__(self) -> bool:
        return bool(self.cases or self.resources or self.everything)


def touched_by(works: list[Work]) -> Touched:
    """Cases and resources whose board rows the works change."""
    cases: set[str] = set()
    resources: set[str] = set()
    for work in works:
        if work.target.name != "case_board":
            continue
        for change in work.changes:
            row = row_of(change)
            if "case_id" in row:
                cases.add(str(row["case_id"]))
            elif "resource_id" in row:
                resources.add(str(row["resource_id"]))
    return Touched(frozenset(cases), frozenset(resources))


def board_payload(touched: Touched, limit: int | None = None) -> str:
    """The changed board rows as text for another process (a NOTIFY payload, a row of the
    embedded store's board_changes), or 'everything' when longer than `limit`."""
    text = orjson.dumps({"cases": sorted(touched.cases),
                         "resources": sorted(touched.resources),
                         **({"everything": True} if touched.everything else {})}).decode()
    return text if limit is None or len(text) < limit else '{"everything": true}'


def parse_payload(text: str) -> Touched:
    """The changed board rows a payload names."""
    data = orjson.loads(text)
    return Touched(frozenset(data.get("cases", ())), frozenset(data.get("resources", ())),
                   bool(data.get("everything")))
