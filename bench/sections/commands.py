"""Commands: throughput and latency over HTTP at several client counts on durable PostgreSQL
(fsync and synchronous commit on: the headline), beside the same load on the run's other
server when that one does not flush (labelled fsync off), the plain eventsourcing loop, the
raw commit rates and the HTTP floor; then the no-lost-acknowledgement check."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from bench.baselines import raw_single_row_commits, run_plain_loop
from bench.context import BenchContext
from bench.environment import postgres_settings, postmaster_pid
from bench.httpclient import get_request
from bench.infra import fresh_database
from bench.loadgen import HOST, HttpExecutor
from bench.mix import Workload, World
from bench.procstat import CpuMeter
from bench.report import Figure
from bench.server import ApiShape, start_api
from bench.stats import Target
from bench.verify import check_acks, commits_between, max_position

SHARED_MACHINE_CORES = 0.25
"""CPU of other processes above which a figure is flagged as taken on a shared machine."""
THROUGHPUT_TARGET = Target(3000, "at_least")
FLOOR_SHARE_TARGET = Target(60, "at_least")
"""Commands per second at the target level as a share (%) of the same run's HTTP floor."""
P99_TARGET_MS = Target(25, "at_most")
NO_LOSS = Target(0, "at_most")
DURABLE = "durable PostgreSQL"
FSYNC_OFF = "PostgreSQL with fsync off"


async def durable_server(ctx: BenchContext) -> str:
    """The durable PostgreSQL of this run (its settings go into the report once)."""
    dsn = await ctx.servers.ensure_durable_postgres()
    if "postgres_durable" not in ctx.report.environment:
        ctx.report.environment["postgres_durable"] = await postgres_settings(dsn)
        ctx.results["durable_postmaster_pid"] = await postmaster_pid(dsn)
    return dsn


def postmaster_of(ctx: BenchContext, dsn: str) -> int | None:
    """The postmaster whose CPU counts for PostgreSQL while `dsn` is measured."""
    durable = ctx.servers.durable_pg_dsn
    if durable is not None and urlsplit(dsn).netloc == urlsplit(durable).netloc:
        found: int | None = ctx.results.get("durable_postmaster_pid")
        return found
    return ctx.results.get("postmaster_pid")


async def run(ctx: BenchContext) -> None:
    config = ctx.config
    durable = await durable_server(ctx)
    fast = ctx.servers.ensure_postgres()
    async with fresh_database(durable, "commands", keep=config.keep_data) as dsn:
        http = await http_levels(ctx, dsn)
    other = config.api.other()
    async with fresh_database(durable, "other_shape", keep=config.keep_data) as dsn:
        say(f"baseline: the API as {other.label}, {config.target_clients} clients")
        http["other_shape"] = await other_shape_level(ctx, dsn, other)
    if fast != durable:
        async with fresh_database(fast, "fsync_off", keep=config.keep_data) as dsn:
            say(f"beside it: {config.api.label} on {FSYNC_OFF}, {config.target_clients} "
                "clients")
            http["fsync_off"] = await other_shape_level(ctx, dsn, config.api, repeats=1)
    baselines: dict[str, Any] = {}
    for label, cached in (("plain_cached", True), ("plain_uncached", False)):
        async with fresh_database(durable, label, keep=config.keep_data) as dsn:
            say(f"baseline: plain eventsourcing loop ({label}), {config.duration:.0f}s")
            baselines[label] = await asyncio.to_thread(
                run_plain_loop, dsn, ctx.master_key, config.duration, cached=cached)
    servers = [("raw_single_row", durable)] + ([("raw_single_row_fsync_off", fast)]
                                               if fast != durable else [])
    for label, server in servers:
        async with fresh_database(server, "raw", keep=config.keep_data) as dsn:
            say(f"baseline: raw asyncpg single-row commits, 32 connections, "
                f"{config.duration:.0f}s ({DURABLE if server == durable else FSYNC_OFF})")
            baselines[label] = await raw_single_row_commits(dsn, config.duration)
    ctx.report.details["commands"] = {"http": http, "baselines": baselines}
    add_figures(ctx, http, baselines)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def http_levels(ctx: BenchContext, dsn: str) -> dict[str, Any]:
    """Start the API, create the world, run each client level, check every acknowledgement."""
    config = ctx.config
    api = await start_api(ctx.api_env(dsn), config.api)
    executor = HttpExecutor(api.port, ctx.issuer)
    levels = []
    try:
        world = World.new(max(config.clients))
        await executor.setup(world)
        workload = Workload(world)
        states = [workload.client(i) for i in range(max(config.clients))]
        for clients in config.clients:
            say(f"HTTP commands: {clients} clients, {config.warmup:.0f}s warm-up + "
                f"{config.duration:.0f}s")
            if clients == config.target_clients:
                levels.append(await _median_level(ctx, api.pid, dsn, executor, workload,
                                                  states[:clients]))
            else:
                levels.append(await _level(ctx, api.pid, dsn, executor, workload,
                                           states[:clients]))
        say(f"baseline: GET /health/live, {config.target_clients} clients")
        floor = await executor.run_fixed(get_request(HOST, api.port, "/health/live"),
                                         config.target_clients, config.duration, config.warmup)
        rss, rss_each, pss = api.peak_rss_mb(), api.rss_by_process(), api.peak_pss_mb()
    finally:
        api.stop()
    ctx.results["api_rss_mb"] = rss
    ctx.results["api_rss_each_mb"] = rss_each
    ctx.results["api_pss_mb"] = pss
    ctx.results["api_rss_during"] = (f"the command load at {', '.join(map(str, config.clients))}"
                                     " clients")
    check = await check_acks(dsn, executor.acks)
    return {"api_command": " ".join(api.command[:2] + api.command[6:]), "levels": levels,
            "http_floor": floor.as_json(),
            "ack_check": check.as_json(), "api_peak_rss_mb": rss}


async def _level(ctx: BenchContext, api_pid: int, dsn: str, executor: HttpExecutor,
                 workload: Workload, states: list[Any]) -> dict[str, Any]:
    config = ctx.config
    before, acks_before = await max_position(dsn), len(executor.acks)
    meter = CpuMeter(api_pid, postmaster_of(ctx, dsn))
    result = await executor.run_level(workload, states, config.duration, config.warmup)
    cores = meter.cores()
    ctx.shared_machine(cores)
    events, commits = await commits_between(dsn, before, await max_position(dsn))
    commands = len(executor.acks) - acks_before
    return {**result.as_json(), "cores": cores, "events_written": events,
            "write_transactions": commits,
            "commands_per_commit": round(commands / commits, 2) if commits else None}


async def _median_level(ctx: BenchContext, api_pid: int, dsn: str, executor: HttpExecutor,
                        workload: Workload, states: list[Any], *,
                        repeats: int | None = None) -> dict[str, Any]:
    """The level run `config.repeats` times back to back: this machine's speed drifts by
    about 15% between minutes, so one run can mislead. The median run is the figure."""
    runs = [await _level(ctx, api_pid, dsn, executor, workload, states)
            for _ in range(repeats or ctx.config.repeats)]
    ranked = sorted(runs, key=lambda r: r["commands_per_s"])
    median = ranked[len(ranked) // 2]
    median["runs"] = [{"commands_per_s": r["commands_per_s"], "p99_ms": r["p99_ms"]}
                      for r in runs]
    return median


def runs_text(level: dict[str, Any]) -> str:
    runs = level.get("runs") or []
    if len(runs) < 2:
        return ""
    return (f"median of {len(runs)} runs: " + ", ".join(
        f"{r['commands_per_s']:,.0f}/s (p99 {r['p99_ms']:.1f} ms)" for r in runs))


async def other_shape_level(ctx: BenchContext, dsn: str, shape: ApiShape, *,
                            repeats: int | None = None) -> dict[str, Any]:
    """The same load at the target level on the API in `shape` (its other shape, or the
    same on another server)."""
    config = ctx.config
    api = await start_api(ctx.api_env(dsn), shape)
    executor = HttpExecutor(api.port, ctx.issuer)
    try:
        world = World.new(config.target_clients)
        await executor.setup(world)
        workload = Workload(world)
        states = [workload.client(i) for i in range(config.target_clients)]
        level = await _median_level(ctx, api.pid, dsn, executor, workload, states,
                                    repeats=repeats)
        level["api_peak_rss_mb"] = api.peak_rss_mb()
        level["api_peak_pss_mb"] = api.peak_pss_mb()
        level["shape"] = shape.label
        if shape != ctx.config.api:
            ctx.results["api_other_shape"] = (shape, level["api_peak_rss_mb"],
                                              api.rss_by_process(), level["api_peak_pss_mb"])
        return level
    finally:
        api.stop()


def diagnosis(level: dict[str, Any]) -> str:
    """Where the cores went during a level, and what that says about the bottleneck."""
    cores = level["cores"]
    nproc = os.cpu_count() or 1
    parts = ", ".join(f"{k.removeprefix('api_').replace('_', ' ')} {v}"
                      for k, v in cores.items() if k.startswith("api_"))
    api = f"{cores['api']} ({parts})" if parts else f"{cores['api']}"
    text = (f"cores busy: API {api}, PostgreSQL {cores['postgres']}, load generator "
            f"{cores['bench_process']}, other processes {cores['other_processes']}, whole "
            f"machine {cores['machine']} of {nproc}; "
            f"{level['commands_per_commit']} commands per commit")
    if cores["other_processes"] >= SHARED_MACHINE_CORES:
        text += (f"; other work on the machine took {cores['other_processes']} cores, so "
                 "this figure is lower than the machine gives when idle")
    elif "api_writer" in cores:
        text += ("; one writer process runs every command in order, one batch per store "
                 "round trip; HTTP workers and the supervising process (projections, policies) "
                 "run beside it")
    elif cores["api"] >= 0.85:
        text += ("; the API process is CPU-bound on about one core (one Python interpreter: "
                 "event loop, request parsing, validation and the writer thread share the GIL)")
    elif cores["machine"] >= 0.9 * nproc:
        text += "; the machine's cores are saturated (server, database and load share them)"
    non_ok = {k: v for k, v in level["statuses"].items() if k != "200"}
    if non_ok:
        text += f"; non-200 answers: {non_ok}"
    return text


def add_figures(ctx: BenchContext, http: dict[str, Any], baselines: dict[str, Any]) -> None:
    report, target_clients = ctx.report, ctx.config.target_clients
    cached, uncached = baselines["plain_cached"], baselines["plain_uncached"]
    raw, raw_fast = baselines["raw_single_row"], baselines.get("raw_single_row_fsync_off")
    floor = http["http_floor"]
    rate_baselines = [f"raw durable commits, 1 row/commit x32: {raw['per_s']:,.0f}/s",
                      f"GET /health/live x{floor['clients']}: {floor['commands_per_s']:,.0f}/s",
                      f"plain eventsourcing 1 thread: {cached['per_s']:,.0f}/s cached, "
                      f"{uncached['per_s']:,.0f}/s uncached"]
    other, fast = http.get("other_shape"), http.get("fsync_off")
    if other:
        rate_baselines.append(f"{other['shape']} x{other['clients']}: "
                              f"{other['commands_per_s']:,.0f}/s")
    if fast:
        rate_baselines.append(f"the same on {FSYNC_OFF} x{fast['clients']}: "
                              f"{fast['commands_per_s']:,.0f}/s")
    p99_baselines = [f"plain eventsourcing p99 {cached['p99_ms']:.2f} ms (cached)",
                     f"raw durable commit p99 {raw['p99_ms']:.2f} ms"]
    for level in http["levels"]:
        clients = level["clients"]
        at_target = clients == target_clients
        note = "; ".join(t for t in (runs_text(level), diagnosis(level)) if t)
        report.add(Figure("commands", f"HTTP commands/s, {plural(clients, 'client')}, "
                          f"{DURABLE}", level["commands_per_s"], "commands/s",
                          THROUGHPUT_TARGET if at_target else None, rate_baselines, note))
        if at_target:
            share = 100 * level["commands_per_s"] / floor["commands_per_s"]
            report.add(Figure("commands", f"HTTP commands/s, {plural(clients, 'client')}, as a "
                              "share of the HTTP floor", round(share, 1), "%",
                              FLOOR_SHARE_TARGET, [f"GET /health/live x{floor['clients']}: "
                                                   f"{floor['commands_per_s']:,.0f}/s"],
                              "both measured on the same API in this run"))
            beats = level["commands_per_s"] / raw["per_s"] if raw["per_s"] else None
            report.add(Figure("commands", f"HTTP commands/s, {plural(clients, 'client')}, "
                              "over raw durable single-row commits",
                              None if beats is None else round(beats, 2), "x", None,
                              [f"raw durable commits x32: {raw['per_s']:,.0f}/s"],
                              "the floor group commit beats: every command on its own "
                              "durable commit, from 32 connections"))
        report.add(Figure("commands", f"HTTP p50 latency, {plural(clients, 'client')}",
                          level["p50_ms"],
                          "ms", None, [f"plain eventsourcing p50 {cached['p50_ms']:.2f} ms"]))
        report.add(Figure("commands", f"HTTP p99 latency, {plural(clients, 'client')}",
                          level["p99_ms"],
                          "ms", P99_TARGET_MS if at_target else None, p99_baselines,
                          note if at_target else ""))
    check = http["ack_check"]
    report.add(Figure("commands", "acknowledged commands missing from the store",
                      check["missing"], "", NO_LOSS, [],
                      f"{check['acknowledged']:,} acknowledged commands looked up after the "
                      f"API stopped; {check['position_mismatches']} answered a position "
                      "before their event's"))
    if fast is not None:
        report.add(Figure("fsync off", f"HTTP commands/s, {plural(fast['clients'], 'client')}"
                          f", {FSYNC_OFF} (not durable)", fast["commands_per_s"],
                          "commands/s", None, [f"raw fsync-off commits x32: "
                                               f"{raw_fast['per_s']:,.0f}/s"] if raw_fast else [],
                          f"p50 {fast['p50_ms']:.1f} ms, p99 {fast['p99_ms']:.1f} ms; "
                          "commits wait for no disk flush, so this is no durable figure; "
                          + diagnosis(fast)))
    for data, what in ((cached, "plain eventsourcing loop, cached aggregates"),
                       (uncached, "plain eventsourcing loop, no aggregate cache")):
        report.add(Figure("baseline", f"{what}, 1 thread", data["per_s"], "commands/s", None,
                          [], f"p50 {data['p50_ms']:.2f} ms, p99 {data['p99_ms']:.2f} ms, "
                              f"{data['rejected']} rejected; same mix, one save per command, "
                              f"on {DURABLE}"))
    report.add(Figure("baseline", f"HTTP floor: GET /health/live, {floor['clients']} clients",
                      floor["commands_per_s"], "requests/s", None, [],
                      f"p50 {floor['p50_ms']:.2f} ms, p99 {floor['p99_ms']:.2f} ms; the same API "
                      "process answering a route that does no work: what uvicorn + FastAPI "
                      "cost alone"))
    if other is not None:
        report.add(Figure("baseline", f"the API as {other['shape']}, "
                          f"{plural(other['clients'], 'client')}", other["commands_per_s"],
                          "commands/s", None, [],
                          f"p50 {other['p50_ms']:.1f} ms, p99 {other['p99_ms']:.1f} ms, on "
                          f"{DURABLE}; " + "; ".join(
                              t for t in (runs_text(other), diagnosis(other)) if t)))
    for data, where in ((raw, DURABLE), (raw_fast, FSYNC_OFF)):
        if data is not None:
            report.add(Figure("baseline", f"raw asyncpg single-row INSERT+COMMIT, 32 "
                              f"connections, {where}", data["per_s"], "rows/s", None, [],
                              f"p50 {data['p50_ms']:.2f} ms, p99 {data['p99_ms']:.2f} ms"))
