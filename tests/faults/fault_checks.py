"""What must hold after every fault: each acknowledged command stored exactly once, the
events topic equal to the store (copies allowed: at-least-once with idempotent consumers),
the read models equal to a fresh projection of the store, and the hash chain intact."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from fault_load import Load
from integration.projections.projection_checks import (
    actual,
    all_records,
    differences,
    expected,
)
from pydantic import SecretStr

from projections.catalog import PROJECTIONS
from projections.generations import store_positions
from projections.pg_store import PostgresStore
from projections.records import EventRecord
from projections.sqlite_store import SQLiteStore
from projections.store import ReadModelStore
from services.audit.verify import verify_store
from services.bootstrap import application
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.readmodels import READ_MODELS_FILE


@dataclass
class Target:
    """Where a case's store and read models are, as the processes under test see them."""

    store: str  # sqlite | postgres
    master_key: str
    dsn: str | None = None
    data_dir: Path | None = None

    def settings(self) -> Settings:
        return Settings(store=self.store, pg_dsn=self.dsn,  # type: ignore[arg-type]
                        data_dir=self.data_dir or Path("data"), create_tables=False,
                        master_key=SecretStr(self.master_key), kafka_bootstrap=None)

    def open_app(self) -> CorridorApplication:
        return application(self.settings())

    def read_model_store(self) -> ReadModelStore:
        if self.store == "postgres":
            assert self.dsn is not None
            return PostgresStore(self.dsn)
        assert self.data_dir is not None
        return SQLiteStore(self.data_dir / READ_MODELS_FILE)


def stored_records(target: Target) -> list[EventRecord]:
    app = target.open_app()
    try:
        return all_records(app)
    finally:
        app.close()


def exactly_once(load: Load, records: list[EventRecord]) -> dict[str, int]:
    """Acknowledged commands stored once each, at the position they were answered with;
    nothing stored twice for any command sent (a retried id must not store again)."""
    opened = Counter(str(r.stream_id) for r in records if r.type == "CaseOpened")
    at_position = {r.position: str(r.stream_id) for r in records}
    acknowledged = load.acknowledged
    lost = [c.command_id for c in acknowledged if opened[c.case_id] == 0]
    duplicated = [c.command_id for c in load.commands if opened[c.case_id] > 1]
    misplaced = [c.command_id for c in acknowledged if c.answer is not None and
                 at_position.get(int(c.answer["position"])) != c.case_id]
    unacknowledged_stored = sum(1 for c in load.commands
                                if c.answer is None and opened[c.case_id] == 1)
    return {"acknowledged": len(acknowledged), "lost": len(lost),
            "duplicated": len(duplicated), "misplaced": len(misplaced),
            "unacknowledged_but_stored": unacknowledged_stored}


async def topic_positions(bootstrap: str, topic: str) -> list[int]:
    """Every event message's store position on the topic, from the beginning to its end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p)
                      for p in sorted(consumer.partitions_for_topic(topic) or
                                      await _partitions(consumer, topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        positions: list[int] = []
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for messages in batches.values():
                positions += [orjson.loads(m.value)["position"] for m in messages
                              if m.value is not None]
        return positions
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        await consumer._client.force_metadata_update()  # fresh metadata: a new topic
        await asyncio.sleep(0.1)
    raise AssertionError(f"topic {topic} has no partitions")


async def topic_caught_up(bootstrap: str, topic: str, records: list[EventRecord],
                          timeout: float = 90.0) -> tuple[float, dict[str, int]]:
    """Wait until every stored event is on the topic; seconds waited and the figures."""
    started = time.monotonic()
    stored = {r.position for r in records}
    while True:
        positions = await topic_positions(bootstrap, topic)
        on_topic = set(positions)
        if stored <= on_topic or time.monotonic() - started > timeout:
            break
        await asyncio.sleep(0.5)
    figures = {"stored": len(stored), "on_topic": len(positions),
               "missing_from_topic": len(stored - on_topic),
               "not_in_store": len(on_topic - stored),
               "copies": len(positions) - len(on_topic)}
    return time.monotonic() - started, figures


async def read_models_caught_up(target: Target, records: list[EventRecord],
                                timeout: float = 90.0) -> tuple[float, dict[str, Any]]:
    """Wait until every live read model has applied the store's head, then compare them
    with a fresh projection of the store's events: seconds waited and the differences."""
    head = max((r.position for r in records), default=0)
    store = target.read_model_store()
    await store.start()
    started = time.monotonic()
    try:
        while True:  # from the store or from Kafka, whichever feeds them
            reached = store_positions(await store.positions(), await store.generations())
            if (len(reached) == len(PROJECTIONS) and min(reached.values()) >= head) or \
                    time.monotonic() - started > timeout:
                break
            await asyncio.sleep(0.1)
        waited = time.monotonic() - started
        behind = {name: at for name, at in reached.items() if at < head}
        diff = differences(await actual(store, PROJECTIONS), expected(PROJECTIONS, records))
        return waited, {"head": head, "behind": behind, "tables_differing": diff}
    finally:
        await store.close()


def chain_verifies(target: Target) -> dict[str, Any]:
    app = target.open_app()
    try:
        report = verify_store(app)
    finally:
        app.close()
    return {"ok": report.ok, "events_checked": report.events_checked,
            "breaks": len(report.breaks)}


def stream_ids(records: list[EventRecord]) -> set[UUID]:
    return {r.stream_id for r in records}


def store_head(target: Target) -> int:
    """The store's last notification id now."""
    app = target.open_app()
    try:
        return app.recorder.max_notification_id() or 0
    finally:
        app.close()


async def topic_reaches(bootstrap: str, topic: str, head: int, timeout: float) -> float | None:
    """Seconds until the topic holds the store's events up to `head` (the relay publishes in
    store order, so its highest position says it), or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if max(await topic_positions(bootstrap, topic), default=0) >= head:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    return None


async def read_models_reach(target: Target, head: int, timeout: float) -> float | None:
    """Seconds until every live read model has applied the store up to `head`, or None."""
    store = target.read_model_store()
    started = time.monotonic()
    try:
        await store.start()
        while time.monotonic() - started < timeout:
            reached = store_positions(await store.positions(), await store.generations())
            if len(reached) == len(PROJECTIONS) and min(reached.values()) >= head:
                return time.monotonic() - started
            await asyncio.sleep(0.1)
        return None
    finally:
        await store.close()
