"""The relay against a real broker and a real store: every stored event reaches the events
topic in per-stream order, and a relay killed mid-stream resumes without a gap."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kafka_harness import (
    admitted_per_stream,
    append_rounds,
    eventually,
    expected_per_stream,
    kafka_settings,
    new_parcels,
    open_app,
    partitions_per_stream,
    per_stream_versions,
    read_topic,
    stored_events,
)

from services.kafka.relay import EventRelay
from services.kafka.topics import Topics
from services.settings import Settings
from services.storage.application import CorridorApplication

REPO = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]


@contextlib.asynccontextmanager
async def running(relay: EventRelay) -> AsyncIterator[asyncio.Task[None]]:
    """The relay as a task, stopped gracefully on the way out."""
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:
        yield task
    finally:
        stopping.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 20)


async def caught_up(relay: EventRelay) -> bool:
    return await relay.lag() == 0


class RelayContract:
    """What every store gives the relay; subclasses choose the store."""

    @pytest.fixture
    def settings(self) -> Settings:
        raise NotImplementedError

    @pytest.fixture
    async def app(self, settings: Settings) -> AsyncIterator[CorridorApplication]:
        app = await open_app(settings)
        try:
            yield app
        finally:
            app.close()

    async def test_every_stored_event_reaches_the_topic_once_in_stream_order(
            self, settings: Settings, app: CorridorApplication) -> None:
        parcels = await asyncio.to_thread(new_parcels, app, 12)
        await asyncio.to_thread(append_rounds, app, parcels, 20)
        relay = EventRelay(app, settings, batch_size=100)
        assert await relay.lag() == 12 * 21

        async with running(relay):
            await eventually(lambda: caught_up(relay), 30, "the relay to catch up")

        messages = await read_topic(settings.kafka_bootstrap or "", Topics.of(settings).events)
        stored = await asyncio.to_thread(stored_events, app)
        assert per_stream_versions(messages) == expected_per_stream(stored)  # no duplicates
        assert all(len(p) == 1 for p in partitions_per_stream(messages).values())

    async def test_a_relay_cancelled_mid_stream_resumes_where_it_stopped(
            self, settings: Settings, app: CorridorApplication) -> None:
        parcels = await asyncio.to_thread(new_parcels, app, 20)
        await asyncio.to_thread(append_rounds, app, parcels, 100)
        relay = EventRelay(app, settings, batch_size=50)
        async with running(relay) as task:
            await eventually(lambda: _published_some(relay), 30, "the first batches", 0.001)
            task.cancel()  # a crash as far as the relay can tell: no graceful end
        at_kill = await asyncio.to_thread(relay.stored_position)
        assert 0 < at_kill < 20 * 101, "the relay was not stopped mid-stream"

        restarted = EventRelay(app, settings, batch_size=50)
        async with running(restarted):
            await eventually(lambda: caught_up(restarted), 30, "the restarted relay")

        messages = await read_topic(settings.kafka_bootstrap or "", Topics.of(settings).events)
        stored = await asyncio.to_thread(stored_events, app)
        assert admitted_per_stream(messages) == expected_per_stream(stored)


async def _published_some(relay: EventRelay) -> bool:
    return relay.published > 0


class TestRelayOnPostgres(RelayContract):
    @pytest.fixture
    def settings(self, pg_settings: Settings) -> Settings:
        return pg_settings


class TestRelayOnSQLite(RelayContract):
    @pytest.fixture
    def settings(self, kafka_bootstrap: str, kafka_topic_prefix: str,
                 tmp_path: Path) -> Settings:
        return kafka_settings(kafka_bootstrap, kafka_topic_prefix, tmp_path, store="sqlite")


@pytest.mark.postgres
async def test_a_standby_relay_publishes_nothing_until_the_leader_stops(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    parcels = await asyncio.to_thread(new_parcels, pg_app, 10)
    leader = EventRelay(pg_app, pg_settings, batch_size=20)
    standby_app = await open_app(pg_settings)  # another process as far as the lock goes
    standby = EventRelay(standby_app, pg_settings, batch_size=20)
    stop_leader = asyncio.Event()
    leading = asyncio.create_task(leader.run(stop_leader))
    try:
        await eventually(lambda: caught_up(leader), 30, "the leader to catch up")
        async with running(standby):
            await asyncio.to_thread(append_rounds, pg_app, parcels, 10)
            await eventually(lambda: caught_up(leader), 30, "the leader to publish more")
            assert (leader.leading, standby.leading, standby.published) == (True, False, 0)

            stop_leader.set()
            await asyncio.wait_for(leading, 20)
            await eventually(lambda: _leads(standby), 10, "the standby to take over")
            await asyncio.to_thread(append_rounds, pg_app, parcels, 5)
            await eventually(lambda: caught_up(standby), 30, "the new leader to publish")
    finally:
        stop_leader.set()
        await asyncio.gather(leading, return_exceptions=True)
        standby_app.close()

    messages = await read_topic(pg_settings.kafka_bootstrap or "", Topics.of(pg_settings).events)
    stored = await asyncio.to_thread(stored_events, pg_app)
    assert per_stream_versions(messages) == expected_per_stream(stored)  # not one duplicate
    assert standby.published == 10 * 5


async def _leads(relay: EventRelay) -> bool:
    return relay.leading


def relay_process(settings: Settings, batch_size: int) -> subprocess.Popen[bytes]:
    """`corridor relay` in its own process, configured through the environment."""
    assert settings.master_key is not None
    env = {**os.environ, "CORRIDOR_STORE": "postgres", "CORRIDOR_PG_DSN": settings.pg_dsn or "",
           "CORRIDOR_MASTER_KEY": settings.master_key.get_secret_value(),
           "CORRIDOR_AUTH_SECRET": "unused-by-the-relay",
           "CORRIDOR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap or "",
           "CORRIDOR_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
           "CORRIDOR_KAFKA_EVENT_PARTITIONS": str(settings.kafka_event_partitions),
           "CORRIDOR_DATA_DIR": str(settings.data_dir)}
    return subprocess.Popen([sys.executable, "-m", "services.cli.main", "relay", "--batch-size",
                             str(batch_size)], cwd=REPO, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.postgres
async def test_a_relay_process_killed_mid_stream_resumes_without_a_gap(
        pg_settings: Settings, pg_app: CorridorApplication) -> None:
    parcels = await asyncio.to_thread(new_parcels, pg_app, 40)
    await asyncio.to_thread(append_rounds, pg_app, parcels, 100)
    total = 40 * 101
    position = EventRelay(pg_app, pg_settings)  # only to read the stored position

    async def moved() -> bool:
        return await asyncio.to_thread(position.stored_position) > 0

    first = relay_process(pg_settings, batch_size=50)
    try:
        await eventually(moved, 30, "the relay process to publish", interval=0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = await asyncio.to_thread(position.stored_position)
    assert 0 < at_kill < total, "the relay process was not killed mid-stream"

    second = relay_process(pg_settings, batch_size=50)
    try:
        await eventually(lambda: caught_up(position), 40, "the restarted relay process")
        second.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert second.wait(15) == 0
        assert time.monotonic() - started < 15
    finally:
        if second.poll() is None:
            second.kill()

    messages = await read_topic(pg_settings.kafka_bootstrap or "",
                                Topics.of(pg_settings).events)
    stored = await asyncio.to_thread(stored_events, pg_app)
    assert len(stored) == total
    assert admitted_per_stream(messages) == expected_per_stream(stored)
