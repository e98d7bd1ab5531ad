"""A read returns its pooled connection without a reset round trip (issue 22, suggestions p95):
asyncpg sends its reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) on every
release and each read waited for it; the store leaves no session state to reset."""

from __future__ import annotations

import asyncpg
import pytest

from projections.pg_store import PostgresStore

pytestmark = pytest.mark.postgres


async def test_a_read_hands_its_connection_back_without_a_reset_query(
        fresh_pg_database: str) -> None:
    store = PostgresStore(fresh_pg_database, pool_size=1)
    await store.start()
    watcher = await asyncpg.connect(fresh_pg_database)
    try:
        [row] = await store.fetch("SELECT pg_backend_pid() AS pid, 'the read' AS marker")

        last = await watcher.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1",
                                      row["pid"])
    finally:
        await watcher.close()
        await store.close()

    assert "the read" in last and "RESET ALL" not in last


async def test_a_transaction_left_open_is_still_rolled_back_on_release(
        fresh_pg_database: str) -> None:
    store = PostgresStore(fresh_pg_database, pool_size=1)
    await store.start()
    try:
        async with store.pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE left_open (x int)")

        [row] = await store.fetch("SELECT to_regclass('left_open') IS NULL AS gone")
    finally:
        await store.close()

    assert row["gone"] is True


async def test_a_connection_that_saw_an_error_is_closed_not_handed_to_the_next_read(
        fresh_pg_database: str) -> None:
    store = PostgresStore(fresh_pg_database, pool_size=1)
    await store.start()
    try:
        with pytest.raises(asyncpg.PostgresError):
            async with store.connection() as conn:
                failed_on = await conn.fetchval("SELECT pg_backend_pid()")
                await conn.execute("SELECT no_such_column FROM no_such_table")

        [row] = await store.fetch("SELECT pg_backend_pid() AS pid")
    finally:
        await store.close()

    assert row["pid"] != failed_on
