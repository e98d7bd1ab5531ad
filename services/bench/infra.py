"""The PostgreSQL and Kafka to measure on: given (CORRIDOR_BENCH_*) or throwaway ones started
with deploy/services.py, plus a fresh database per measurement so runs never share state."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = REPO_ROOT / "deploy" / "services.py"
PG_ENV, KAFKA_ENV = "CORRIDOR_BENCH_PG_DSN", "CORRIDOR_BENCH_KAFKA_BOOTSTRAP"


class InfraError(RuntimeError):
    """A server the benchmark needs could not be started or reached."""


@dataclass
class Servers:
    """Where PostgreSQL and Kafka are, and the throwaway state to stop afterwards."""

    pg_dsn: str | None = None
    kafka_bootstrap: str | None = None
    started: list[str] = field(default_factory=list)
    state_dir: Path | None = None

    def ensure_postgres(self) -> str:
        if self.pg_dsn is None:
            self.pg_dsn = os.environ.get(PG_ENV) or self._start("start-postgres")
        return self.pg_dsn

    def ensure_kafka(self) -> str:
        if self.kafka_bootstrap is None:
            self.kafka_bootstrap = os.environ.get(KAFKA_ENV) or self._start("start-kafka")
        return self.kafka_bootstrap

    def _start(self, action: str) -> str:
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="corridor-bench-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRIDOR_TEST_")}
        print(f"bench: {action} (throwaway, via deploy/services.py)", file=sys.stderr)
        done = subprocess.run([sys.executable, str(SERVICES_SCRIPT), action, "--state-dir",
                               str(self.state_dir)], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            raise InfraError(f"deploy/services.py {action} failed:\n{done.stderr[-2000:]}")
        self.started.append(action)
        return _exported_value(done.stdout)

    def stop(self) -> None:
        """Stop whatever this run started (by the pids deploy/services.py recorded)."""
        if self.state_dir is None:
            return
        if self.started:
            subprocess.run([sys.executable, str(SERVICES_SCRIPT), "stop", "--state-dir",
                            str(self.state_dir)], capture_output=True, timeout=120, check=False)
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir = None


def _exported_value(stdout: str) -> str:
    for line in stdout.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            return words[1].split("=", 1)[1]
    raise InfraError(f"deploy/services.py printed no export line: {stdout!r}")


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@contextlib.asynccontextmanager
async def fresh_database(server_dsn: str, label: str, *,
                         keep: bool = False) -> AsyncIterator[str]:
    """A new empty database on the server (dropped afterwards unless `keep`); yields its DSN."""
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(server_dsn, name)
    finally:
        if not keep:
            admin = await asyncpg.connect(server_dsn)
            try:
                await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            finally:
                await admin.close()
