"""Benchmark: rebuild every read model from a PostgreSQL store into PostgreSQL.

Not a test (performance targets live in benchmarks): run it by hand against a server,

    python tests/integration/projections/bench_rebuild.py --dsn postgresql://.../postgres

It writes a realistic day through the domain (cases, journeys, flags, shifts, resources),
copies those events under fresh stream ids until the store holds --events events, then
times `rebuild` (the code behind `corridor rebuild`) and prints events per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).parent))

from projection_scenario import Scenario

from projections.catalog import PROJECTIONS
from projections.config import SourceConfig, StoreConfig
from projections.parallel import ProcessFill
from projections.rebuild import rebuild
from services.application import CorridorApplication
from services.settings import Settings

DATABASE = "corridor_bench_rebuild"


async def fresh_database(admin_dsn: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()
    return admin_dsn.rsplit("/", 1)[0] + f"/{DATABASE}"


def write_day(settings: Settings, cases: int) -> int:
    app = CorridorApplication(settings, os.urandom(32))
    try:
        scenario = Scenario(app)
        scenario.staff(20)
        scenario.report_resources(12)
        scenario.shifts()
        for _ in range(cases // 100):
            scenario.cases_round(100)
        return scenario.last_position
    finally:
        app.close()


async def multiply(dsn: str, day: int, wanted: int) -> int:
    """Copy the day's events under new stream ids (md5 of id and copy number)."""
    conn = await asyncpg.connect(dsn)
    try:
        copy = 0
        while await conn.fetchval("SELECT COUNT(*) FROM corridor_events") < wanted:
            copy += 1
            await conn.execute(
                "INSERT INTO corridor_events (originator_id, originator_version, topic, state) "
                f"SELECT md5(originator_id::text || '{copy}')::uuid, originator_version, topic, "
                f"state FROM corridor_events WHERE notification_id <= {day} "
                "ORDER BY notification_id")
        return int(await conn.fetchval("SELECT COUNT(*) FROM corridor_events"))
    finally:
        await conn.close()


async def main(admin_dsn: str, events: int, processes: int) -> None:
    dsn = await fresh_database(admin_dsn)
    settings = Settings(store="postgres", pg_dsn=dsn, data_dir=Path("/tmp"))
    day = await asyncio.to_thread(write_day, settings, 3000)
    total = await multiply(dsn, day, events)
    store_config, source_config = StoreConfig.of(settings), SourceConfig.of(settings)
    store, source = store_config.open(), source_config.open()
    await store.start()
    try:
        parallel = ProcessFill(store_config, source_config, processes) if processes > 1 else None
        started = time.perf_counter()
        report = await rebuild(store, source, PROJECTIONS, parallel=parallel)
        seconds = time.perf_counter() - started
    finally:
        await source.close()
        await store.close()
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in report.phases.items())
    print(f"{total:,} events rebuilt in {seconds:.1f}s: {report.events / seconds:,.0f} "
          f"events/s with {processes} process(es) ({phases}); load average "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", default=os.environ.get("CORRIDOR_TEST_PG_DSN"),
                        help="a server's DSN (a database is created beside it)")
    parser.add_argument("--events", type=int, default=800_000)
    parser.add_argument("--processes", type=int, default=1)
    arguments = parser.parse_args()
    if not arguments.dsn:
        parser.error("--dsn or CORRIDOR_TEST_PG_DSN is required")
    asyncio.run(main(arguments.dsn, arguments.events, arguments.processes))
