"""`corridor serve` on a store that a newer corridor migrated: it refuses to start, says
which schema version the store is at and which this corridor knows, exits non-zero, and
never answers a request (so no caller sees a 500). Real processes, both deployments."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.migrations import STORE
from services.storage.sealing import new_master_key

NEWER = STORE.latest + 1
REFUSAL = (f"the store is at schema version {NEWER}; this corridor knows up to "
           f"{STORE.latest}: upgrade corridor")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_until_it_exits(args: list[str], env: dict[str, str],
                         log: Path) -> tuple[int | None, list[int]]:
    """Run `corridor serve` until it exits or answers /health/live (asked over and over);
    its exit code (None: it was serving, and was killed) and the answers it gave."""
    port = free_port()
    answers: list[int] = []
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("corridor")), "serve", *args,
             "--port", str(port)], env={**os.environ, **env}, stdout=out,
            stderr=subprocess.STDOUT)
    try:
        while process.poll() is None and not answers:
            with contextlib.suppress(httpx.HTTPError):
                answers.append(httpx.get(f"http://127.0.0.1:{port}/health/live",
                                         timeout=1).status_code)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.2)
        return process.poll(), answers
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def test_one_process_serve_on_sqlite_refuses_a_store_a_newer_corridor_migrated(
        tmp_path: Path) -> None:
    settings = Settings(store="sqlite", data_dir=tmp_path / "data")
    CorridorApplication(settings, os.urandom(32)).close()
    with sqlite3.connect(settings.sqlite_path) as conn:
        conn.execute("INSERT INTO schema_version (version, name) VALUES (?, 'later')", (NEWER,))
    env = {"CORRIDOR_STORE": "sqlite", "CORRIDOR_DATA_DIR": str(tmp_path / "data"),
           "CORRIDOR_MASTER_KEY": new_master_key(), "CORRIDOR_KAFKA_BOOTSTRAP": "",
           "CORRIDOR_AUTH_SECRET": "refusal-secret-0123456789abcdef0123"}

    code, answers = serve_until_it_exits([], env, tmp_path / "serve.log")

    assert code == 2  # refused before serving, with one line rather than a traceback
    assert REFUSAL in (tmp_path / "serve.log").read_text()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
    assert answers == []


@pytest.mark.postgres
def test_serve_with_a_writer_process_refuses_a_store_a_newer_corridor_migrated(
        tmp_path: Path, fresh_pg_database: str) -> None:
    settings = Settings(store="postgres", pg_dsn=fresh_pg_database)
    CorridorApplication(settings, os.urandom(32)).close()
    with psycopg.connect(fresh_pg_database) as conn:
        conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, 'later')",
                     (NEWER,))
    env = {"CORRIDOR_STORE": "postgres", "CORRIDOR_PG_DSN": fresh_pg_database,
           "CORRIDOR_MASTER_KEY": new_master_key(), "CORRIDOR_KAFKA_BOOTSTRAP": "",
           "CORRIDOR_AUTH_SECRET": "refusal-secret-0123456789abcdef0123"}

    code, answers = serve_until_it_exits(["--writer-process"], env, tmp_path / "serve.log")

    assert code == 2  # refused before serving, with one line rather than a traceback
    assert REFUSAL in (tmp_path / "serve.log").read_text()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
    assert answers == []
