"""What the figures were measured on: machine, software versions, PostgreSQL settings."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg

PACKAGES = ("eventsourcing", "fastapi", "uvicorn", "uvloop", "httptools", "asyncpg",
            "psycopg", "aiokafka", "pydantic", "orjson")
PG_SETTINGS = ("server_version", "fsync", "synchronous_commit", "full_page_writes",
               "shared_buffers", "max_connections")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "cpu_model": cpu_model(), "ram_gb": ram_gb(),
            "os": f"{platform.system()} {platform.release()}", "versions": versions()}


async def postgres_settings(dsn: str) -> dict[str, Any]:
    """The settings that decide what a commit costs (fsync=off makes commits nearly free)."""
    conn = await asyncpg.connect(dsn)
    try:
        found = {name: await conn.fetchval(f"SHOW {name}") for name in PG_SETTINGS}
    finally:
        await conn.close()
    found["summary"] = (f"{found['server_version'].split()[0]} on 127.0.0.1, "
                        f"fsync={found['fsync']}, synchronous_commit={found['synchronous_commit']}"
                        f", shared_buffers={found['shared_buffers']}")
    return found


async def postmaster_pid(dsn: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (for CPU use)."""
    from bench.procstat import parent_pid

    conn = await asyncpg.connect(dsn)
    try:  # ask while the backend lives: it is the postmaster's child
        return parent_pid(int(await conn.fetchval("SELECT pg_backend_pid()")))
    finally:
        await conn.close()
