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
from typing import Any

from aiokafka import AIOKafkaProducer
from eventsourcing.persistence import Notification

from projections.records import decode_stored
from services.application import CorridorApplication
from services.kafka.clients import reliable_producer, stop_quietly
from services.kafka.messages import encode_event
from services.kafka.positions import (
    PostgresLease,
    RelayLease,
    SQLiteLease,
    pause,
    postgres_position,
    sqlite_position,
)
from services.kafka.topics import Topics
from services.settings import Settings

log = logging.getLogger("corridor.relay")

ProducerFactory = Callable[[], AIOKafkaProducer]


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
                 producer_factory: ProducerFactory | None = None, retry_delay: float = 1.0,
                 idle_wait: float = 1.0) -> None:
        self.app = app
        self.settings = settings
        self.name = name
        self.topic = Topics.of(settings).events
        self.batch_size = batch_size
        self.retry_delay = retry_delay
        self.idle_wait = idle_wait  # upper bound; NOTIFY (PostgreSQL) or 50 ms polls wake sooner
        self._lease = lease or default_lease(app, settings, name)
        self._new_producer = producer_factory or (
            lambda: reliable_producer(settings, client_id=f"corridor-relay-{name}"))
        self.leading = False
        self.position: int | None = None  # last acknowledged position, while leading
        self.published = 0

    async def run(self, stopping: asyncio.Event) -> None:
        """Lead when possible and publish until `stopping` is set; survive broker/DB faults."""
        while not stopping.is_set():
            try:
                if await self._lease.acquire(stopping):
                    await self._lead(stopping)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a fault outside our control: back off, resume
                log.warning("relay %s interrupted (%s: %s); resuming from its stored position",
                            self.name, type(error).__name__, error)
                await pause(stopping, self.retry_delay)
            finally:
                self.leading = False
                await self._lease.release()

    async def lag(self) -> int:
        """How many notifications are stored but not yet acknowledged by Kafka."""
        return await asyncio.to_thread(self._lag)

    async def _lead(self, stopping: asyncio.Event) -> None:
        producer = self._new_producer()
        try:
            await producer.start()
            self.position = await self._lease.load()
            self.leading = True
            log.info("relay %s leads from position %d", self.name, self.position)
            while not stopping.is_set():
                if not await self._publish_next(producer):
                    await self._lease.wait_for_news(self.idle_wait)
        finally:
            await stop_quietly(producer)

    async def _publish_next(self, producer: AIOKafkaProducer) -> bool:
        """Publish the next batch after our position; False when there was nothing new."""
        assert self.position is not None
        notifications = await asyncio.to_thread(self._read, self.position)
        if not notifications:
            return False
        await self._send_all(producer, notifications)
        last = notifications[-1].id
        await self._lease.save(last)  # only now: every message up to `last` is acknowledged
        self.position = last
        self.published += len(notifications)
        return True

    async def _send_all(self, producer: AIOKafkaProducer,
                        notifications: Sequence[Notification]) -> None:
        acks = []
        for n in notifications:
            message = encode_event(decode_stored(n.id, n.originator_id, n.originator_version,
                                                 n.topic, n.state))
            acks.append(await producer.send(self.topic, value=message.value, key=message.key,
                                            headers=message.headers))
        await asyncio.gather(*acks)

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
