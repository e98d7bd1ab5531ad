"""Fixtures for the Kafka integration tests: settings on a fresh PostgreSQL database with a
unique topic prefix, and the event store application on them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kafka_harness import kafka_settings, open_app

from services.settings import Settings
from services.storage.application import CorridorApplication


@pytest.fixture
def pg_settings(fresh_pg_database: str, kafka_bootstrap: str, kafka_topic_prefix: str,
                tmp_path: Path) -> Settings:
    return kafka_settings(kafka_bootstrap, kafka_topic_prefix, tmp_path, store="postgres",
                          pg_dsn=fresh_pg_database)


@pytest.fixture
async def pg_app(pg_settings: Settings) -> AsyncIterator[CorridorApplication]:
    app = await open_app(pg_settings)
    try:
        yield app
    finally:
        app.close()
