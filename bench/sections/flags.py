"""Recall-to-flag: from a `mark-unsafe` answer until `GET /board` shows the flag on the case
relying on the resource, and a new case from its `open` answer until its board row shows, on
both deployments in the same run: `corridor serve --writer-process` on PostgreSQL (projections
and policies in its supervising process) and `corridor serve` as one process on the embedded
SQLite default. Each is timed idle and under a light command load."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bench.context import BenchContext
from bench.flagprobe import Cast, FlagTrials, Timings, describe
from bench.infra import fresh_database
from bench.loadgen import HttpExecutor, LevelResult
from bench.mix import ClientState, Workload, World
from bench.procstat import CpuMeter
from bench.report import Figure
from bench.sections.lag import helper_cores
from bench.server import ApiShape, start_api
from bench.stats import Target, percentile

FLAG_TARGET = Target(250, "at_most")
NEW_CASE_TARGET = Target(100, "at_most")
WARM_UP_TRIALS = 1
"""Untimed trials on a freshly started API before the timed ones."""
LOAD_CHUNK_SECONDS = 2.0
"""The background load runs in closed-loop chunks this long until the trials are done."""


@dataclass(frozen=True)
class Deployment:
    """A way the API is deployed, and which process applies the board projection there."""

    key: str
    label: str
    shape: ApiShape
    path: str
    store: str = "postgres"

    @property
    def postgres(self) -> bool:
        return self.store == "postgres"


WRITER_PROCESS = Deployment(
    "writer_process_postgres", "`corridor serve --writer-process` on PostgreSQL",
    ApiShape(writer_process=True),
    "the supervising process of `corridor serve --writer-process` (its in-process projection "
    "runner applies the board; the recall policy that raises the flag runs there too)")
EMBEDDED = Deployment(
    "embedded_default_sqlite", "`corridor serve` on SQLite as it runs by default",
    ApiShape.default(),
    "the supervising process of `corridor serve` (its projection runner and the recall "
    "policy, woken by the writer process's commits to the SQLite file)", store="sqlite")
ONE_PROCESS = Deployment(
    "one_process_sqlite", "`corridor serve --one-process` on SQLite",
    ApiShape(writer_process=False),
    "the one `corridor serve` process (its in-process projection runner and policies)",
    store="sqlite")
DEPLOYMENTS = (WRITER_PROCESS, EMBEDDED, ONE_PROCESS)


async def run(ctx: BenchContext) -> None:
    measured: dict[str, Any] = {}
    for deployment in DEPLOYMENTS:
        async with deployment_env(ctx, deployment) as env:
            measured[deployment.key] = await measure(ctx, deployment, env)
    ctx.report.details["flags"] = measured
    for deployment in DEPLOYMENTS:
        add_figures(ctx, deployment, measured[deployment.key])


@contextlib.asynccontextmanager
async def deployment_env(ctx: BenchContext, deployment: Deployment,
                         ) -> AsyncIterator[dict[str, str]]:
    """CORRIDOR_* settings on a fresh store: a new PostgreSQL database, or a new data
    directory for the embedded SQLite store (both removed afterwards unless --keep-data)."""
    if deployment.postgres:
        async with fresh_database(ctx.servers.ensure_postgres(), "flags",
                                  keep=ctx.config.keep_data) as dsn:
            yield ctx.api_env(dsn)
        return
    data_dir = tempfile.mkdtemp(prefix="corridor-bench-flags-")
    try:
        yield {"CORRIDOR_STORE": "sqlite", "CORRIDOR_DATA_DIR": data_dir,
               "CORRIDOR_MASTER_KEY": ctx.master_key, "CORRIDOR_AUTH_SECRET": ctx.auth_secret,
               "CORRIDOR_KAFKA_BOOTSTRAP": ""}
    finally:
        if ctx.config.keep_data:
            say(f"kept the SQLite data directory {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


async def measure(ctx: BenchContext, deployment: Deployment,
                  env: dict[str, str]) -> dict[str, Any]:
    config = ctx.config
    api = await start_api(env, deployment.shape)
    trials = FlagTrials(api.port, ctx.issuer, Cast())
    try:
        await trials.setup()
        executor = HttpExecutor(api.port, ctx.issuer)
        world = World.new(config.flag_clients)
        await executor.setup(world)
        await run_trials(trials, WARM_UP_TRIALS)  # first reads, first statements: not timed
        say(f"recall-to-flag on {deployment.label}: {config.flag_trials} trials idle")
        idle = await run_trials(trials, config.flag_trials)
        say(f"recall-to-flag on {deployment.label}: {config.flag_trials} trials under "
            f"{config.flag_clients} clients")
        workload = Workload(world, seed=uuid.uuid4().int % 1000)
        states = [workload.client(i) for i in range(config.flag_clients)]
        postgres = ctx.results.get("postmaster_pid") if deployment.postgres else None
        meter = CpuMeter(api.pid, postgres)
        stop = asyncio.Event()
        load = asyncio.create_task(background(executor, workload, states, stop,
                                              config.warmup))
        try:
            await asyncio.sleep(config.warmup)
            loaded = await run_trials(trials, config.flag_trials)
        finally:
            stop.set()
            chunks = await load
        cores = meter.cores()
        ctx.shared_machine(cores)
        api.check_alive()
    finally:
        await trials.close()
        api.stop()
    return {"deployment": deployment.label, "api_command": " ".join(api.command[:2]
                                                                    + api.command[6:]),
            "path": deployment.path, "warm_up_trials": WARM_UP_TRIALS, "idle": idle,
            "loaded": loaded,
            "load": merge(chunks, config.flag_clients).as_json(), "cores": cores,
            "board_get_p50_ms": round(percentile(trials.board_get, 0.5) * 1000, 2),
            "board_get_p99_ms": round(percentile(trials.board_get, 0.99) * 1000, 2)}


async def run_trials(trials: FlagTrials, count: int) -> dict[str, Any]:
    """`count` trials in a row; the new-case and recall-to-flag figures of them."""
    new_case, flag = Timings(), Timings()
    for _ in range(count):
        await trials.trial(new_case, flag)
    return {"new_case": new_case.as_json(), "flag": flag.as_json()}


async def background(executor: HttpExecutor, workload: Workload, states: list[ClientState],
                     stop: asyncio.Event, warmup: float) -> list[LevelResult]:
    """The realistic command mix from len(states) clients, in chunks, until `stop`."""
    chunks = [await executor.run_level(workload, states, LOAD_CHUNK_SECONDS, warmup)]
    while not stop.is_set():
        chunks.append(await executor.run_level(workload, states, LOAD_CHUNK_SECONDS, 0.0))
    return chunks


def merge(chunks: list[LevelResult], clients: int) -> LevelResult:
    """The chunks of a background load as one level (their timed windows summed)."""
    merged = LevelResult(clients=clients, window=sum(c.window for c in chunks))
    for chunk in chunks:
        merged.latencies.extend(chunk.latencies)
        merged.statuses.update(chunk.statuses)
        merged.kinds.update(chunk.kinds)
        merged.rejections.extend(chunk.rejections[:5 - len(merged.rejections)])
    return merged


def add_figures(ctx: BenchContext, deployment: Deployment, measured: dict[str, Any]) -> None:
    load = measured["load"]
    store = "PostgreSQL" if deployment.postgres else "SQLite"
    short = f"{deployment.shape.short} on {store}"
    context = (f"under {load['clients']} clients at {load['commands_per_s']:,.0f} commands/s "
               f"(p99 {load['p99_ms']:.1f} ms); projection applied by {measured['path']}")
    method = (f"{deployment.label}; a fresh verified transport, case and board region per "
              f"trial, {WARM_UP_TRIALS} untimed trial first; GET /board?region=... polled "
              f"every 5 ms (a poll answered in p50 {measured['board_get_p50_ms']:.1f} ms, p99 "
              f"{measured['board_get_p99_ms']:.1f} ms); cores busy under load: "
              f"{helper_cores(measured['cores'])}")
    for key, what, target, extra in (
            ("flag", "recall-to-flag {p} (mark-unsafe answer to board flag)", FLAG_TARGET, ""),
            ("new_case", "new case on board {p} (open answer to board row)", NEW_CASE_TARGET,
             "; the target is stated for the in-process deployment (issue 26) and applied to "
             "every deployment here")):
        loaded, idle = measured["loaded"][key], measured["idle"][key]
        ctx.report.add(Figure("flags", f"{what.format(p='p50')}, {short}", loaded["p50_ms"],
                              "ms", None, [context]))
        ctx.report.add(Figure(
            "flags", f"{what.format(p='p99')}, {short}", loaded["p99_ms"], "ms", target,
            [f"under load: {describe(loaded)}", f"idle: {describe(idle)}", context],
            f"{method}{extra}"))


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)

