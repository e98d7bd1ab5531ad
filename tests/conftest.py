"""Shared pytest fixtures: the real PostgreSQL server and Kafka broker started by deploy/test.sh.

Tests that need a service never skip when it is missing: they fail, saying how to get it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

PG_ENV = "CORRIDOR_TEST_PG_DSN"
KAFKA_ENV = "CORRIDOR_TEST_KAFKA_BOOTSTRAP"


def _required_env(name: str, service: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.fail(
            f"{service} is not available: run deploy/test.sh (it starts a throwaway {service} "
            f"and exports {name}), or set {name} to a running server",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """DSN of the test PostgreSQL server, e.g. postgresql://user:pw@127.0.0.1:PORT/db."""
    return _required_env(PG_ENV, "PostgreSQL")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of the test Kafka broker, e.g. 127.0.0.1:PORT."""
    return _required_env(KAFKA_ENV, "Kafka")


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@pytest.fixture
async def fresh_pg_database(pg_dsn: str) -> AsyncIterator[str]:
    """A brand-new, empty database on the test server; yields its DSN, drops it afterwards."""
    name = f"t_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(pg_dsn, name)
    finally:
        admin = await asyncpg.connect(pg_dsn)
        try:
            # Only our own sessions: an autovacuum worker belongs to the superuser and may not
            # be terminated by the test role; DROP ... WITH (FORCE) waits it out instead.
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid() AND usename = current_user",
                name,
            )
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        finally:
            await admin.close()


@pytest.fixture
def kafka_topic_prefix() -> str:
    """A unique topic-name prefix such as 't3f9a0c1d2e4b.' so tests never share topics."""
    return f"t{uuid.uuid4().hex[:12]}."
