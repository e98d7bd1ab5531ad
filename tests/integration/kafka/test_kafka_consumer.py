"""The consumer library against a real broker: offsets move only when the caller says so,
or live in the caller's own store; re-deliveries are dropped per stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from uuid import UUID

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from kafka_harness import append_rounds, eventually, new_parcels, read_topic

from projections.records import EventRecord
from services.kafka.event_consumer import EventBatch, EventConsumer
from services.kafka.relay import EventRelay
from services.kafka.topics import Topics
from services.settings import Settings
from services.storage.application import CorridorApplication

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(60)]


async def publish(app: CorridorApplication, settings: Settings, streams: int,
                  rounds: int) -> int:
    """Store events and relay them all; returns how many are stored in all."""
    parcels = await asyncio.to_thread(new_parcels, app, streams)
    await asyncio.to_thread(append_rounds, app, parcels, rounds)
    relay = EventRelay(app, settings, batch_size=200)
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))

    async def done() -> bool:
        return await relay.lag() == 0

    await eventually(done, 30, "the relay")
    stopping.set()
    await task
    return streams * (rounds + 1)


@contextlib.asynccontextmanager
async def reading(consumer: EventConsumer) -> AsyncIterator[EventConsumer]:
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def take(consumer: EventConsumer, count: int) -> list[EventBatch]:
    """Batches until at least `count` new events came (small batches, to stop midway)."""
    batches: list[EventBatch] = []

    async def enough() -> bool:
        batches.append(await consumer.batch(max_records=25, timeout=0.5))
        return sum(len(b.records) for b in batches) >= count

    await eventually(enough, 30, f"{count} events")
    return batches


def merged(batches: list[EventBatch]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for batch in batches:
        offsets.update(batch.offsets)
    return offsets


def in_order(records: list[EventRecord]) -> dict[UUID, list[int]]:
    found: dict[UUID, list[int]] = {}
    for record in records:
        found.setdefault(record.stream_id, []).append(record.version)
    return found


async def test_uncommitted_events_come_again_and_committed_ones_do_not(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    total = await publish(pg_app, pg_settings, streams=5, rounds=9)
    group = f"{pg_settings.kafka_topic_prefix}projection"

    async with reading(EventConsumer(pg_settings, group)) as consumer:
        first = await take(consumer, total)
    async with reading(EventConsumer(pg_settings, group)) as consumer:
        again = await take(consumer, total)
        for batch in again:
            await consumer.commit(batch)
    async with reading(EventConsumer(pg_settings, group)) as consumer:
        after_commit = await consumer.batch(timeout=2)

    seen_first = [r for b in first for r in b.records]
    assert in_order(seen_first) == {s: list(range(1, 11)) for s in in_order(seen_first)}
    assert len(seen_first) == total
    assert in_order([r for b in again for r in b.records]) == in_order(seen_first)
    assert after_commit.records == []


async def test_offsets_kept_by_the_caller_are_where_reading_resumes(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    total = await publish(pg_app, pg_settings, streams=6, rounds=9)
    group = f"{pg_settings.kafka_topic_prefix}read-model"
    saved: dict[TopicPartition, int] = {}  # the caller's own table, in the real thing

    async def stored_offsets(assigned: frozenset[TopicPartition]
                             ) -> Mapping[TopicPartition, int]:
        return {tp: saved[tp] for tp in assigned if tp in saved}

    async with reading(EventConsumer(pg_settings, group, stored_offsets=stored_offsets)) as c:
        first = await take(c, total // 2)
        saved.update(merged(first))  # never committed to Kafka
    async with reading(EventConsumer(pg_settings, group, stored_offsets=stored_offsets)) as c:
        rest = await take(c, total - sum(len(b.records) for b in first))

    seen = [r for b in first + rest for r in b.records]
    assert len(seen) == total
    assert len({(r.stream_id, r.version) for r in seen}) == total


async def test_versions_the_caller_already_has_are_dropped_after_a_restart(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    total = await publish(pg_app, pg_settings, streams=4, rounds=4)
    processed: dict[UUID, int] = {}  # the read model: per-stream versions and its offsets
    saved: dict[TopicPartition, int] = {}

    async def known_versions(streams: Sequence[UUID]) -> Mapping[UUID, int]:
        return {s: processed[s] for s in streams if s in processed}

    async def stored_offsets(assigned: frozenset[TopicPartition]
                             ) -> Mapping[TopicPartition, int]:
        return {tp: saved[tp] for tp in assigned if tp in saved}

    def worker() -> EventConsumer:
        return EventConsumer(pg_settings, f"{pg_settings.kafka_topic_prefix}known",
                             stored_offsets=stored_offsets, known_versions=known_versions)

    async with reading(worker()) as consumer:
        for batch in await take(consumer, total):
            processed.update({r.stream_id: r.version for r in batch.records})
            saved.update(batch.offsets)
    await republish_everything(pg_settings)  # as a relay crash could
    await publish(pg_app, pg_settings, streams=1, rounds=2)  # and then something new

    async with reading(worker()) as consumer:
        after_restart = await take(consumer, 3)
        tail = await consumer.batch(timeout=1)

    assert [r.version for b in after_restart for r in b.records] == [1, 2, 3]
    assert sum(b.duplicates for b in after_restart) + tail.duplicates == total
    assert tail.records == []


async def republish_everything(settings: Settings) -> None:
    """Every message on the events topic once more, to the same partition."""
    messages = await read_topic(settings.kafka_bootstrap or "", Topics.of(settings).events)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for m in messages:
            await producer.send(m.topic, m.value, key=m.key, partition=m.partition,
                                headers=list(m.headers))
        await producer.flush()
    finally:
        await producer.stop()
