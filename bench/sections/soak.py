"""Soak: the API's memory over a long paced run (`corridor bench --only soak`).

The simulated network's day (bench.mix) is sent at a fixed rate (500 commands/s for 30
minutes by default) to `corridor serve --writer-process` on PostgreSQL with a told clock:
every two seconds the admin moves the server's time on (an hour a minute), so verifications
run out, seat holds lapse and windows close, while cases are opened, closed and reopened and
holds are taken and released; what left the live network is counted in the store after.
The summed PSS of the API's processes is sampled every two seconds; the figures are its
peak and its least-squares slope after the start.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import asyncpg

from bench.context import BenchContext
from bench.infra import fresh_database
from bench.loadgen import HttpExecutor
from bench.mix import Workload, World
from bench.paced import (
    MemoryFigures,
    MemoryRecorder,
    MemorySample,
    SimulatedClock,
    memory_figures,
    run_paced,
)
from bench.procstat import CpuMeter
from bench.report import Figure
from bench.sections.workers import store_bytes_per_event
from bench.stats import Target
from bench.verify import EVENTS_TABLE, check_acks

PEAK_TARGET = Target(250, "at_most")
SLOPE_TARGET = Target(1.0, "at_most")
NO_LOSS = Target(0, "at_most")
SOAK_CLIENTS = 64
"""Connections the paced load spreads its commands over (enough for the rate even when
answers take 100 ms on a busy machine)."""
CLOCK_SPEED = 60.0
"""Simulated seconds told per second of the soak: an hour a minute, so that in 30 minutes
routes and corridors (2 h) expire many times, shelters (6 h) and transports (12 h) a few
times, and unconfirmed seat holds lapse. The network's own stories run ahead of it (they
move on whenever they have nothing to send) and read nothing back, so a clock told at their
pace would expire what they still count on faster than they could notice."""
SETTLE_SECONDS = 300.0
"""The start left out of the slope: imports, the world set up, caches and pools filling."""


def settle_seconds(total_seconds: float) -> float:
    """Five minutes, or a third of a shorter run (so a short run still has a slope)."""
    return min(SETTLE_SECONDS, total_seconds / 3)


async def run(ctx: BenchContext) -> None:
    config = ctx.config
    seconds = config.soak_minutes * 60
    async with fresh_database(ctx.servers.ensure_postgres(), "soak",
                              keep=config.keep_data) as dsn:
        measured = await soak(ctx, dsn, seconds)
    ctx.report.details["soak"] = measured["details"]
    add_figures(ctx, measured["figures"], measured["details"])


async def soak(ctx: BenchContext, dsn: str, seconds: float) -> dict[str, Any]:
    import services.commands.catalog  # noqa: F401  (the mix offers what the server takes)
    from bench.server import start_api
    from services.simulate.day import tick_command

    config = ctx.config
    api = await start_api(ctx.api_env(dsn, clock="told"), config.api)
    try:
        executor = HttpExecutor(api.port, ctx.issuer)
        world = World.new(SOAK_CLIENTS)
        await executor.setup(world)
        workload = Workload(world)
        states = [workload.client(i) for i in range(SOAK_CLIENTS)]
        traffic = world.traffic

        def simulated_now() -> datetime:
            return traffic.world.at(traffic.engine.now)

        say(f"soak: {config.soak_rate:.0f} commands/s for {seconds / 60:.1f} min, "
            f"{SOAK_CLIENTS} connections, the clock told {CLOCK_SPEED:.0f}x real time")
        recorder = MemoryRecorder(api.pid).start()
        meter = CpuMeter(api.pid, ctx.results.get("postmaster_pid"))
        try:
            result = await run_paced(executor, workload, states, config.soak_rate, seconds,
                                     tick=SimulatedClock(simulated_now, tick_command,
                                                         start=simulated_now(),
                                                         speed=CLOCK_SPEED))
        finally:
            samples = recorder.stop()
        cores = meter.cores()
        ctx.shared_machine(cores)
    finally:
        api.stop()
    check = await check_acks(dsn, executor.acks)
    happened = await lifecycle_events(dsn)
    size = await store_bytes_per_event(dsn)
    figures = memory_figures(samples, settle_seconds(seconds))
    details = {"load": result.as_json(), "cores": cores, "ack_check": check.as_json(),
               "api": config.api.label, "clock_speed": CLOCK_SPEED,
               "lifecycle_events": happened, "store_bytes_per_event": size,
               "memory": _memory_json(figures), "pss_mb_every_30s": _thinned(samples, 30.0)}
    return {"figures": figures, "details": details}


def _memory_json(figures: MemoryFigures) -> dict[str, Any]:
    return {"peak_mb": _round(figures.peak_mb), "settle_s": figures.settle_seconds,
            "slope_mb_per_min": _round(figures.slope_mb_per_min, 3),
            "settled_samples": figures.settled_samples,
            "first_settled_mb": _round(figures.first_settled_mb),
            "last_mb": _round(figures.last_mb),
            "peak_by_role_mb": {k: round(v, 1) for k, v in figures.peak_by_role.items()}}


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _thinned(samples: list[MemorySample], every: float) -> list[tuple[float, float]]:
    """(seconds, MB) about every `every` seconds, for the report's details."""
    kept: list[tuple[float, float]] = []
    for s in samples:
        if not kept or s.at - kept[-1][0] >= every:
            kept.append((round(s.at, 1), round(s.total_mb, 1)))
    return kept


def add_figures(ctx: BenchContext, figures: MemoryFigures, details: dict[str, Any]) -> None:
    load, memory = details["load"], details["memory"]
    minutes = load["seconds"] / 60
    roles = ", ".join(f"{role.replace('_', ' ')} {mb:.0f}"
                      for role, mb in sorted(memory["peak_by_role_mb"].items()))
    context = (f"{load['acknowledged']:,} commands acknowledged in {minutes:.1f} min at "
               f"{load['commands_per_s']:,.0f}/s (target rate {load['target_rate']:,.0f}/s, "
               f"p99 {load['p99_ms']:.1f} ms), clock told {details['clock_speed']:.0f}x "
               f"real time; {_lifecycle_text(details['lifecycle_events'])}")
    ctx.report.add(Figure(
        "soak", "API peak summed PSS over the soak", figures.peak_mb, "MB", PEAK_TARGET,
        [context], f"{details['api']}; PSS summed over its processes, sampled every 2 s; "
                   f"peak per role (MB): {roles}"))
    settle_min = figures.settle_seconds / 60
    ctx.report.add(Figure(
        "soak", f"API PSS growth after the first {settle_min:.0f} min (least squares)",
        figures.slope_mb_per_min, "MB/min", SLOPE_TARGET, [context],
        f"{figures.settled_samples} samples; {memory['first_settled_mb']} MB at "
        f"{settle_min:.0f} min, {memory['last_mb']} MB at the end"))
    ctx.report.add(Figure(
        "soak", "soak: commands answered per second (paced)",
        round(load["sent"] / load["seconds"], 1), "commands/s", None, [],
        f"{load['sent']:,} sent, {load['late_over_1s']:,} more than 1 s late; answers "
        f"{load['statuses']}; cores busy: {details['cores']}"))
    size = details["store_bytes_per_event"]
    ctx.report.add(Figure(
        "soak", "soak: store on disk per event (whole database, read models included)",
        size["database"], "bytes", None, [],
        f"events table {size['events_table']:,.0f} B and hash chain "
        f"{size['event_chain']:,.0f} B per event with their indexes; besides them every "
        "command's receipt, data keys, snapshots and the read models, all as the API wrote "
        "them"))
    check = details["ack_check"]
    ctx.report.add(Figure(
        "soak", "soak: acknowledged commands missing from the store", check["missing"], "",
        NO_LOSS, [], f"{check['acknowledged']:,} acknowledged commands looked up after the "
                     "API stopped"))


LIFECYCLE = ("CaseClosed", "HoldReleased", "HoldLapsed", "VerificationExpired",
             "ResourceDestroyed", "ResourceRetracted", "CaseReopened")
"""Events that take something out of what is live (and one that brings a case back)."""


async def lifecycle_events(dsn: str) -> dict[str, int]:
    """How many of each LIFECYCLE event the soak stored: what left the live network."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f"SELECT split_part(topic, '.', 3) AS name, count(*) AS n FROM {EVENTS_TABLE} "
            "WHERE split_part(topic, '.', 3) = ANY($1::text[]) GROUP BY 1", list(LIFECYCLE))
    finally:
        await conn.close()
    return {r["name"]: int(r["n"]) for r in rows}


def _lifecycle_text(happened: dict[str, int]) -> str:
    return ", ".join(f"{happened.get(name, 0):,} {name}" for name in LIFECYCLE)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
