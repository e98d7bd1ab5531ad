"""Readiness is honest about the broker (issue 25): with Kafka configured but no broker
answering, `GET /health/ready` said "ready"; now it says "degraded", still 200 (commands are
stored and reads served; events go out once the broker is back), naming the broker down."""

from __future__ import annotations

import socket
from pathlib import Path

import command_api_driver as driver
import httpx
import pytest
from test_serve_workers import serving


def a_port_nobody_listens_on() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_with_the_broker_down_the_service_is_degraded_and_names_the_broker(
        tmp_path: Path) -> None:
    settings = driver.sqlite_settings(tmp_path / "data").model_copy(
        update={"kafka_bootstrap": f"127.0.0.1:{a_port_nobody_listens_on()}"})
    with driver.running(settings) as api:
        api.open_case()  # commands are still stored

        response = api.client.get("/health/ready")

    assert response.status_code == 200
    ready = response.json()
    assert ready["status"] == "degraded"
    assert ready["dependencies"]["broker"] == {"state": "down"}
    assert ready["dependencies"]["store"] == {"state": "up"}
    assert ready["dependencies"]["relay"]["lag"] >= 1  # the case's events wait to go out
    assert ready["checks"]["kafka"] is False


def test_with_every_dependency_answering_the_service_is_ready(tmp_path: Path) -> None:
    with driver.running(driver.sqlite_settings(tmp_path / "data")) as api:
        response = api.client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["dependencies"]["writer"]["state"] == "up"


@pytest.mark.postgres
def test_an_http_worker_of_the_writer_process_reports_the_broker_down_too(
        fresh_pg_database: str, tmp_path: Path) -> None:
    # Its commands go to the writer process, which runs the relay: the worker has no Kafka
    # parts of its own and used to check no broker at all.
    with serving(fresh_pg_database, tmp_path / "serve.log", "--writer-process",
                 kafka_bootstrap=f"127.0.0.1:{a_port_nobody_listens_on()}") as server:
        response = httpx.get(f"{server.base}/health/ready", timeout=10)

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["dependencies"]["broker"] == {"state": "down"}
    assert response.json()["dependencies"]["writer"] == {"state": "up"}
