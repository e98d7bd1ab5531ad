"""A projection worker handed a batch fetched before a rebalance still applies every event.

aiokafka calls the rebalance listener from its own task, so a batch `getmany` had already
returned can reach the dedup after the partition was revoked, applied on by another member
and assigned back (sought to that member's stored offset). The worker applies none of that
batch (its offsets are behind the stored ones) and reads on from the stored offset; the
benchmark's group of four workers lost 4 of 100,000 audit rows this way (docs/capacity.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from uuid import UUID, uuid4

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from kafka_fakes import record

from projections.audit_trail import AUDIT
from projections.catalog import PROJECTIONS, Projection
from projections.changes import Insert
from projections.records import EventRecord
from projections.tracking import (
    Generation,
    Position,
    PositionConflict,
    Target,
    Touched,
    Work,
)
from services.kafka.consumer_base import Fetched
from services.kafka.messages import encode_event
from services.kafka.projection_worker import NO_OFFSET, KafkaWorker
from services.kafka.topics import Topics
from services.settings import Settings

AUDIT_TRAIL = next(p for p in PROJECTIONS if AUDIT in p.tables)


class Store:
    """One live generation of one read model: its partitions' offsets, compared and moved
    as the real stores do, and the audit rows its commits inserted."""

    def __init__(self, projection: Projection, topic: str) -> None:
        self.projection, self.topic = projection, topic
        self.offsets: dict[int, tuple[int, int]] = {}
        self.rows: list[tuple[str, int]] = []

    async def generations(self) -> list[Generation]:
        return [Generation(self.projection.name, 1, "live", self.projection.version)]

    async def positions(self) -> list[Position]:
        return [Position(self.projection.name, 1, self.topic, part, offset, applied)
                for part, (offset, applied) in self.offsets.items()]

    async def init_tracking(self, target: Target, source: str, parts: Iterable[int],
                            position: int) -> None:
        for part in parts:
            self.offsets.setdefault(part, (position, 0))

    async def commit(self, works: Sequence[Work], *, touched: Touched | None = None) -> None:
        for work in works:
            for mark in work.marks:
                if self.offsets.get(mark.part, (NO_OFFSET, 0))[0] != mark.expected:
                    raise PositionConflict(f"partition {mark.part} moved on")
        for work in works:
            for mark in work.marks:
                self.offsets[mark.part] = (mark.position, mark.store_position or 0)
            self.rows += [(str(c.values["stream_id"]), int(c.values["version"]))
                          for c in work.changes if isinstance(c, Insert)]


class Consumer:
    """One member's view of a one-partition topic: reads on from where it was sought."""

    def __init__(self, log: list[ConsumerRecord[bytes, bytes]],
                 handed_over: Callable[[], Awaitable[None]] | None = None) -> None:
        self.log, self.next = log, 0
        self.handed_over = handed_over
        """Runs once a fetch has taken its messages and before it returns them."""

    async def fetch(self, max_records: int, timeout: float) -> Fetched:
        messages = self.log[self.next:self.next + max_records]
        self.next += len(messages)
        if self.handed_over is not None:
            rebalance, self.handed_over = self.handed_over, None
            await rebalance()
        return Fetched(messages=messages)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.next = offset

    async def seek_to_beginning(self, tp: TopicPartition) -> None:
        self.next = 0

    def resync(self) -> None:
        raise AssertionError("no batch here conflicts with a stored offset")


def on_topic(topic: str, records: list[EventRecord]) -> list[ConsumerRecord[bytes, bytes]]:
    messages = []
    for offset, r in enumerate(records):
        out = encode_event(r)
        messages.append(ConsumerRecord(topic, 0, offset, 0, 0, out.key, out.value, None,
                                       len(out.key or b""), len(out.value), tuple(out.headers)))
    return messages


def worker(store: Store, settings: Settings, consumer: Consumer, batch: int) -> KafkaWorker:
    member = KafkaWorker(store, settings, [AUDIT_TRAIL], batch_size=batch,  # type: ignore[arg-type]
                         progress=object())  # type: ignore[arg-type]
    member.consumer = consumer  # type: ignore[assignment]
    return member


def stream_events(streams: Sequence[UUID], rounds: int) -> list[EventRecord]:
    """Each stream's versions 1..rounds, streams interleaved, positions in store order."""
    return [record(stream, version, position=len(streams) * (version - 1) + n + 1)
            for version in range(1, rounds + 1) for n, stream in enumerate(streams)]


def test_a_batch_applied_by_another_member_meanwhile_loses_no_later_event(
        tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    tp = TopicPartition(Topics.of(settings).events, 0)
    streams = [uuid4(), uuid4()]
    records = stream_events(streams, rounds=3)  # offsets 0..5: versions 1, 1, 2, 2, 3, 3
    log = on_topic(tp.topic, records)
    store = Store(AUDIT_TRAIL, tp.topic)

    async def story() -> None:
        other = worker(store, settings, Consumer(log), batch=4)

        async def rebalances() -> None:
            # This member's partition went to the other one, which applied offsets 0..3,
            # and came back: the listener seeks it to offset 4 before the batch is applied.
            await other.seek_stored(frozenset({tp}))
            await other.step()
            await me.seek_stored(frozenset({tp}))

        me = worker(store, settings, Consumer(log, handed_over=rebalances), batch=2)
        await me.seek_stored(frozenset({tp}))
        await me.step()  # offsets 0 and 1, fetched before the rebalances: applied there
        while await me.step():
            pass

    asyncio.run(story())
    assert sorted(store.rows) == sorted((str(r.stream_id), r.version) for r in records)
    assert store.offsets[0][0] == len(records)

