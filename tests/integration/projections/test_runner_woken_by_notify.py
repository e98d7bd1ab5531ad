"""`corridor project --from store` (and the supervisor of `serve --writer-process`) is woken
by the store's NOTIFY, not by its poll: with the poll stretched to a minute, events written
by another process reach the read models within seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from projection_checks import woken_by_news_not_by_the_poll
from projection_settings import pg_settings

from services.storage.application import CorridorApplication
from services.storage.readmodels import events_channel

pytestmark = pytest.mark.postgres


def test_the_channel_is_the_one_the_recorder_notifies(pg_app: CorridorApplication,
                                                      fresh_pg_database: str,
                                                      tmp_path: Path) -> None:
    settings = pg_settings(fresh_pg_database, tmp_path)

    assert events_channel(settings) == pg_app.recorder.channel_name  # type: ignore[attr-defined]


async def test_the_store_runner_is_woken_by_notify_not_by_its_poll(
        pg_app: CorridorApplication, fresh_pg_database: str, tmp_path: Path) -> None:
    await woken_by_news_not_by_the_poll(pg_app, pg_settings(fresh_pg_database, tmp_path))
