"""`corridor project --from kafka` keeps reconnecting to a database that is down, and when it
gives up (CORRIDOR_RECONNECT_GIVE_UP_SECONDS) it exits non-zero, saying why, for its
supervisor to restart it (issue 25: it used to stop with the database)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_kafka_worker_that_gives_up_on_its_database_exits_non_zero(
        kafka_bootstrap: str, kafka_topic_prefix: str, tmp_path: Path) -> None:
    down = f"postgresql://corridor:unused@127.0.0.1:{unused_port()}/corridor"
    env = {**os.environ, "CORRIDOR_STORE": "postgres", "CORRIDOR_PG_DSN": down,
           "CORRIDOR_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "CORRIDOR_KAFKA_TOPIC_PREFIX": kafka_topic_prefix,
           "CORRIDOR_DATA_DIR": str(tmp_path), "CORRIDOR_RECONNECT_GIVE_UP_SECONDS": "1",
           "COLUMNS": "200"}
    corridor = str(Path(sys.executable).with_name("corridor"))

    ended = subprocess.run([corridor, "project", "--from", "kafka"], env=env,
                           capture_output=True, timeout=120, check=False)

    output = (ended.stdout + ended.stderr).decode(errors="replace")
    assert ended.returncode != 0, output
    assert "projection worker failed" in output  # it did wait and retry first
    assert "projection worker kept failing" in output
