"""Helpers for the Kafka integration tests: a throwaway aggregate to append events quickly,
reading a whole topic back, checking per-stream order, and waiting with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from eventsourcing.domain import Aggregate, event

from services.kafka.messages import decode_event
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.sealing import new_master_key
from services.storage.secrets import master_key

AUTH_SECRET = "kafka-integration-tests-secret-0123456789"


def kafka_settings(kafka_bootstrap: str | None, prefix: str, data_dir: Path,
                   **store: object) -> Settings:
    """Settings for one test; `store` picks the event store (PostgreSQL or SQLite)."""
    return Settings(kafka_bootstrap=kafka_bootstrap, kafka_topic_prefix=prefix,
                    kafka_event_partitions=3, kafka_command_partitions=2,
                    master_key=new_master_key(), auth_secret=AUTH_SECRET, data_dir=data_dir,
                    reactions_in_process=False, pg_pool_size=4, **store)  # type: ignore[arg-type]


async def open_app(settings: Settings) -> CorridorApplication:
    """The event store application, opened off the event loop."""
    return await asyncio.to_thread(CorridorApplication, settings, master_key(settings))


class Parcel(Aggregate):
    """A throwaway stream: the relay does not care what the events mean."""

    @event("ParcelRegistered")
    def __init__(self, label: str) -> None:
        self.label = label

    @event("ParcelMoved")
    def move(self, to: str) -> None:
        self.location = to


def append_rounds(app: CorridorApplication, parcels: list[Parcel], rounds: int) -> None:
    """Each round moves every parcel once and saves them in one transaction, so the streams'
    events interleave in the notification log."""
    for number in range(rounds):
        for parcel in parcels:
            parcel.move(to=f"stop-{number}")
        app.save(*parcels)


def new_parcels(app: CorridorApplication, count: int) -> list[Parcel]:
    parcels = [Parcel(label=f"parcel-{i}") for i in range(count)]
    app.save(*parcels)
    return parcels


@dataclass(frozen=True)
class Stored:
    position: int
    stream_id: UUID
    version: int


def stored_events(app: CorridorApplication) -> list[Stored]:
    """Every event in the store, in notification order."""
    found: list[Stored] = []
    while True:
        batch = app.recorder.select_notifications(found[-1].position if found else 0, 5000,
                                                  inclusive_of_start=False)
        if not batch:
            return found
        found.extend(Stored(n.id, UUID(str(n.originator_id)), n.originator_version)
                     for n in batch)


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The topic's partitions, asked of the broker (fails if the topic does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0, f"topic {topic}: error {described['error_code']}"
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def read_topic(bootstrap: str, topic: str,
                     timeout: float = 20.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message on the topic now, partition by partition in offset order."""
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        messages: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, "reading the topic back took too long"
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                messages.extend(batch)
        return sorted(messages, key=lambda m: (m.partition, m.offset))
    finally:
        await consumer.stop()


def per_stream_versions(messages: list[ConsumerRecord[bytes, bytes]]) -> dict[UUID, list[int]]:
    """Raw versions per stream in topic order (duplicates included)."""
    seen: dict[UUID, list[int]] = defaultdict(list)
    for message in messages:
        record = decode_event(message.value or b"")
        seen[record.stream_id].append(record.version)
    return dict(seen)


def admitted_per_stream(messages: list[ConsumerRecord[bytes, bytes]]) -> dict[UUID, list[int]]:
    """Versions per stream as an exact reader of the whole topic admits them: every stream
    from its version 1, each next version once (re-deliveries, and copies that overtook a
    lost message, dropped)."""
    admitted: dict[UUID, list[int]] = defaultdict(list)
    for message in messages:
        record = decode_event(message.value or b"")
        versions = admitted[record.stream_id]
        if record.version == len(versions) + 1:
            versions.append(record.version)
    return {stream: versions for stream, versions in admitted.items() if versions}


def expected_per_stream(stored: list[Stored]) -> dict[UUID, list[int]]:
    expected: dict[UUID, list[int]] = defaultdict(list)
    for stored_event in stored:
        expected[stored_event.stream_id].append(stored_event.version)
    return dict(expected)


def partitions_per_stream(messages: list[ConsumerRecord[bytes, bytes]]) -> dict[UUID, set[int]]:
    found: dict[UUID, set[int]] = defaultdict(set)
    for message in messages:
        found[UUID((message.key or b"").decode())].add(message.partition)
    return dict(found)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str,
                     interval: float = 0.05) -> None:
    """Wait until `check()` is true, failing with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(interval)
