"""The projection process for the lag measurement while `corridor project` is not on the
command line yet: `python -m services.bench.projector kafka|store`.

kafka: projections.worker.run_kafka_worker, the same worker `corridor project --from kafka`
runs. store (only when no Kafka worker exists): projections.runner.StoreRunner following the
store, woken by the store's NOTIFY; the report labels it as store-following, not Kafka.
Settings come from CORRIDOR_* variables; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Any

import asyncpg
import uvloop

from services.application import CorridorApplication
from services.settings import Settings

CHANNEL = f"{CorridorApplication.name.lower()}_events"  # eventsourcing NOTIFYs it on insert


async def follow_store(settings: Settings, stop: asyncio.Event) -> None:
    from projections.catalog import PROJECTIONS
    from projections.pg_store import PostgresStore
    from projections.runner import StoreRunner
    from projections.sources import PostgresEventSource, events_table

    assert settings.pg_dsn, "CORRIDOR_PG_DSN must be set"
    store = PostgresStore(settings.pg_dsn, settings.pg_schema)
    source = PostgresEventSource(settings.pg_dsn, events_table(settings))
    await store.start()
    runner = StoreRunner(store, source, PROJECTIONS)
    listener = await asyncpg.connect(settings.pg_dsn)

    def wake(*_: Any) -> None:
        runner.nudge()

    await listener.add_listener(CHANNEL, wake)
    try:
        await runner.run(stop)
    finally:
        with contextlib.suppress(Exception):
            await listener.close()
        await source.close()
        await store.close()


async def main(mode: str) -> None:
    settings = Settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if mode == "kafka":
        from projections.worker import run_kafka_worker

        await run_kafka_worker(settings, stop=stop)
    else:
        await follow_store(settings, stop)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1] if len(sys.argv) > 1 else "store"))
