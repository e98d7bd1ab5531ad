"""Hand-built EventRecords for projection unit tests (no store, no I/O)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from projections.catalog import Projection
from projections.memory import MemoryTables
from projections.records import EventRecord

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SEALED = {"sealed": True}


class Stream:
    """One aggregate's events: versions and positions count up as events are made."""

    positions = itertools.count(1)

    def __init__(self, stream_type: str, stream_id: UUID | None = None) -> None:
        self.stream_type = stream_type
        self.id = stream_id or uuid4()
        self.version = 0

    def event(self, type_: str, *, actor: str = "someone", at: datetime | None = None,
              at_minute: float = 0, correlation_id: UUID | None = None,
              **data: Any) -> EventRecord:
        self.version += 1
        command = uuid4()
        return EventRecord(
            position=next(Stream.positions), stream_id=self.id, stream_type=self.stream_type,
            version=self.version, type=type_,
            occurred_at=(at or T0) + timedelta(minutes=at_minute), actor=actor,
            command_id=command, correlation_id=correlation_id or command, data=data)


def personal(subject: UUID) -> dict[str, Any]:
    """Personal data as decode_stored leaves it: a subject id and a flag."""
    return {"subject_id": str(subject), **SEALED}


def opened(case: Stream, *, urgency: str = "high", region: str = "kharkiv",
           **answers: Any) -> EventRecord:
    person = uuid4()
    data: dict[str, Any] = {
        "person_id": str(person), "urgency": urgency, "personal": personal(person),
        "safe_now": False, "region": region, "destination": "poland",
        "contact_channel": "telegram", "adults": 2, "children_ages": [4, 9], "pets": 1,
        "mobility_needs": False, "medical_needs": True, "needs_medicine": True,
        "needs_food": False, "needs_clothes": False, "languages": ["uk", "ru"], **answers}
    return case.event("CaseOpened", actor="intake-bot", **data)


def apply(projection: Projection, records: Iterable[EventRecord]) -> MemoryTables:
    """The projection's tables after the records, in memory."""
    tables = MemoryTables(projection.tables)
    for record in records:
        tables.apply(projection.project(record))
    return tables


def only(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The single row of a table."""
    assert len(rows) == 1, rows
    return rows[0]
