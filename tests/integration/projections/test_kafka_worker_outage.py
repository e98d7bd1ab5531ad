"""A Kafka projection worker outlives a database outage (issue 25): it backs off, reconnects
and resumes from its stored offsets, losing and repeating no row; it exits only when it gives
up, and then with an error (so `corridor project --from kafka` exits non-zero)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from faults.outage_proxy import OutageProxy
from projection_checks import all_records
from projection_scenario import Scenario
from test_kafka_workers import (
    assert_equals_a_fresh_projection,
    consumed,
    kafka_settings,
    producer,
    publish,
)

from projections.backoff import GaveUp
from projections.catalog import PROJECTIONS
from projections.generations import ensure_live
from projections.store import ReadModelStore
from services.kafka.projection_worker import run_kafka_worker
from services.kafka.topics import Topics
from services.settings import Settings
from services.storage.application import CorridorApplication

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.timeout(120)]
__all__ = ["kafka_settings", "producer"]  # fixtures, shared with the worker tests

FAILED = "projection worker failed"


@pytest.fixture
async def proxy(fresh_pg_database: str) -> AsyncIterator[OutageProxy]:
    proxy = OutageProxy(fresh_pg_database)
    await proxy.up()
    yield proxy
    await proxy.down()


async def failures_logged(caplog: pytest.LogCaptureFixture, count: int,
                          worker: asyncio.Task[None], timeout: float = 30.0) -> None:
    """Wait until the worker has logged `count` failed attempts (or has ended)."""
    deadline = time.monotonic() + timeout
    while sum(FAILED in r.getMessage() for r in caplog.records) < count and not worker.done():
        assert time.monotonic() < deadline, f"fewer than {count} failures logged"
        await asyncio.sleep(0.05)


async def test_a_worker_waits_out_a_database_outage_and_resumes_where_it_stopped(
        pg_app: CorridorApplication, pg_store: ReadModelStore, kafka_settings: Settings,
        producer: AIOKafkaProducer, proxy: OutageProxy,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="corridor.projections.kafka")
    topic = Topics.of(kafka_settings).events
    Scenario(pg_app).full_day(cases=12)
    records = all_records(pg_app)
    await ensure_live(pg_store, PROJECTIONS)
    through_proxy = kafka_settings.model_copy(update={"pg_dsn": proxy.dsn})
    stop = asyncio.Event()
    worker = asyncio.create_task(run_kafka_worker(
        through_proxy, stop=stop, group_id=f"{kafka_settings.kafka_topic_prefix}projections"))
    try:
        ends = await publish(producer, topic, records[:len(records) // 2])
        await consumed(pg_store, topic, ends)
        await proxy.down()
        for part, end in (await publish(producer, topic, records[len(records) // 2:])).items():
            ends[part] = max(ends.get(part, 0), end)
        await failures_logged(caplog, 4, worker)
        assert not worker.done(), f"the worker quit with its database: {worker.exception()!r}"
        await proxy.up()
        await consumed(pg_store, topic, ends)
    finally:
        stop.set()
        await asyncio.wait([worker], timeout=30)

    worker.result()  # ended by `stop`, not by an error
    await assert_equals_a_fresh_projection(pg_app, pg_store)


async def test_a_worker_that_gives_up_raises(kafka_settings: Settings,
                                             proxy: OutageProxy) -> None:
    await proxy.down()
    never_back = kafka_settings.model_copy(update={"pg_dsn": proxy.dsn,
                                                   "reconnect_give_up_seconds": 0.5})

    with pytest.raises(GaveUp, match="projection worker kept failing") as gave_up:
        await run_kafka_worker(never_back, stop=asyncio.Event())

    assert isinstance(gave_up.value.__cause__, OSError)
