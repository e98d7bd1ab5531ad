"""The consumer base against a real broker: offsets move only when the caller commits them,
or live in the caller's own store and are sought on every assignment (also when the first
seek fails); re-deliveries are dropped per stream by the workers' de-duplication."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from kafka_harness import append_rounds, eventually, new_parcels, read_topic

from projections.records import EventRecord
from services.kafka.consumer_base import Fetched, GroupConsumer
from services.kafka.dedup import StreamVersions
from services.kafka.messages import decode_event
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


class SavedOffsets:
    """The caller's own offsets (a table in its database, in the real thing), sought on
    every assignment; the calls listed in `down_on` fail as if that database were down."""

    def __init__(self, offsets: dict[TopicPartition, int] | None = None,
                 down_on: frozenset[int] = frozenset()) -> None:
        self.offsets = offsets if offsets is not None else {}
        self.down_on = down_on
        self.calls: list[frozenset[TopicPartition]] = []
        self.consumer: GroupConsumer | None = None

    async def seek(self, assigned: frozenset[TopicPartition]) -> None:
        self.calls.append(assigned)
        if len(self.calls) in self.down_on:
            raise ConnectionRefusedError("the database is down")
        assert self.consumer is not None
        for tp in assigned & self.offsets.keys():
            self.consumer.seek(tp, self.offsets[tp])

    async def asked(self, times: int) -> bool:
        return len(self.calls) >= times


def reading(settings: Settings, group: str, saved: SavedOffsets | None = None
            ) -> GroupConsumer:
    """A member of `group` on the events topic (use it with `async with`)."""
    consumer = GroupConsumer(settings, group, [Topics.of(settings).events],
                             client_id=f"test-{group}",
                             on_assigned=saved.seek if saved is not None else None)
    if saved is not None:
        saved.consumer = consumer
    return consumer


async def take(consumer: GroupConsumer, count: int) -> list[Fetched]:
    """Fetches until at least `count` messages came (small ones, to stop midway)."""
    fetches: list[Fetched] = []

    async def enough() -> bool:
        fetches.append(await consumer.fetch(max_records=25, timeout=0.5))
        return sum(len(f.messages) for f in fetches) >= count

    await eventually(enough, 30, f"{count} messages")
    return fetches


def records(fetches: list[Fetched]) -> list[EventRecord]:
    return [decode_event(m.value or b"") for f in fetches for m in f.messages]


def merged(fetches: list[Fetched]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for fetched in fetches:
        offsets.update(fetched.offsets)
    return offsets


def in_order(found: list[EventRecord]) -> dict[UUID, list[int]]:
    versions: dict[UUID, list[int]] = {}
    for record in found:
        versions.setdefault(record.stream_id, []).append(record.version)
    return versions


async def test_uncommitted_messages_come_again_and_committed_ones_do_not(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    total = await publish(pg_app, pg_settings, streams=5, rounds=9)
    group = f"{pg_settings.kafka_topic_prefix}commands-like"

    async with reading(pg_settings, group) as consumer:
        first = await take(consumer, total)
    async with reading(pg_settings, group) as consumer:
        again = await take(consumer, total)
        for fetched in again:
            await consumer.commit(fetched)  # processed: now, and only now, committed
    async with reading(pg_settings, group) as consumer:
        after_commit = await consumer.fetch(max_records=500, timeout=2)

    seen_first = records(first)
    assert in_order(seen_first) == {s: list(range(1, 11)) for s in in_order(seen_first)}
    assert len(seen_first) == total
    assert in_order(records(again)) == in_order(seen_first)
    assert after_commit.messages == []


async def test_offsets_kept_by_the_caller_are_where_reading_resumes(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    total = await publish(pg_app, pg_settings, streams=6, rounds=9)
    group = f"{pg_settings.kafka_topic_prefix}read-model"
    saved = SavedOffsets()

    async with reading(pg_settings, group, saved) as consumer:
        first = await take(consumer, total // 2)
        saved.offsets.update(merged(first))  # never committed to Kafka
    async with reading(pg_settings, group, saved) as consumer:
        rest = await take(consumer, total - sum(len(f.messages) for f in first))

    seen = records(first + rest)
    assert len(seen) == total
    assert len({(r.stream_id, r.version) for r in seen}) == total


async def test_a_seek_that_failed_on_assignment_is_made_before_anything_is_returned(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    total = await publish(pg_app, pg_settings, streams=6, rounds=9)
    halves = {tp: end // 2 for tp, end in (await topic_ends(pg_settings)).items()}
    saved = SavedOffsets(halves, down_on=frozenset({1}))
    fetches: list[Fetched] = []
    expected = total - sum(halves.values())

    async with reading(pg_settings, f"{pg_settings.kafka_topic_prefix}outage", saved) as c:

        async def read_the_rest() -> bool:
            with contextlib.suppress(ConnectionRefusedError):  # the caller's retry loop
                fetches.append(await c.fetch(max_records=25, timeout=0.5))
            return sum(len(f.messages) for f in fetches) >= expected

        await eventually(read_the_rest, 30, "the messages after the saved offsets")
        tail = await c.fetch(max_records=500, timeout=1)

    assert len(saved.calls) >= 2
    assert all(m.offset >= halves[TopicPartition(m.topic, m.partition)]
               for f in fetches for m in f.messages)
    assert sum(len(f.messages) for f in fetches) == expected
    assert tail.messages == []


async def test_a_seek_that_failed_in_a_rebalance_during_a_fetch_is_made_before_it_returns(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    await publish(pg_app, pg_settings, streams=12, rounds=9)
    group = f"{pg_settings.kafka_topic_prefix}rebalanced"
    # All applied already; the first member's database is down when the second one joins.
    saved = SavedOffsets(await topic_ends(pg_settings), down_on=frozenset({2}))
    returned: list[Fetched] = []
    stop = asyncio.Event()

    async def poll(consumer: GroupConsumer) -> None:
        while not stop.is_set():
            with contextlib.suppress(ConnectionRefusedError):  # the caller's retry loop
                # Long fetches: the rebalance, the failed seek and the fetch from Kafka's
                # committed offsets (none: the oldest) all happen inside one of them.
                returned.append(await consumer.fetch(max_records=500, timeout=5))

    async with reading(pg_settings, group, saved) as first:
        polling = asyncio.create_task(poll(first))
        await eventually(lambda: saved.asked(1), 30, "the first assignment")
        async with reading(pg_settings, group, SavedOffsets(saved.offsets)) as second:
            await eventually(lambda: saved.asked(3), 30, "the seek after the rebalance")
            await second.fetch(max_records=1, timeout=0.1)
        stop.set()
        await polling

    assert [m for f in returned for m in f.messages] == []


async def topic_ends(settings: Settings) -> dict[TopicPartition, int]:
    """The next offset of each partition of the events topic that holds messages."""
    messages = await read_topic(settings.kafka_bootstrap or "", Topics.of(settings).events)
    return {TopicPartition(m.topic, m.partition): m.offset + 1 for m in messages}


async def test_every_event_is_admitted_once_from_a_topic_holding_it_twice(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    total = await publish(pg_app, pg_settings, streams=4, rounds=4)
    await republish_everything(pg_settings)  # as a relay crash could
    versions = StreamVersions()
    admitted: list[EventRecord] = []
    duplicates = 0

    async with reading(pg_settings, f"{pg_settings.kafka_topic_prefix}dedup") as consumer:
        for fetched in await take(consumer, 2 * total):
            for message in fetched.messages:
                record = decode_event(message.value or b"")
                tp = TopicPartition(message.topic, message.partition)
                if versions.admit(tp, record.stream_id, record.version):
                    admitted.append(record)
                else:
                    duplicates += 1

    assert in_order(admitted) == {s: list(range(1, 6)) for s in in_order(admitted)}
    assert (len(admitted), duplicates) == (total, total)


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
