"""Read-your-writes on the production shape with a Kafka projection worker: `corridor serve
--writer-process` (projections not in-process, its writer process relays to Kafka) and
`corridor project --from kafka` applying the events topic. A read model's position is right
whatever runs it, also with partitions that received nothing, so `min_position` answers.
Real PostgreSQL, real Kafka, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_serve_workers import SECRET, Served, free_port, open_case_body, wait_ready

from projections.catalog import PROJECTIONS
from services.storage.sealing import new_master_key

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
READ_MODELS = tuple(p.name for p in PROJECTIONS)


def corridor(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([str(Path(sys.executable).with_name("corridor")), *args],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def served_with_worker(fresh_pg_database: str, kafka_bootstrap: str, kafka_topic_prefix: str,
                       tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, "CORRIDOR_STORE": "postgres", "CORRIDOR_PG_DSN": fresh_pg_database,
           "CORRIDOR_MASTER_KEY": new_master_key(), "CORRIDOR_AUTH_SECRET": SECRET,
           "CORRIDOR_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "CORRIDOR_KAFKA_TOPIC_PREFIX": kafka_topic_prefix,
           "CORRIDOR_KAFKA_EVENT_PARTITIONS": "6", "CORRIDOR_PROJECTIONS_IN_PROCESS": "false"}
    api = corridor("serve", "--writer-process", "--port", str(port), env=env,
                   log=tmp_path / "serve.log")
    server = Served(api, port, tmp_path / "serve.log", workers=1)
    worker: subprocess.Popen[bytes] | None = None
    try:
        wait_ready(server)  # the writer process's relay has made the topics by now
        worker = corridor("project", "--from", "kafka", env=env, log=tmp_path / "worker.log")
        yield server
    finally:
        if worker is not None:
            stop(worker)
        stop(api)


def test_min_position_answers_behind_a_kafka_worker_with_idle_partitions(
        served_with_worker: Served) -> None:
    server = served_with_worker
    supervisor = server.headers(str(uuid.uuid4()), "supervisor")
    body = open_case_body()  # one stream: one of six partitions gets an event
    with httpx.Client(base_url=server.base, timeout=60) as client:
        opened = client.post("/commands/cases/open", json=body,
                             headers=server.headers("intake-bot", "intake"))
        assert opened.status_code == 200, opened.text
        position = opened.json()["position"]
        wait = {"min_position": position, "wait_ms": 30_000}

        board = client.get("/board", headers=supervisor, params=wait)
        workload = client.get("/workload", headers=supervisor, params=wait)
        status = client.get("/projections/status", headers=supervisor).json()

    assert board.status_code == 200, board.text
    assert body["case_id"] in {c["case_id"] for c in board.json()["cases"]}
    assert workload.status_code == 200, workload.text
    reached = {s["projection"]: s["position"] for s in status}
    assert set(reached) == set(READ_MODELS)
    assert all(p >= position for p in reached.values()), reached
