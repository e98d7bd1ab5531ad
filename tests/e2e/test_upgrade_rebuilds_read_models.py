"""A release that changes what a read model holds (its projection's version) upgrades a
running network's store by itself: the process that keeps the read models rebuilds the ones
another release built before applying anything to them, so the board answers from tables of
this code's shape (before, the board answered 500 and the runner stopped on a missing
column until someone ran `corridor rebuild`)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import asyncpg
import command_api_driver as driver
import pytest

from projections.catalog import PROJECTIONS
from services.settings import Settings
from services.storage.readmodels import store_config

OLD = "case_board"


def built_by_an_older_release_sqlite(settings: Settings) -> None:
    with sqlite3.connect(store_config(settings).location) as db:
        db.execute("UPDATE projection_generations SET code_version = code_version - 1 "
                   "WHERE projection = ? AND state = 'live'", (OLD,))


def built_by_an_older_release_postgres(settings: Settings) -> None:
    async def update() -> None:
        conn = await asyncpg.connect(settings.pg_dsn)
        try:
            await conn.execute(f'UPDATE "{settings.pg_schema}".projection_generations SET '
                               "code_version = code_version - 1 WHERE projection = $1 "
                               "AND state = 'live'", OLD)
        finally:
            await conn.close()
    asyncio.run(update())


def admin(api: driver.Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.admin_token}"}


def upgrade_story(settings: Settings, make_old: Callable[[Settings], None]) -> None:
    with driver.running(settings) as api:
        opened = {str(api.open_case()) for _ in range(3)}
        before = api.client.get("/projections/status", headers=admin(api))
        generation = next(s["generation"] for s in before.json() if s["projection"] == OLD)
    make_old(settings)

    with driver.running(settings) as api:
        status = api.client.get("/projections/status", headers=admin(api))
        board_status = next(s for s in status.json() if s["projection"] == OLD)
        assert board_status["needs_rebuild"] is False
        assert board_status["generation"] == generation + 1
        assert board_status["code_version"] == next(p.version for p in PROJECTIONS
                                                    if p.name == OLD)
        board = api.client.get("/board", headers=admin(api))
        assert board.status_code == 200, board.text
        assert {row["case_id"] for row in board.json()["cases"]} == opened


def test_the_embedded_store_rebuilds_an_older_releases_board_at_start(
        sqlite_settings: Settings) -> None:
    upgrade_story(sqlite_settings, built_by_an_older_release_sqlite)


@pytest.mark.postgres
def test_postgres_rebuilds_an_older_releases_board_at_start(
        postgres_settings: Settings) -> None:
    upgrade_story(postgres_settings, built_by_an_older_release_postgres)
