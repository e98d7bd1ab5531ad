"""One thin slice through every layer: a case opened over HTTP is stored, (published to Kafka,
projected) and shown on the case board, on the embedded default and on PostgreSQL + Kafka."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.kafka.projection_worker import run_kafka_worker
from services.settings import Settings
from services.storage.sealing import new_master_key

SECRET = "walking-skeleton-secret-0123456789abcdef"
INTAKE = {"safe_now": False, "region": "Kharkiv", "destination": "Lviv",
          "contact_channel": "telegram", "children_ages": [5], "name": "Marta Skeleton-77"}


def open_case(client: TestClient) -> tuple[str, dict[str, Any], dict[str, str]]:
    runtime: Any = client.app.state.runtime  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {runtime.tokens.issue('intake-bot', ['intake'])}"}
    case_id = str(uuid.uuid4())
    reply = client.post("/commands/cases/open", headers=headers, json={
        "command_id": str(uuid.uuid4()), "case_id": case_id, "person_id": str(uuid.uuid4()),
        "intake": INTAKE})
    assert reply.status_code == 200, reply.json()
    board_reader = runtime.tokens.issue(str(uuid.uuid4()), ["supervisor"])
    return case_id, reply.json(), {"Authorization": f"Bearer {board_reader}"}


def board_row(client: TestClient, headers: dict[str, str], case_id: str,
              **params: Any) -> dict[str, Any] | None:
    reply = client.get("/board", headers=headers, params={"limit": 200, **params})
    assert reply.status_code == 200, reply.json()
    rows = [c for c in reply.json()["cases"] if c["case_id"] == case_id]
    return rows[0] if rows else None


def test_embedded_default_serves_a_case_from_http_to_the_board(tmp_path: Path) -> None:
    settings = Settings(store="sqlite", data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        case_id, accepted, headers = open_case(client)
        row = board_row(client, headers, case_id, min_position=accepted["position"],
                        wait_ms=10_000)
    assert row is not None
    assert (row["urgency"], row["region"], row["status"]) == ("critical", "Kharkiv",
                                                             "unassigned")
    assert "Marta" not in str(row)  # the board carries no personal data
    assert (tmp_path / "data" / "corridor.sqlite").exists()


class KafkaWorkerThread:
    """A projection worker of the Kafka consumer group, on its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(run_kafka_worker(self.settings, stop=self.stop))
        except BaseException as error:  # surfaced by the test
            self.error = error

    def __enter__(self) -> KafkaWorkerThread:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=30)


async def published_keys(bootstrap: str, topic: str, wanted: str, seconds: float) -> list[str]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        keys: list[str] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and wanted not in keys:
            batch = await consumer.getmany(timeout_ms=500)
            keys += [m.key.decode() for msgs in batch.values() for m in msgs if m.key]
        return keys
    finally:
        await consumer.stop()


@pytest.mark.postgres
@pytest.mark.kafka
def test_postgres_and_kafka_carry_a_case_from_http_to_the_board(
        fresh_pg_database: str, kafka_bootstrap: str, kafka_topic_prefix: str) -> None:
    settings = Settings(store="postgres", pg_dsn=fresh_pg_database, master_key=new_master_key(),
                        auth_secret=SECRET, kafka_bootstrap=kafka_bootstrap,
                        kafka_topic_prefix=kafka_topic_prefix, kafka_event_partitions=3,
                        projections_in_process=False)
    with TestClient(create_app(settings)) as client, KafkaWorkerThread(settings) as worker:
        case_id, _, headers = open_case(client)
        row = None
        deadline = time.monotonic() + 60
        while row is None and time.monotonic() < deadline and worker.error is None:
            row = board_row(client, headers, case_id)
            time.sleep(0.2)
    assert worker.error is None, worker.error
    assert row is not None, "the board row never appeared"
    assert row["urgency"] == "critical"
    with psycopg.connect(fresh_pg_database) as conn:  # stored in PostgreSQL, the source of truth
        stored = conn.execute("SELECT count(*) FROM corridor_events WHERE originator_id = %s",
                              (case_id,)).fetchone()
    assert stored is not None and stored[0] == 1
    keys = asyncio.run(published_keys(kafka_bootstrap, settings.topic("events"), case_id, 20))
    assert case_id in keys  # it went through the events topic keyed by its stream
