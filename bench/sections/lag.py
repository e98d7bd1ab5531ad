"""Projection lag: from a command's 200 answer to the case board row showing it, under the
command load, through the projection path that exists (Kafka worker, else the store-following
runner in its own process, labelled as such)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.context import BenchContext
from bench.infra import fresh_database
from bench.lagprobe import LagProbe, live_board
from bench.loadgen import HttpExecutor
from bench.mix import Workload, World
from bench.processes import Helper, start_helper
from bench.procstat import CpuMeter
from bench.report import Figure
from bench.server import start_api
from bench.stats import Target, summarize

LAG_TARGET = Target(250, "at_most")
STORE_RUNNER = "store-following runner (projections.runner.StoreRunner, own process)"


async def run(ctx: BenchContext) -> None:
    async with contextlib.AsyncExitStack() as stack:
        dsn = await stack.enter_async_context(fresh_database(
            ctx.servers.ensure_postgres(), "lag", keep=ctx.config.keep_data))
        label, helpers, api_settings = await stack.enter_async_context(
            projection_path(ctx, dsn))
        measured = await measure(ctx, dsn, helpers, api_settings)
    measured["path"] = label
    ctx.servers.stop_kafka()  # nothing after this needs it; its JVM would only take CPU
    ctx.report.details["lag"] = measured
    add_figures(ctx, measured)


EventPath = tuple[str, list[Helper], dict[str, str]]
"""(label, helper processes, settings for the API) of a way events reach the board."""


def kafka_worker_command() -> tuple[list[str], str] | None:
    """`corridor project --from kafka` (deploy/compose.yaml's projection worker); while the
    CLI does not offer it yet, the same worker function through bench.projector;
    None when this checkout has no Kafka projection worker at all."""
    if importlib.util.find_spec("services.kafka.projection_worker") is None:
        return None
    corridor = str(Path(sys.executable).with_name("corridor"))
    probe = subprocess.run([corridor, "project", "--help"], capture_output=True, text=True,
                           timeout=60, check=False)
    if probe.returncode == 0 and "kafka" in probe.stdout:
        return [corridor, "project", "--from", "kafka"], "corridor project --from kafka"
    return ([sys.executable, "-m", "bench.projector", "kafka"],
            "services.kafka.projection_worker.run_kafka_worker")


@contextlib.asynccontextmanager
async def projection_path(ctx: BenchContext, dsn: str) -> AsyncIterator[EventPath]:
    """Start the processes that carry events to the board: the relay and a Kafka projection
    worker when the worker exists, else the store-following runner (labelled as such)."""
    worker = kafka_worker_command()
    if worker is not None:
        helpers, settings = await start_kafka_path(ctx, dsn, worker[0])
        label = f"Kafka: `corridor relay` and {worker[1]} in their own processes"
    else:
        settings = {"projections_in_process": "false"}
        helpers = [start_helper("projector", [sys.executable, "-m", "bench.projector",
                                              "store"], ctx.api_env(dsn, **settings))]
        label = STORE_RUNNER
        ctx.note("Projection lag was measured through the store-following runner in its own "
                 "process (woken by the store's NOTIFY), not through Kafka: this checkout has "
                 "no Kafka projection worker (`corridor project --from kafka`) yet.")
    try:
        yield label, helpers, settings
    finally:
        for helper in helpers:
            helper.stop()


async def start_kafka_path(ctx: BenchContext, dsn: str,
                           worker: list[str]) -> tuple[list[Helper], dict[str, str]]:
    """Topics with a prefix of this run's own, then the relay and the projection worker."""
    from services.kafka.topics import ensure_topics
    from services.settings import Settings

    kafka = ctx.servers.ensure_kafka()
    settings = {"kafka_topic_prefix": f"bench{uuid.uuid4().hex[:8]}.",
                "projections_in_process": "false"}
    env = ctx.api_env(dsn, kafka=kafka, **settings)
    await ensure_topics(Settings(kafka_bootstrap=kafka,
                                 kafka_topic_prefix=settings["kafka_topic_prefix"]))
    corridor = str(Path(sys.executable).with_name("corridor"))
    helpers = [start_helper("relay", [corridor, "relay"], env),
               start_helper("projection worker", worker, env)]
    return helpers, {**settings, "kafka_bootstrap": kafka}


async def measure(ctx: BenchContext, dsn: str, helpers: list[Helper],
                  api_settings: dict[str, str]) -> dict[str, Any]:
    config = ctx.config
    board = await live_board(dsn)
    api = await start_api(ctx.api_env(dsn, **api_settings), config.api)
    try:
        executor = HttpExecutor(api.port, ctx.issuer)
        world = World.new(config.lag_clients)
        await executor.setup(world)
        workload = Workload(world, seed=uuid.uuid4().int % 1000)
        states = [workload.client(i) for i in range(config.lag_clients)]
        probe = LagProbe(dsn, board)
        probe.since = time.perf_counter() + config.warmup
        polling = asyncio.create_task(probe.run())
        meter = CpuMeter(api.pid, ctx.results.get("postmaster_pid"),
                         [(h.label, h.pid) for h in helpers])
        say(f"projection lag: {config.lag_clients} clients, {config.duration:.0f}s")
        result = await executor.run_level(workload, states, config.duration, config.warmup,
                                          on_ack=probe.acknowledged)
        never = await probe.drain(timeout=30.0)
        await polling
        cores = meter.cores()
        ctx.shared_machine(cores)
        for helper in helpers:
            helper.check_alive()
        ctx.results["worker_rss_mb"] = {h.label: h.peak_rss_mb() for h in helpers}
        ctx.results.setdefault("api_rss_mb", api.peak_rss_mb())
    finally:
        api.stop()
    lag = summarize(probe.lags, config.duration)
    return {"samples": lag.count, "p50_ms": round(lag.p50 * 1000, 2),
            "p99_ms": round(lag.p99 * 1000, 2), "max_ms": round(lag.max * 1000, 2),
            "never_visible": never, "polls": probe.polls, "load": result.as_json(),
            "cores": cores}


def add_figures(ctx: BenchContext, measured: dict[str, Any]) -> None:
    load, cores = measured["load"], measured["cores"]
    context = (f"under {load['clients']} clients at {load['commands_per_s']:,.0f} commands/s "
               f"(p99 {load['p99_ms']:.1f} ms); via {measured['path']}")
    note = (f"{measured['samples']:,} acknowledged case commands timed to their board row "
            f"(polled every 5 ms); {measured['never_visible']} never showed within 30 s; "
            f"cores busy: {helper_cores(cores)}")
    ctx.report.add(Figure("lag", "projection lag p50 (ack to board row)", measured["p50_ms"],
                          "ms", None, [context]))
    ctx.report.add(Figure("lag", "projection lag p99 (ack to board row)", measured["p99_ms"],
                          "ms", LAG_TARGET, [context], note))


def helper_cores(cores: dict[str, float]) -> str:
    named = {"api": "API", "postgres": "PostgreSQL", "bench_process": "load generator",
             "other_processes": "other processes"}
    return ", ".join(f"{named.get(k, k)} {v}" for k, v in cores.items() if k != "machine")


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
