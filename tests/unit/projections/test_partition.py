"""Streams dealt out between rebuild processes, and the changes that cross between them."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from projection_events import T0, Stream

from projections.catalog import VOLUNTEER_WORKLOAD
from projections.changes import Increment, Latest, Upsert
from projections.memory import MemoryTables
from projections.partition import Crossing, CrossStreamChange, Partition, Router, own_rows_only
from projections.records import FastUUID
from projections.workload import VOLUNTEERS


def test_every_stream_falls_in_exactly_one_partition_whichever_way_its_id_is_written() -> None:
    for count in (1, 2, 3, 7):
        parts = [Partition(i, count) for i in range(count)]
        for _ in range(300):
            stream_id = uuid4()
            holders = [p for p in parts if p.holds(stream_id)]
            assert len(holders) == 1
            assert holders[0].holds(FastUUID(str(stream_id)))
            assert holders[0].holds_text(str(stream_id))


def test_a_partition_outside_the_count_is_refused() -> None:
    with pytest.raises(ValueError, match="partition 2 of 2"):
        Partition(2, 2)


def test_crossing_sums_increments_and_keeps_the_latest_value_per_row_and_column() -> None:
    crossing = Crossing()
    key = {"volunteer_id": str(uuid4())}
    crossing.extend([
        Increment("volunteer_workload", key, "training_minutes", 30),
        Latest("volunteer_workload", key, "last_activity_at", T0),
        Increment("volunteer_workload", dict(key), "training_minutes", 15),
        Latest("volunteer_workload", key, "last_activity_at", T0 + timedelta(hours=1)),
        Latest("volunteer_workload", key, "last_activity_at", None),
        Latest("volunteer_workload", key, "last_activity_at", T0 - timedelta(hours=1)),
    ])

    folded = {(type(c).__name__, c.column): c for c in crossing.changes()}  # type: ignore[union-attr]

    assert len(crossing) == 2
    assert folded["Increment", "training_minutes"].delta == 45  # type: ignore[union-attr]
    assert folded["Latest", "last_activity_at"].value == T0 + timedelta(hours=1)  # type: ignore[union-attr]


def test_only_increments_and_latests_may_cross_processes() -> None:
    with pytest.raises(TypeError, match="only Increment and Latest"):
        Crossing().extend([Upsert("volunteer_workload", {"volunteer_id": "x"}, {})])


def _volunteer_in(partition: Partition) -> str:
    while True:
        candidate = str(uuid4())
        if partition.holds_text(candidate):
            return candidate


def test_a_process_applies_changes_to_its_own_rows_and_sets_the_others_aside() -> None:
    mine, theirs = Partition(0, 2), Partition(1, 2)
    router = Router("volunteer_workload", VOLUNTEER_WORKLOAD.tables, mine)
    memory = MemoryTables(VOLUNTEER_WORKLOAD.tables, router.here)
    near, far = _volunteer_in(mine), _volunteer_in(theirs)

    memory.apply([Latest("volunteer_workload", {"volunteer_id": near}, "last_activity_at", T0),
                  Latest("volunteer_workload", {"volunteer_id": far}, "last_activity_at", T0),
                  Increment("volunteer_workload", {"volunteer_id": far}, "training_minutes", 5)])

    assert list(memory.tables["volunteer_workload"].rows) == [(near,)]
    assert {(type(c).__name__, c.key["volunteer_id"]) for c in router.crossing.changes()} == {  # type: ignore[union-attr]
        ("Latest", far), ("Increment", far)}


def test_a_crossing_change_without_a_row_owner_stops_the_rebuild() -> None:
    router = Router("volunteer_workload", VOLUNTEER_WORKLOAD.tables, Partition(0, 2))

    with pytest.raises(CrossStreamChange, match="names no owner"):
        router.here(Latest("volunteer_workload", {"volunteer_id": None}, "last_activity_at", T0))


def test_an_order_dependent_change_to_another_streams_row_breaks_the_contract() -> None:
    case, volunteer = Stream("case"), Stream("volunteer")
    record = case.event("CaseTaken", volunteer_id=str(volunteer.id))
    changes = [Upsert(VOLUNTEERS.name, {"volunteer_id": str(volunteer.id)}, {"cleared": True})]

    with pytest.raises(CrossStreamChange, match="volunteer_workload: Upsert on volunteer_workload"):
        own_rows_only("volunteer_workload", VOLUNTEER_WORKLOAD.tables, record, changes)


def test_changes_to_the_events_own_rows_and_crossing_latests_keep_the_contract() -> None:
    case, volunteer = Stream("case"), Stream("volunteer")
    record = case.event("CaseTaken", actor=str(volunteer.id), volunteer_id=str(volunteer.id))

    own_rows_only("volunteer_workload", VOLUNTEER_WORKLOAD.tables, record,
                  VOLUNTEER_WORKLOAD.project(record))
