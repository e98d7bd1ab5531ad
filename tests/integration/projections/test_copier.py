"""The rebuild's background COPY on a real PostgreSQL: rows arrive in order, whole; a COPY
that fails is reported to the rebuild instead of being lost on its thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from projections.copier import CopyThread, copy_connection


@pytest.fixture
async def table(fresh_pg_database: str) -> str:
    conn = await asyncpg.connect(fresh_pg_database)
    try:
        await conn.execute("CREATE TABLE copied (n bigint NOT NULL, label text)")
    finally:
        await conn.close()
    return fresh_pg_database


async def _rows(dsn: str) -> list[tuple[int, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch("SELECT n, label FROM copied ORDER BY n")]
    finally:
        await conn.close()


async def test_every_chunk_handed_over_is_stored_once_finish_returns(table: str) -> None:
    copier = CopyThread(table, "public", pending=1)  # a full queue makes load() wait
    for start in range(0, 1000, 100):
        await copier.load("copied", ("n", "label"),
                          [(n, f"row {n}") for n in range(start, start + 100)])

    await copier.finish()

    assert await _rows(table) == [(n, f"row {n}") for n in range(1000)]
    assert copier.rows == 1000


async def test_a_copy_that_fails_is_reported_by_finish_naming_the_cause(table: str) -> None:
    copier = CopyThread(table, "public")
    await copier.load("copied", ("n", "label"), [(1, "fine")])
    await copier.load("copied", ("n", "label"), [(None, "breaks the NOT NULL")])

    with pytest.raises(RuntimeError, match=r"copying rows out failed: .*null"):
        await copier.finish()
    assert await _rows(table) == [(1, "fine")]


async def test_after_a_failure_further_rows_are_refused_not_dropped(table: str) -> None:
    copier = CopyThread(table, "public")
    await copier.load("no_such_table", ("n",), [(1,)])
    with pytest.raises(RuntimeError, match="no_such_table"):
        await copier.finish()

    with pytest.raises(RuntimeError, match="copying rows out failed"):
        await copier.load("copied", ("n", "label"), [(2, "too late")])


async def test_times_copied_with_the_fast_encoder_read_back_as_asyncpg_writes_them(
        fresh_pg_database: str) -> None:
    kyiv = timezone(timedelta(hours=3))
    moments = [datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=UTC),
               datetime(2024, 3, 1, 11, 0, 0, 123456, tzinfo=kyiv),
               datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
               datetime(1970, 1, 1, tzinfo=UTC), datetime(2900, 6, 1, 12, tzinfo=UTC),
               datetime(2024, 3, 1, 8, 0)]  # naive: local time, as asyncpg takes it
    plain = await asyncpg.connect(fresh_pg_database)
    fast = await copy_connection(fresh_pg_database, "public")
    try:
        await plain.execute("CREATE TABLE times (n int, at timestamptz)")
        await plain.copy_records_to_table("times", records=list(enumerate(moments)))
        await fast.copy_records_to_table(
            "times", records=[(n + 100, m) for n, m in enumerate(moments)])

        rows = await plain.fetch("SELECT n, at FROM times ORDER BY n")
        read_by_fast = await fast.fetch("SELECT n, at FROM times ORDER BY n")
    finally:
        await fast.close()
        await plain.close()

    written = {r["n"]: r["at"] for r in rows}
    assert [written[n + 100] for n in range(len(moments))] == \
        [written[n] for n in range(len(moments))]
    assert [written[n] for n in range(5)] == moments[:5]
    assert [tuple(r) for r in read_by_fast] == [tuple(r) for r in rows]
