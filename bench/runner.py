"""Run the selected sections in order, collect the report, always stop what was started."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import import_module

from bench.context import BenchConfig, BenchContext
from bench.environment import machine, postgres_settings, postmaster_pid
from bench.infra import Servers
from bench.report import SECTIONS, Figure, Report

Section = Callable[[BenchContext], Awaitable[None]]


def _section(name: str) -> Section:
    run: Section = import_module(f"bench.sections.{name}").run
    return run


def _parameters(config: BenchConfig) -> dict[str, object]:
    return {"sections": ",".join(config.sections), "clients": ",".join(map(str, config.clients)),
            "duration_s": config.duration, "warmup_s": config.warmup,
            "rebuild_events": config.rebuild_events, "store_events": config.store_events,
            "lag_clients": config.lag_clients, "flag_trials": config.flag_trials,
            "flag_clients": config.flag_clients, **_scale_parameters(config)}


def _scale_parameters(config: BenchConfig) -> dict[str, object]:
    """The soak's and the projection workers' options, when those sections run."""
    found: dict[str, object] = {}
    if "soak" in config.sections:
        found.update(soak_minutes=config.soak_minutes, soak_rate=config.soak_rate)
    if "workers" in config.sections:
        found["worker_events"] = config.worker_events
    return found


async def run(config: BenchConfig) -> tuple[Report, list[str]]:
    """Run the sections; returns the report and the names of sections that failed."""
    report = Report(started_at=datetime.now(UTC), environment=machine(),
                    parameters=_parameters(config))
    ctx = BenchContext(config=config, servers=Servers(), report=report)
    failed: list[str] = []
    try:
        async with ctx.cleanup:
            await _sections(ctx, failed)
    finally:
        ctx.servers.stop()
    report.notes.extend(method_notes(ctx))
    report.notes.extend(ctx.results.get("notes", []))
    return report, failed


def method_notes(ctx: BenchContext) -> list[str]:
    """How the figures were taken, so a reader can judge them."""
    config, pg = ctx.config, ctx.report.environment.get("postgres", {})
    notes = [
        f"Everything ran on this one machine: the API ({config.api.label}: uvicorn with "
        "uvloop and httptools; with --writer-process, an HTTP worker process hands every "
        "command to a writer process forked beside it, and the supervising process keeps the "
        "read models and runs the policies), PostgreSQL, Kafka when used, "
        "and the load generator share its cores. 'other processes' is CPU that none of "
        "these used (other work on the machine during the measurement).",
        "Load generator: one asyncio (uvloop) process, raw HTTP/1.1 keep-alive, one "
        "connection per simulated client, closed loop (next request as soon as the answer "
        "is read). Latency is from writing the request to having read the whole answer. "
        f"Each level runs {config.warmup:.0f}s untimed, then {config.duration:.0f}s timed.",
        "Mix: 40% open a case, 20% take an open case, 30% steps on a held case (advice "
        "naming a verified transport, departure, checkpoint), 10% resource updates "
        "(re-verify a transport, shelter occupancy). Volunteers (trained fact-checkers) "
        "and verified resources are created before timing.",
        "Acknowledged means a 200 answer with stream, version and position; after the API "
        "stopped, every acknowledged (stream, version) was looked up in the events table.",
    ]
    busiest = ctx.results.get("other_processes_max", 0.0)
    if busiest >= 0.25:
        notes.insert(0, f"WARNING: the machine was shared: other processes took up to "
                        f"{busiest:.2f} of its {os.cpu_count()} cores during a measurement, "
                        "so throughput is lower and latency higher than on an idle machine.")
    durable = ctx.report.environment.get("postgres_durable")
    if durable:
        notes.append(
            f"The command figures (commands, profile) ran on a PostgreSQL with fsync="
            f"{durable.get('fsync')}, synchronous_commit={durable.get('synchronous_commit')}, "
            f"full_page_writes={durable.get('full_page_writes')}: every commit, one per batch "
            "of commands, waits for its WAL flush, as a network's would.")
    if pg:
        notes.append(
            f"{'The other sections' if durable else 'PostgreSQL'} ran with fsync="
            f"{pg.get('fsync')}, synchronous_commit={pg.get('synchronous_commit')}: " + (
                "a commit waits for no disk flush, so the raw single-row commit rate is an "
                "upper bound; with durable settings every per-command commit costs a flush "
                "and group commit gains more." if pg.get("fsync") == "off" else
                "every commit waits for its flush."))
    return notes


async def _sections(ctx: BenchContext, failed: list[str]) -> None:
    report = ctx.report
    pg = ctx.servers.ensure_postgres()
    report.environment["postgres"] = await postgres_settings(pg)
    ctx.results["postmaster_pid"] = await postmaster_pid(pg)
    for name in SECTIONS:  # fixed order: memory reads what commands and lag measured
        if name not in ctx.config.sections:
            continue
        try:
            await _section(name)(ctx)
        except Exception as error:  # record the failure, still run the other sections
            traceback.print_exc(file=sys.stderr)
            failed.append(name)
            report.add(Figure(name, f"{name}: section failed", None, "", None, [],
                              f"{type(error).__name__}: {error}"[:500]))
