"""How runners and workers decide what to apply and how far positions move."""

from __future__ import annotations

from uuid import uuid4

from projection_events import Stream, opened

from projections.catalog import AUDIT_TRAIL, CASE_BOARD
from projections.generations import LiveTarget, store_positions
from projections.runner import build_works
from projections.tracking import Generation, Position, Target
from services.kafka.projection_worker import Incoming, KafkaTarget, caught_up_works, kafka_works

TOPIC = "corridor.events"


def test_each_target_gets_only_the_events_after_its_own_position() -> None:
    case = Stream("case")
    records = [opened(case), case.event("Departed"), case.event("Stuck", place="x", reason="y")]
    behind = LiveTarget(Target(CASE_BOARD, 2), records[0].position - 1)
    ahead = LiveTarget(Target(AUDIT_TRAIL, 1), records[1].position)

    works = {w.target.name: w for w in build_works([behind, ahead], records)}

    assert [len(works["case_board"].changes), len(works["audit_trail"].changes)] == [3, 1]
    mark = works["audit_trail"].marks[0]
    assert (mark.expected, mark.position) == (records[1].position, records[2].position)


def test_a_kafka_worker_drops_what_a_partition_or_a_rebuild_already_applied() -> None:
    case = Stream("case")
    records = [opened(case), case.event("Departed"), case.event("Returned", reason="r")]
    incoming = [Incoming(0, 10 + i, r) for i, r in enumerate(records)]
    fresh = KafkaTarget(Target(AUDIT_TRAIL, 1), floor=0, parts={})
    rebuilt = KafkaTarget(Target(AUDIT_TRAIL, 2), floor=records[1].position, parts={})
    partial = KafkaTarget(Target(CASE_BOARD, 1), floor=0,
                          parts={0: (11, records[1].position)})

    works = {(w.target.name, w.target.generation): w
             for w in kafka_works([fresh, rebuilt, partial], incoming, TOPIC)}

    assert len(works[("audit_trail", 1)].changes) == 3
    assert len(works[("audit_trail", 2)].changes) == 1, "the rebuild had the first two"
    board = works[("case_board", 1)]
    assert board.marks[0].expected == 11 and board.marks[0].position == 13
    assert board.marks[0].store_position == records[2].position


def test_offsets_move_per_partition_from_the_stored_ones() -> None:
    a, b = Stream("case"), Stream("case")
    incoming = [Incoming(0, 5, opened(a)), Incoming(3, 0, opened(b))]
    target = KafkaTarget(Target(AUDIT_TRAIL, 1), floor=0, parts={0: (5, 0)})

    (work,) = kafka_works([target], incoming, TOPIC)

    assert sorted((m.part, m.expected, m.position) for m in work.marks) == [(0, 5, 6),
                                                                          (3, -1, 1)]
    assert {m.source for m in work.marks} == {TOPIC}


def test_the_position_from_kafka_is_the_least_complete_partition() -> None:
    generations = [Generation("audit_trail", 2, "live", 1), Generation("audit_trail", 1,
                                                                        "retired", 1)]
    positions = [Position("audit_trail", 2, "store", 0, 100, 100),
                 Position("audit_trail", 2, TOPIC, 0, 50, 180),
                 Position("audit_trail", 2, TOPIC, 1, 70, 150),
                 Position("audit_trail", 1, "store", 0, 999, 999)]

    assert store_positions(positions, generations) == {"audit_trail": 150}


def test_a_rebuild_floor_counts_for_idle_partitions() -> None:
    generations = [Generation("case_board", 3, "live", 1)]
    positions = [Position("case_board", 3, "store", 0, 400, 400),
                 Position("case_board", 3, TOPIC, 0, -1, None)]

    assert store_positions(positions, generations) == {"case_board": 400}


def test_an_unknown_stream_type_is_only_audited() -> None:
    record = Stream("accesslog", uuid4()).event("HistoryViewed", viewer="x", purpose="p",
                                                view="v")

    assert CASE_BOARD.project(record) == [] and len(AUDIT_TRAIL.project(record)) == 1


def test_partitions_consumed_to_their_end_move_up_to_what_the_relay_had_acknowledged() -> None:
    target = KafkaTarget(Target(CASE_BOARD, 1), floor=0, parts={
        0: (8, 40),           # consumed to its end (8): moves to 90
        1: (3, 60),           # its end is 5: events up to 90 may still be coming
        2: (-1, 0),           # empty and never consumed: moves, taking offset 0
        3: (4, 95)})          # already past what the relay acknowledged: left alone

    (work,) = caught_up_works([target], {0: 8, 1: 5, 2: 0, 3: 4}, relayed=90, topic=TOPIC)

    assert sorted((m.part, m.expected, m.position, m.store_position) for m in work.marks) == [
        (0, 8, 8, 90), (2, -1, 0, 90)]
    assert work.changes == []


def test_nothing_moves_while_no_partition_is_consumed_to_its_end() -> None:
    target = KafkaTarget(Target(CASE_BOARD, 1), floor=0, parts={0: (3, 10), 1: (-1, 0)})

    assert caught_up_works([target], {}, relayed=50, topic=TOPIC) == []
    assert caught_up_works([target], {1: 7}, relayed=50, topic=TOPIC) == []
