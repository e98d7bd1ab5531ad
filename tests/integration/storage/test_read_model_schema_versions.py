"""The read models' bookkeeping tables have schema versions of their own (their database is
apart from the event store's on the embedded default): a store created before there were
versions adopts version 1 and keeps its rows, a store newer than the code is refused with
both versions named, and stores starting at once on PostgreSQL migrate once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from projections.migrations import StoreTooNew
from projections.pg_store import PostgresStore
from projections.sqlite_store import SQLiteStore
from projections.store import ReadModelStore
from projections.tracking import SCHEMA, Generation


class ReadModelSchemaContract:
    """The same behaviour on each read-model store; subclasses say which."""

    dialect: str

    def store(self) -> ReadModelStore:
        raise NotImplementedError

    async def sql(self, statement: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def test_a_store_from_before_versions_adopts_version_one_migrates_and_keeps_its_rows(
            self) -> None:
        for statement in SCHEMA.migrations[0].statements(self.dialect):
            await self.sql(statement.replace("CREATE TABLE IF NOT EXISTS", "CREATE TABLE"))
        await self.sql("INSERT INTO projection_generations (projection, generation, state, "
                       "code_version) VALUES ('case_board', 3, 'live', 2)")
        store = self.store()

        await store.start()
        try:
            assert await store.generations() == [Generation("case_board", 3, "live", 2)]
        finally:
            await store.close()
        assert await self.sql("SELECT version FROM projection_schema_version ORDER BY "
                              "version") == [(v,) for v in range(1, SCHEMA.latest + 1)]

    async def test_a_store_newer_than_this_corridor_is_refused_naming_both_versions(
            self) -> None:
        first = self.store()
        await first.start()
        await first.close()
        await self.sql("INSERT INTO projection_schema_version (version, name) "
                       "VALUES (9, 'from a later release')")
        store = self.store()

        with pytest.raises(StoreTooNew) as refused:
            await store.start()
        await store.close()

        assert str(refused.value) == ("the read-model store is at schema version 9; this "
                                      f"corridor knows up to {SCHEMA.latest}: upgrade corridor")


class TestReadModelSchemaOnSQLite(ReadModelSchemaContract):
    dialect = "sqlite"

    @pytest.fixture(autouse=True)
    def path(self, tmp_path: Path) -> None:
        self.path = tmp_path / "readmodels.sqlite"

    def store(self) -> ReadModelStore:
        return SQLiteStore(self.path)

    async def sql(self, statement: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as conn:
            return conn.execute(statement).fetchall()


class TestReadModelSchemaOnPostgres(ReadModelSchemaContract):
    dialect = "postgres"

    @pytest.fixture(autouse=True)
    def database(self, fresh_pg_database: str) -> None:
        self.dsn = fresh_pg_database

    def store(self) -> ReadModelStore:
        return PostgresStore(self.dsn)

    async def sql(self, statement: str) -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return [tuple(r) for r in await conn.fetch(statement)]
        finally:
            await conn.close()

    async def test_stores_starting_at_once_on_a_fresh_database_migrate_once(self) -> None:
        stores = [self.store() for _ in range(4)]

        await asyncio.gather(*(s.start() for s in stores))
        for store in stores:
            await store.close()

        assert await self.sql("SELECT version, count(*) FROM projection_schema_version "
                              "GROUP BY version ORDER BY version") == [
            (v, 1) for v in range(1, SCHEMA.latest + 1)]
