"""The tracked relay: the event store's notification log, in order, onto the events topic.

Each event is keyed by its stream id, so a stream's events stay in order in one partition.
The relay's position advances only after Kafka acknowledged every message up to it, and is
stored beside the events: after a crash or a broker outage it resumes where it stopped, so
every event reaches Kafka at least once (duplicates only after a fault; consumers drop them
by event id). Several relays may run; only the lease holder publishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaProducer
from eventsourcing.persistence import Notification

from projections.backoff import Backoff
from projections.records import decode_stored
from services.kafka.clients import reliable_producer, stop_quietly
from services.kafka.messages import encode_event
from services.kafka.positions import (
    PostgresLease,
    RelayLease,
    SQLiteLease,
    postgres_position,
    sqlite_position,
)
from services.kafka.topics import Topics, ensure_topics
from services.settings import Settings
from services.storage.application import CorridorApplication

log = logging.getLogger("corridor.relay")

ProducerFactory = Callable[[], AIOKafkaProducer]


@dataclass(frozen=True)
class InFlight:
    """A sent batch: the position of its last event and Kafka's acknowledgements."""

    last: int
    acks: list[asyncio.Future[Any]]


def default_lease(app: CorridorApplication, settings: Settings, name: str) -> RelayLease:
    """The lease for the configured store."""
    recorder: Any = app.recorder
    if settings.store == "postgres":
        return PostgresLease(recorder.datastore, name, recorder.channel_name)
    lock = settings.sqlite_path.with_name(f"{settings.sqlite_path.name}.relay-{name}.lock")
    return SQLiteLease(recorder.datastore, name, lock)


class EventRelay:
    """Publishes every stored event to the events topic, at least once and in stream order."""

    def __init__(self, app: CorridorApplication, settings: Settings, *, name: str = "events",
                 batch_size: int = 500, lease: RelayLease | None = None,
                 producer_factory: ProducerFactory | None = None, backoff: Backoff | None = None,
                 idle_wait: float = 1.0, create_topics: bool = True) -> None:
        self.app = app
        self.settings = settings
        self.name = name
        self.topic = Topics.of(settings).events
        self.batch_size = batch_size
        self.backoff = backoff or Backoff(f"relay {name}", log)
        self.idle_wait = idle_wait  # upper bound; NOTIFY (PostgreSQL) or 50 ms polls wake sooner
        self._lease = lease or default_lease(app, settings, name)
        self._new_producer = producer_factory or (
            lambda: reliable_producer(settings, client_id=f"corridor-relay-{name}"))
        self.create_topics = create_topics  # off where operators provision topics
        self.leading = False
        self.position: int | None = None  # last acknowledged position, while leading
        self.published = 0
        self.interruptions = 0  # faults survived (broker or database unavailable, ...)

    async def run(self, stopping: asyncio.Event) -> None:
        """Lead when possible and publish until `stopping` is set; survive broker/DB faults."""
        while not stopping.is_set():
            try:
                if await self._lease.acquire(stopping):
                    await self._lead(stopping)
            except Exception as error:  # a fault outside our control: back off, resume
                self.interruptions += 1  # from the stored position, when leading again
                await self.backoff.pause(error, stopping)
            finally:
                self.leading = False
                await self._lease.release()

    async def lag(self) -> int:
        """How many notifications are stored but not yet acknowledged by Kafka."""
        return await asyncio.to_thread(self._lag)

    async def _lead(self, stopping: asyncio.Event) -> None:
        if self.create_topics:
            # Before the first send: a broker that auto-creates topics would ignore our
            # partition count.
            await ensure_topics(self.settings)
            self.create_topics = False
        producer = self._new_producer()
        try:
            await producer.start()
            self.position = await self._lease.load()
            self.leading = True
            log.info("relay %s leads from position %d", self.name, self.position)
            await self._publish(producer, stopping, self.position)
        finally:
            await stop_quietly(producer)

    async def _publish(self, producer: AIOKafkaProducer, stopping: asyncio.Event,
                       sent: int) -> None:
        """Read and send the next batch while Kafka acknowledges the one before it."""
        in_flight: InFlight | None = None
        while not stopping.is_set():
            notifications = await asyncio.to_thread(self._read, sent)
            sending = await self._send_all(producer, notifications) if notifications else None
            if in_flight is not None:
                await self._confirm(in_flight)
            in_flight = sending
            if sending is not None:
                sent = sending.last
            elif in_flight is None:
                await self._lease.wait_for_news(self.idle_wait)
                self.backoff.succeeded()  # leading and idle: all is well
        if in_flight is not None:
            await self._confirm(in_flight)

    async def _send_all(self, producer: AIOKafkaProducer,
                        notifications: Sequence[Notification]) -> InFlight:
        acks = []
        for n in notifications:
            stream_id = n.originator_id
            if not isinstance(stream_id, UUID):  # corridor's streams are UUIDs; be sure
                stream_id = UUID(stream_id)
            message = encode_event(decode_stored(n.id, stream_id, n.originator_version,
                                                 n.topic, n.state))
            acks.append(await producer.send(self.topic, value=message.value, key=message.key,
                                            headers=message.headers))
        return InFlight(last=notifications[-1].id, acks=acks)

    async def _confirm(self, batch: InFlight) -> None:
        await asyncio.gather(*batch.acks)
        await self._lease.save(batch.last)  # only now: every message up to it is acknowledged
        self.position = batch.last
        self.backoff.succeeded()
        self.published += len(batch.acks)

    def _read(self, after: int) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(after, self.batch_size,
                                                      inclusive_of_start=False)

    def _lag(self) -> int:
        newest = self.app.recorder.max_notification_id() or 0
        return max(0, newest - self.stored_position())

    def stored_position(self) -> int:
        """The durable position (any process can read it; blocking)."""
        datastore: Any = self.app.recorder.datastore  # type: ignore[attr-defined]
        if self.settings.store == "postgres":
            return postgres_position(datastore, self.name)
        return sqlite_position(datastore, self.name)
