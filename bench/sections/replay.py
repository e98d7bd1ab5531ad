"""Replay: as-of query time on a case with 1,000 events, in a store of about a thousand
events and in the large store (bench.audit_replay.measure_as_of, through the writer)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from bench.audit_replay import measure_as_of
from bench.context import BenchContext
from bench.generate import settings_for
from bench.infra import fresh_database
from bench.report import Figure
from bench.stats import Target
from bench.stores import filled_store

AS_OF_TARGET = Target(20, "at_most")
EVENTS_PER_CASE = 1000


async def run(ctx: BenchContext) -> None:
    results: dict[str, Any] = {}
    async with fresh_database(ctx.servers.ensure_postgres(), "replay_small",
                              keep=ctx.config.keep_data) as dsn:
        say("as-of replay in a store of about a thousand events")
        results["small"] = await measure(ctx, dsn)
    dsn, filled = await filled_store(ctx, ctx.config.store_events)
    say(f"as-of replay in a store of {filled['events_in_store']:,} events")
    results["large"] = await measure(ctx, dsn)
    ctx.report.details["replay"] = results
    for data in results.values():
        add_figure(ctx, data)


async def measure(ctx: BenchContext, dsn: str) -> dict[str, Any]:
    settings = settings_for(dsn, ctx.master_key)
    found: dict[str, Any] = await asyncio.to_thread(measure_as_of, settings,
                                                    events_per_case=EVENTS_PER_CASE)
    return found


def add_figure(ctx: BenchContext, data: dict[str, Any]) -> None:
    by_time, by_version = data["as_of_time"], data["as_of_version"]
    store = data["events_in_store"]
    ctx.report.add(Figure(
        "replay", f"as-of query (by time), p95, {store:,} events in store",
        by_time["p95_ms"], "ms", AS_OF_TARGET,
        [f"as of a version: p50 {by_version['p50_ms']:.2f} ms, p95 "
         f"{by_version['p95_ms']:.2f} ms"],
        f"case of {data['events_in_case']:,} events, snapshot every "
        f"{data['snapshot_interval']} events; {data['queries']} queries: p50 "
        f"{by_time['p50_ms']:.2f} ms, max {by_time['max_ms']:.2f} ms"))


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
