"""The projection process for the lag measurement while `corridor project` is not on the
command line yet: `python -m bench.projector kafka|store`.

kafka: services.kafka.projection_worker.run_kafka_worker, the same worker `corridor project
--from kafka` runs. store (only when no Kafka worker exists): services.runtime.store_follower,
woken by the store's NOTIFY; the report labels it as store-following, not Kafka.
Settings come from CORRIDOR_* variables; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import uvloop

from services.settings import Settings


async def main(mode: str) -> None:
    settings = Settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if mode == "kafka":
        from services.kafka.projection_worker import run_kafka_worker

        await run_kafka_worker(settings, stop=stop)
    else:
        from services.runtime.store_follower import follow_store

        await follow_store(settings, stop)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1] if len(sys.argv) > 1 else "store"))
