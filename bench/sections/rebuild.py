"""Rebuild: events per second to rebuild every projection from a large store (as `corridor
rebuild` does it, with one fill process and with one per core), beside the raw asyncpg
batched-insert (COPY) rate and the raw read-and-decode rate of the same events."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import asyncpg

from bench.baselines import raw_copy_rate
from bench.context import BenchContext
from bench.generate import settings_for
from bench.infra import fresh_database
from bench.procstat import CpuMeter
from bench.report import Figure
from bench.stats import Target
from bench.stores import filled_store
from bench.verify import EVENTS_TABLE
from projections.catalog import PROJECTIONS
from projections.parallel import ProcessFill
from projections.rebuild import rebuild
from projections.records import decode_stored
from services.storage.readmodels import source_config, store_config

REBUILD_TARGET = Target(60_000, "at_least")
"""With one fill process per core (issue 26; the first wave's target was 30,000)."""
READ_SHARE_TARGET = Target(45, "at_least")
"""The same rebuild as a share of the raw read + decode rate of the same events (%)."""
READ_BATCH = 20_000


async def run(ctx: BenchContext) -> None:
    events = ctx.config.rebuild_events
    dsn, filled = await filled_store(ctx, events)
    say(f"baseline: raw read + decode of {filled['events_in_store']:,} events")
    read = await raw_read_rate(dsn)
    rebuilds = {}
    for processes in sorted({1, os.cpu_count() or 1}):
        say(f"rebuilding every projection, {processes} fill process(es)")
        meter = CpuMeter(None, ctx.results.get("postmaster_pid"))
        rebuilt = await run_rebuild(ctx, dsn, processes)
        rebuilt["cores"] = meter.cores()
        ctx.shared_machine(rebuilt["cores"])
        rebuilds[processes] = rebuilt
    async with fresh_database(ctx.servers.ensure_postgres(), "copy",
                              keep=ctx.config.keep_data) as copy_dsn:
        say(f"baseline: raw asyncpg COPY of {events:,} rows")
        copy = await raw_copy_rate(copy_dsn, events)
    ctx.report.details["rebuild"] = {
        "store": filled, "rebuilds": {f"{k} processes": v for k, v in rebuilds.items()},
        "raw_read_decode": read, "raw_copy": copy}
    add_figures(ctx, rebuilds, read, copy)
    ctx.note(f"Large store: {filled['events_in_store']:,} events; "
             f"{filled['template_commands']:,} commands of the mix ran through the writer, "
             f"then their {filled['template_case_events']:,} case events were copied with "
             f"fresh ids (COPY, hash chain recomputed) at "
             f"{filled['copy_events_per_s'] or 0:,.0f} events/s.")


def add_figures(ctx: BenchContext, rebuilds: dict[int, dict[str, Any]], read: dict[str, Any],
                copy: dict[str, Any]) -> None:
    baselines = [f"raw asyncpg COPY (batches of {copy['batch']:,}): {copy['per_s']:,.0f} rows/s",
                 f"raw read + decode of the events: {read['per_s']:,.0f} events/s"]
    widest = max(rebuilds)
    for processes, rebuilt in sorted(rebuilds.items()):
        cores = rebuilt["cores"]
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in rebuilt["phases"].items())
        note = (f"{rebuilt['events']:,} events in {rebuilt['seconds']:.1f} s ({phases}), all "
                f"{len(PROJECTIONS)} projections; cores busy: rebuild {cores['bench_process']},"
                f" PostgreSQL {cores['postgres']}, other processes {cores['other_processes']}")
        ctx.report.add(Figure(
            "rebuild", f"`corridor rebuild --processes {processes}`, events/s",
            rebuilt["events_per_s"], "events/s",
            REBUILD_TARGET if processes == widest else None, baselines, note))
        if processes == widest:
            ctx.report.add(Figure(
                "rebuild", f"`corridor rebuild --processes {processes}` as a share of raw "
                "read + decode", round(100 * rebuilt["events_per_s"] / read["per_s"], 1), "%",
                READ_SHARE_TARGET, [baselines[1]], "both measured on the same store in this run"))
    ctx.report.add(Figure("baseline", f"raw asyncpg COPY, batches of {copy['batch']:,} rows",
                          copy["per_s"], "rows/s", None, [],
                          f"{copy['rows']:,} event-sized rows, one connection"))
    ctx.report.add(Figure("baseline", "raw asyncpg read + decode of stored events",
                          read["per_s"], "events/s", None, [],
                          f"keyset batches of {READ_BATCH:,}, projections.records.decode_stored"))


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def run_rebuild(ctx: BenchContext, dsn: str, processes: int) -> dict[str, Any]:
    """Rebuild every projection into a new generation and switch, as `corridor rebuild`."""
    settings = settings_for(dsn, ctx.master_key)
    stores, sources = store_config(settings), source_config(settings)
    store, source = stores.open(), sources.open()
    parallel = ProcessFill(stores, sources, processes) if processes > 1 else None
    await store.start()
    try:
        started = time.perf_counter()
        report = await rebuild(store, source, PROJECTIONS, parallel=parallel)
        seconds = time.perf_counter() - started
    finally:
        await source.close()
        await store.close()
    return {"events": report.events, "seconds": round(seconds, 2),
            "events_per_s": round(report.events / seconds, 1), "processes": processes,
            "phases": {k: round(v, 2) for k, v in report.phases.items()},
            "generations": report.generations, "switched": report.switched}


async def raw_read_rate(dsn: str) -> dict[str, Any]:
    """Read every stored event in keyset batches and decode it (the rebuild's input floor)."""
    conn = await asyncpg.connect(dsn)
    try:
        started, position, events = time.perf_counter(), 0, 0
        while True:
            rows = await conn.fetch(
                f"SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id "
                "LIMIT $2", position, READ_BATCH)
            if not rows:
                break
            for r in rows:
                decode_stored(r[0], r[1], r[2], r[3], r[4])
            position, events = rows[-1][0], events + len(rows)
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return {"events": events, "seconds": round(seconds, 2), "per_s": round(events / seconds, 1)}
