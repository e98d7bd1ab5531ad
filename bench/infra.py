"""The PostgreSQL and Kafka to measure on: given (CORRIDOR_BENCH_*) or throwaway ones started
with deploy/services.py, plus a fresh database per measurement so runs never share state."""

from __future__ import annotations

import asyncio
import contextlib
import json
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

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICES_SCRIPT = REPO_ROOT / "deploy" / "services.py"
PG_ENV, KAFKA_ENV = "CORRIDOR_BENCH_PG_DSN", "CORRIDOR_BENCH_KAFKA_BOOTSTRAP"
DURABLE_PG_ENV = "CORRIDOR_BENCH_DURABLE_PG_DSN"
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
"""What a commit must cost for a durable figure: each waits for its WAL flush."""


class InfraError(RuntimeError):
    """A server the benchmark needs could not be started or reached."""


@dataclass
class Servers:
    """Where PostgreSQL and Kafka are, and the throwaway ones to stop afterwards (each with
    its own deploy/services.py state folder, so Kafka can go as soon as it is not needed)."""

    pg_dsn: str | None = None
    durable_pg_dsn: str | None = None
    kafka_bootstrap: str | None = None
    state_dirs: dict[str, Path] = field(default_factory=dict)

    def ensure_postgres(self) -> str:
        if self.pg_dsn is None:
            self.pg_dsn = os.environ.get(PG_ENV) or self._start("postgres")
        return self.pg_dsn

    async def ensure_durable_postgres(self) -> str:
        """A PostgreSQL that commits durably (fsync, synchronous commit and full page writes
        on): the one in CORRIDOR_BENCH_DURABLE_PG_DSN, else the run's own server when it is
        durable, else a throwaway one of this run made durable. deploy/services.py starts
        its servers with all three off, which suits tests: a throwaway one is set durable
        with ALTER SYSTEM by its superuser (over its private socket) and reloaded."""
        if self.durable_pg_dsn is not None:
            return self.durable_pg_dsn
        dsn = os.environ.get(DURABLE_PG_ENV) or self.ensure_postgres()
        if not await is_durable(dsn):
            dsn = self._start("postgres", key="durable_postgres")
            await make_durable(self.state_dirs["durable_postgres"])
            if not await is_durable(dsn):
                raise InfraError(f"could not make a PostgreSQL run with {DURABLE}")
        self.durable_pg_dsn = dsn
        return dsn

    def ensure_kafka(self) -> str:
        if self.kafka_bootstrap is None:
            self.kafka_bootstrap = os.environ.get(KAFKA_ENV) or self._start("kafka")
        return self.kafka_bootstrap

    def _start(self, service: str, key: str | None = None) -> str:
        key = key or service
        state_dir = Path(tempfile.mkdtemp(prefix=f"corridor-bench-{key}-"))
        self.state_dirs[key] = state_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRIDOR_TEST_")}
        print(f"bench: starting a throwaway {service} (deploy/services.py)", file=sys.stderr)
        done = subprocess.run([sys.executable, str(SERVICES_SCRIPT), f"start-{service}",
                               "--state-dir", str(state_dir)], env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        if done.returncode != 0:
            self._stop(key)
            raise InfraError(f"deploy/services.py start-{service} failed:\n"
                             f"{done.stderr[-2000:]}")
        return _exported_value(done.stdout)

    def stop_kafka(self) -> None:
        """Stop a throwaway Kafka now (a given one is left alone)."""
        if "kafka" in self.state_dirs:
            self._stop("kafka")
            self.kafka_bootstrap = None

    def stop(self) -> None:
        """Stop whatever this run started (by the pids deploy/services.py recorded)."""
        for service in list(self.state_dirs):
            self._stop(service)

    def _stop(self, service: str) -> None:
        state_dir = self.state_dirs.pop(service)
        subprocess.run([sys.executable, str(SERVICES_SCRIPT), "stop", "--state-dir",
                        str(state_dir)], capture_output=True, timeout=120, check=False)
        shutil.rmtree(state_dir, ignore_errors=True)


async def is_durable(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        found = {name: await conn.fetchval(f"SHOW {name}") for name in DURABLE}
    finally:
        await conn.close()
    return found == DURABLE


async def make_durable(state_dir: Path) -> None:
    """Turn a throwaway server of deploy/services.py durable (all three are reloadable)."""
    info = json.loads((state_dir / "services.json").read_text())["postgres"]
    conn = await asyncpg.connect(host=str(Path(info["root"]) / "sock"), port=info["port"],
                                 user="postgres", database="postgres")
    try:
        for name, value in DURABLE.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    for _ in range(50):  # the postmaster's children take the new settings asynchronously
        await asyncio.sleep(0.1)
        conn = await asyncpg.connect(host=str(Path(info["root"]) / "sock"),
                                     port=info["port"], user="postgres", database="postgres")
        try:
            if await conn.fetchval("SHOW fsync") == "on":
                return
        finally:
            await conn.close()


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
async def fresh_database(server_dsn: str, label: str, *, keep: bool = False,
                         template: str | None = None) -> AsyncIterator[str]:
    """A new database on the server, empty or a copy of the `template` database (dropped
    afterwards unless `keep`); yields its DSN."""
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await admin.close()
    try:
        yield with_database(server_dsn, name)
    finally:
        if not keep:
            await drop_database(server_dsn, name)


async def drop_database(server_dsn: str, name: str) -> None:
    """Drop a benchmark database; a failure is reported, not raised (the figures stand)."""
    admin = await asyncpg.connect(server_dsn)
    try:
        # Only our own sessions: autovacuum workers (superuser) are stopped by DROP itself.
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = $1 AND pid <> pg_backend_pid() "
                            "AND usename = current_user", name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    except asyncpg.PostgresError as error:
        print(f"bench: WARNING could not drop database {name}: {error}", file=sys.stderr)
    finally:
        await admin.close()
