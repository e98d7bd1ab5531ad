"""A broker restart under load: events keep being stored while the broker goes down and comes
back, the relay dies during the outage and a new one starts before the broker is back;
afterwards every stored event is on the topic, in order per stream."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from kafka_broker import OwnBroker
from kafka_harness import (
    admitted_per_stream,
    append_rounds,
    eventually,
    expected_per_stream,
    kafka_settings,
    new_parcels,
    open_app,
    read_topic,
    stored_events,
)

from services.kafka.consumer_base import GroupConsumer
from services.kafka.dedup import StreamVersions
from services.kafka.messages import decode_event
from services.kafka.relay import EventRelay
from services.kafka.topics import Topics
from services.storage.application import CorridorApplication

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnBroker]:
    own = OwnBroker(tmp_path / "broker")
    own.start()
    try:
        yield own
    finally:
        own.stop()


class Load:
    """Keeps appending rounds of events from a thread until told to stop."""

    def __init__(self, app: CorridorApplication, streams: int) -> None:
        self.parcels = new_parcels(app, streams)
        self.app = app
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            append_rounds(self.app, self.parcels, 1)
            self.rounds += 1
            self._stop.wait(0.01)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


async def test_every_event_stored_during_a_broker_restart_arrives_in_stream_order(
        broker: OwnBroker, fresh_pg_database: str, kafka_topic_prefix: str,
        tmp_path: Path) -> None:
    settings = kafka_settings(broker.bootstrap, kafka_topic_prefix, tmp_path,
                              store="postgres", pg_dsn=fresh_pg_database)
    app = await open_app(settings)
    first = EventRelay(app, settings, batch_size=100)
    second = EventRelay(app, settings, batch_size=100)
    stopping = asyncio.Event()
    tasks = [asyncio.create_task(first.run(stopping))]
    try:
        load = await asyncio.to_thread(Load, app, 8)
        with load:
            await eventually(lambda: _published(first, 200), 30, "the relay to get going")
            await asyncio.to_thread(broker.stop)
            down_at = load.rounds
            tasks[0].cancel()  # the relay dies during the outage, sends in flight
            await asyncio.gather(tasks[0], return_exceptions=True)
            tasks.append(asyncio.create_task(second.run(stopping)))
            await eventually(lambda: _interrupted(second), 10, "the new relay to find no broker")
            await asyncio.to_thread(broker.start)
            await eventually(lambda: _rounds_since(load, down_at, 20), 30, "more load")

        async def caught_up() -> bool:
            return await second.lag() == 0

        await eventually(caught_up, 30, "the new relay to catch up after the restart")
    finally:
        stopping.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)

    stored = await asyncio.to_thread(stored_events, app)
    app.close()
    messages = await read_topic(broker.bootstrap, Topics.of(settings).events)
    assert admitted_per_stream(messages) == expected_per_stream(stored)
    assert len(messages) >= len(stored)

    # A worker's reading (the consumer base, re-deliveries dropped per stream) sees the
    # same: each event once.
    versions = StreamVersions()
    seen: list[tuple[object, int]] = []
    async with GroupConsumer(settings, f"{kafka_topic_prefix}after-restart",
                             [Topics.of(settings).events], client_id="after-restart") as reader:

        async def all_read() -> bool:
            for message in (await reader.fetch(500, timeout=1.0)).messages:
                record = decode_event(message.value or b"")
                tp = TopicPartition(message.topic, message.partition)
                if versions.admit(tp, record.stream_id, record.version):
                    seen.append((record.stream_id, record.version))
            return len(seen) >= len(stored)

        await eventually(all_read, 30, "the consumer to read everything")
    assert sorted(seen, key=str) == sorted(((s.stream_id, s.version) for s in stored), key=str)


async def _interrupted(relay: EventRelay) -> bool:
    return relay.interruptions > 0


async def _published(relay: EventRelay, count: int) -> bool:
    return relay.published >= count


async def _rounds_since(load: Load, mark: int, rounds: int) -> bool:
    return load.rounds >= mark + rounds
