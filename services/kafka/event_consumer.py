"""A consumer of the events topic for corridor's own workers: EventRecords, once, in order.

Kafka keeps each stream's events in order in one partition, and the relay re-publishes only
after a fault, always from its last acknowledged position onwards. So per stream, the next
new event is always the last seen version + 1: anything at or below it is a re-delivery, and
anything beyond it is a copy that overtook a lost message and will come again, in order.

Offsets are committed only when the caller says a batch is processed (`commit`), or never,
when the caller keeps them in its own database (`stored_offsets`, read on every assignment,
so they can be written in the same transaction as the read model).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from pydantic import ValidationError

from projections.records import EventRecord
from services.kafka.clients import bootstrap
from services.kafka.messages import decode_event
from services.kafka.topics import Topics
from services.settings import Settings

log = logging.getLogger("corridor.kafka.consumer")

OffsetLoader = Callable[[frozenset[TopicPartition]], Awaitable[Mapping[TopicPartition, int]]]
"""Given newly assigned partitions, the next offset to read for those the caller tracks."""
VersionLoader = Callable[[Sequence[UUID]], Awaitable[Mapping[UUID, int]]]
"""Given stream ids, the last version the caller processed of each; a stream left out is one
it processed nothing of (so only its version 1 is admitted next)."""


class UnreadableEvent(Exception):
    """A message on the events topic is not an event this code understands."""


class StreamVersions:
    """The last version admitted per stream, kept per partition (a stream lives in one).

    A stream not seen before is admitted at any version, unless `strict`: then only at
    version 1, which is exact even when a stream's first message was lost and a later one
    overtook it, but needs the caller to seed the streams it already knows.
    """

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self._seen: dict[TopicPartition, dict[UUID, int]] = {}

    def admit(self, tp: TopicPartition, stream_id: UUID, version: int) -> bool:
        """True for the stream's next event (or an acceptable first one); False otherwise."""
        seen = self._seen.setdefault(tp, {})
        last = seen.get(stream_id)
        if last is None:
            last = 0 if self.strict else version - 1
        if version != last + 1:
            return False
        seen[stream_id] = version
        return True

    def unknown(self, tp: TopicPartition, stream_ids: Iterable[UUID]) -> set[UUID]:
        """The stream ids this partition has no version for yet."""
        seen = self._seen.get(tp, {})
        return {s for s in stream_ids if s not in seen}

    def seed(self, tp: TopicPartition, versions: Mapping[UUID, int]) -> None:
        """Start these streams at versions the caller already processed."""
        self._seen.setdefault(tp, {}).update(versions)

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop what we know of partitions we lost (another member may have moved them on)."""
        for tp in partitions:
            self._seen.pop(tp, None)


@dataclass(frozen=True)
class EventBatch:
    """New events in per-stream order, and the offsets to store or commit once processed."""

    records: list[EventRecord]
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    duplicates: int = 0

    def __bool__(self) -> bool:
        return bool(self.records or self.offsets)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Forgets revoked partitions; seeks assigned ones to the caller's stored offsets."""

    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Another member may move these on: what we know of them will be stale."""
        self._owner.versions.forget(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Start afresh on them, at the caller's stored offsets if it keeps any."""
        self._owner.versions.forget(assigned)
        await self._owner.seek_stored(frozenset(assigned))


class EventConsumer:
    """Reads the events topic as EventRecords, dropping re-deliveries; commits when told."""

    def __init__(self, settings: Settings, group_id: str, *, topic: str | None = None,
                 stored_offsets: OffsetLoader | None = None,
                 known_versions: VersionLoader | None = None,
                 auto_offset_reset: str = "earliest") -> None:
        self.topic = topic or Topics.of(settings).events
        # A caller that says where its streams stand gets exact dedup from version 1.
        self.versions = StreamVersions(strict=known_versions is not None)
        self._stored_offsets = stored_offsets
        self._known_versions = known_versions
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap(settings), group_id=group_id,
            enable_auto_commit=False, auto_offset_reset=auto_offset_reset,
            client_id=f"corridor-{group_id}")

    async def start(self) -> None:
        """Join the group; partitions are assigned (and seeked) on the first fetch."""
        self._consumer.subscribe([self.topic], listener=_Rebalance(self))
        await self._consumer.start()

    async def stop(self) -> None:
        """Leave the group (uncommitted offsets are read again by the next owner)."""
        await self._consumer.stop()

    async def __aenter__(self) -> EventConsumer:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()

    async def batch(self, max_records: int = 500, timeout: float = 1.0) -> EventBatch:
        """The next batch (possibly empty after `timeout` seconds)."""
        fetched = await self._consumer.getmany(timeout_ms=int(timeout * 1000),
                                               max_records=max_records)
        parsed = {tp: [_parse(tp, m.offset, m.value) for m in messages]
                  for tp, messages in fetched.items()}
        await self._seed_unknown(parsed)
        records: list[EventRecord] = []
        duplicates = 0
        for tp, events in parsed.items():
            for record in events:
                if self.versions.admit(tp, record.stream_id, record.version):
                    records.append(record)
                else:
                    duplicates += 1
        offsets = {tp: messages[-1].offset + 1 for tp, messages in fetched.items() if messages}
        return EventBatch(records=records, offsets=offsets, duplicates=duplicates)

    async def batches(self, max_records: int = 500,
                      timeout: float = 1.0) -> AsyncIterator[EventBatch]:
        """Batches forever (empty ones are skipped); process, then `commit` or store offsets."""
        while True:
            found = await self.batch(max_records, timeout)
            if found:
                yield found

    async def commit(self, batch: EventBatch) -> None:
        """Commit a processed batch's offsets to Kafka (for callers not storing them)."""
        owned = self._consumer.assignment()
        offsets = {tp: o for tp, o in batch.offsets.items() if tp in owned}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as error:
            # A rebalance took the partitions away; their new owner re-reads from the last
            # commit, so this batch comes again there (at least once, dropped by version).
            log.warning("commit skipped after a rebalance: %s", error)

    async def seek_stored(self, partitions: frozenset[TopicPartition]) -> None:
        """Seek to the caller's stored offsets, if it keeps them."""
        if self._stored_offsets is None or not partitions:
            return
        for tp, offset in (await self._stored_offsets(partitions)).items():
            self._consumer.seek(tp, offset)

    async def _seed_unknown(self, parsed: Mapping[TopicPartition, Sequence[EventRecord]]) -> None:
        """Ask the caller once per batch where streams new to us stand (restarts, rebalances)."""
        if self._known_versions is None:
            return
        wanted = {tp: self.versions.unknown(tp, {r.stream_id for r in events})
                  for tp, events in parsed.items()}
        streams = sorted({s for ids in wanted.values() for s in ids})
        if not streams:
            return
        known = await self._known_versions(streams)
        for tp, ids in wanted.items():
            self.versions.seed(tp, {s: known[s] for s in ids if s in known})


def _parse(tp: TopicPartition, offset: int, value: bytes | None) -> EventRecord:
    try:
        return decode_event(value or b"")
    except ValidationError as error:
        raise UnreadableEvent(f"{tp.topic}[{tp.partition}]@{offset} is not a corridor event "
                              f"(schema version 1): {error.error_count()} problem(s)") from None
