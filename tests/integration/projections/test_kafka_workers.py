"""Projection workers in a Kafka consumer group apply every event exactly once.

Events go on the topic as the relay sends them (services.kafka.messages.encode_event), over
three partitions. Workers fail before COMMIT, die mid-transaction, restart, share partitions
and see re-published copies; the read models must equal a fresh projection every time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from projection_checks import (
    Boom,
    Killed,
    actual,
    all_records,
    differences,
    expected,
    fail_on,
)
from projection_scenario import Scenario
from projection_settings import pg_settings

from projections.catalog import PROJECTIONS
from projections.generations import ensure_live, live_of
from projections.records import EventRecord
from projections.store import ReadModelStore
from services.kafka.messages import encode_event
from services.kafka.projection_worker import KafkaWorker
from services.kafka.topics import Topics, ensure_topics
from services.settings import Settings
from services.storage.application import CorridorApplication

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
PARTITIONS = 3


@pytest.fixture
async def kafka_settings(fresh_pg_database: str, tmp_path: Path, kafka_bootstrap: str,
                         kafka_topic_prefix: str) -> Settings:
    settings = pg_settings(fresh_pg_database, tmp_path).model_copy(update={
        "kafka_bootstrap": kafka_bootstrap, "kafka_topic_prefix": kafka_topic_prefix,
        "kafka_event_partitions": PARTITIONS})
    await ensure_topics(settings, replication=1)
    return settings


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    yield producer
    await producer.stop()


async def publish(producer: AIOKafkaProducer, topic: str,
                  records: Sequence[EventRecord]) -> dict[int, int]:
    """Send events as the relay does (keyed by stream); returns the next offset per partition."""
    ends: dict[int, int] = {}
    for record in records:
        out = encode_event(record)
        sent = await producer.send_and_wait(topic, out.value, key=out.key, headers=out.headers)
        ends[sent.partition] = max(ends.get(sent.partition, 0), sent.offset + 1)
    return ends


async def consumed(store: ReadModelStore, topic: str, ends: dict[int, int],
                   timeout: float = 90.0) -> None:
    """Wait until every live generation's stored offsets reach the topic's ends."""
    deadline = time.monotonic() + timeout
    while True:
        live = live_of(await store.generations())
        offsets = {(p.projection, p.part): p.position for p in await store.positions()
                   if p.source == topic and live.get(p.projection) is not None
                   and live[p.projection].generation == p.generation}
        if all(offsets.get((name, part), -1) >= end for name in live
               for part, end in ends.items()):
            return
        assert time.monotonic() < deadline, f"offsets {offsets} never reached {ends}"
        await asyncio.sleep(0.1)


class Workers:
    """Running workers, stopped together."""

    def __init__(self, store: ReadModelStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.group = f"{settings.kafka_topic_prefix}projections"

    def start(self) -> asyncio.Task[None]:
        worker = KafkaWorker(self.store, self.settings, PROJECTIONS, group_id=self.group,
                             batch_size=40)
        task = asyncio.create_task(worker.run(self.stop))
        self.tasks.append(task)
        return task

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def assert_equals_a_fresh_projection(app: CorridorApplication,
                                           store: ReadModelStore) -> None:
    want = expected(PROJECTIONS, all_records(app))
    assert differences(await actual(store, PROJECTIONS), want) == {}


async def test_workers_failing_dying_and_restarting_apply_each_event_once(
        pg_app: CorridorApplication, pg_store: ReadModelStore, kafka_settings: Settings,
        producer: AIOKafkaProducer) -> None:
    topic = Topics.of(kafka_settings).events
    Scenario(pg_app).full_day(cases=20)
    records = all_records(pg_app)
    await ensure_live(pg_store, PROJECTIONS)
    ends = await publish(producer, topic, records)
    workers = Workers(pg_store, kafka_settings)
    dying, _ = fail_on({3}, Killed())
    failing, failures = fail_on({2, 4}, Boom("lost the connection"))
    try:
        pg_store.before_commit = dying
        with pytest.raises(Killed):
            await workers.start()  # dies inside its third transaction
        pg_store.before_commit = failing
        workers.start()  # the replacement process
        await consumed(pg_store, topic, ends)
    finally:
        pg_store.before_commit = None
        await workers.close()

    assert len(failures) > 4, "failed batches were retried"
    await assert_equals_a_fresh_projection(pg_app, pg_store)


async def test_copies_republished_across_a_restart_and_scaling_out_change_nothing(
        pg_app: CorridorApplication, pg_store: ReadModelStore, kafka_settings: Settings,
        producer: AIOKafkaProducer) -> None:
    topic = Topics.of(kafka_settings).events
    scenario = Scenario(pg_app)
    scenario.full_day(cases=10)
    first = all_records(pg_app)
    await ensure_live(pg_store, PROJECTIONS)
    before = Workers(pg_store, kafka_settings)
    before.start()
    try:
        await consumed(pg_store, topic, await publish(producer, topic, first))
    finally:
        await before.close()
    scenario.cases_round(10)
    later = all_records(pg_app)[len(first):]
    # The relay restarted from an older position: it sends the last 40 events again. The
    # new workers know nothing of them in memory; only the stored positions can tell.
    await publish(producer, topic, first[-40:])
    ends = await publish(producer, topic, later)
    after = Workers(pg_store, kafka_settings)
    after.start()
    after.start()  # scaled out: the group splits the partitions between the two
    try:
        await consumed(pg_store, topic, ends)
    finally:
        await after.close()

    assert any(r.type in ("CaseFlagged", "BorderCrossed", "TrainingLogged") for r in first[-40:])
    await assert_equals_a_fresh_projection(pg_app, pg_store)
