"""Event stores and read-model stores for projection integration tests (real databases)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from projection_settings import pg_settings

from projections.pg_store import PostgresStore
from projections.sqlite_store import SQLiteStore
from projections.store import ReadModelStore
from services.settings import Settings
from services.storage.application import CorridorApplication


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def pg_app(fresh_pg_database: str, tmp_path: Path,
           master_key: bytes) -> Iterator[CorridorApplication]:
    """The event store on a brand-new PostgreSQL database."""
    app = CorridorApplication(pg_settings(fresh_pg_database, tmp_path), master_key)
    yield app
    app.close()


@pytest.fixture
def sqlite_app(tmp_path: Path, master_key: bytes) -> Iterator[CorridorApplication]:
    """The embedded event store in a temporary folder."""
    app = CorridorApplication(Settings(store="sqlite", data_dir=tmp_path), master_key)
    yield app
    app.close()


@pytest.fixture
async def pg_store(fresh_pg_database: str) -> AsyncIterator[ReadModelStore]:
    """Read models beside the events, in the same fresh PostgreSQL database."""
    store = PostgresStore(fresh_pg_database)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[ReadModelStore]:
    """Read models in their own SQLite file."""
    store = SQLiteStore(tmp_path / "readmodels.sqlite")
    await store.start()
    yield store
    await store.close()
