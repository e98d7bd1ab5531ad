"""Projection workers x partitions: a consumer group of 1, 2 and 4 `corridor project --from
kafka` workers catching up a backlog on an 8-partition events topic, then a group that
grows and shrinks during the catch-up (rebalances).

The backlog is a store filled as for the rebuild (bench.generate), published once by
`corridor relay` to a topic of this run's own. Each group catches up into a copy of that
store's database (its read models empty), so every group starts from the same backlog.
Every run is checked afterwards: the read models equal the store's events projected in
memory (nothing lost, nothing applied twice) and every stream's audit rows were written in
version order (bench.workercheck).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.context import BenchContext
from bench.generate import fill_store
from bench.infra import fresh_database
from bench.processes import Helper, start_helper
from bench.procstat import CpuMeter, cpu_seconds
from bench.report import Figure
from bench.stats import Target
from bench.verify import EVENTS_TABLE
from bench.workercheck import actual, differences, expected, out_of_order_rows, store_records
from projections.catalog import PROJECTIONS
from projections.generations import store_positions
from services.settings import Settings
from services.storage.readmodels import store_config

PARTITIONS = 8
GROUPS = (1, 2, 4)
CATCH_UP_TIMEOUT = 1800.0
NO_LOSS = Target(0, "at_most")


@dataclass
class CatchUp:
    """One group's catch-up: when it began and ended, and each worker's CPU."""

    label: str
    events: int
    started: float = 0.0
    first_applied: float | None = None
    done: float | None = None
    worker_cpu: dict[str, float] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    """Members added or removed during the catch-up, and when."""
    check: dict[str, Any] = field(default_factory=dict)
    cores: dict[str, float] = field(default_factory=dict)
    """Cores busy during the catch-up: workers, PostgreSQL, other processes."""

    @property
    def seconds(self) -> float | None:
        """From the first event applied to the last (start-up of the processes left out)."""
        if self.done is None or self.first_applied is None:
            return None
        return self.done - self.first_applied

    def as_json(self) -> dict[str, Any]:
        seconds = self.seconds
        rate = self.events / seconds if seconds else None
        workers = max(len(self.worker_cpu), 1)
        cpu = sum(self.worker_cpu.values())
        return {"group": self.label, "events": self.events,
                "seconds": None if seconds is None else round(seconds, 2),
                "events_per_s": None if rate is None else round(rate, 1),
                "worker_cpu_s": {k: round(v, 2) for k, v in self.worker_cpu.items()},
                "cpu_s_per_1000_events_per_worker": round(1000 * cpu / self.events / workers,
                                                          4),
                "cpu_s_per_1000_events": round(1000 * cpu / self.events, 4),
                "membership_changes": self.changes, "check": self.check, "cores": self.cores}


async def run(ctx: BenchContext) -> None:
    events = ctx.config.worker_events
    server = ctx.servers.ensure_postgres()
    kafka = ctx.servers.ensure_kafka()
    prefix = f"benchw{uuid.uuid4().hex[:8]}."
    async with fresh_database(server, "workers_store", keep=ctx.config.keep_data) as dsn:
        say(f"workers: filling a store with {events:,} events")
        filled = await fill_store(dsn, ctx.master_key, events)
        filled["bytes_per_event"] = await store_bytes_per_event(dsn)
        relayed = await relay_backlog(ctx, dsn, kafka, prefix)
        say("workers: projecting the store in memory (the reference)")
        reference = expected(await store_records(dsn))
        runs = []
        for size in GROUPS:
            runs.append(await catch_up(ctx, dsn, kafka, prefix, reference, relayed,
                                       steady=size))
        runs.append(await catch_up(ctx, dsn, kafka, prefix, reference, relayed,
                                   steady=None))
    await delete_topics(kafka, prefix)
    ctx.report.details["workers"] = {"store": filled, "relay": relayed,
                                     "runs": [r.as_json() for r in runs]}
    add_figures(ctx, relayed, runs)
    size = filled["bytes_per_event"]
    read_models = (runs[0].check["database_bytes"] - size["database_bytes"]) / max(
        filled["events_in_store"], 1)
    ctx.report.add(Figure("baseline", "store on disk per event (whole database)",
                          size["database"], "bytes", None, [],
                          f"{filled['events_in_store']:,} events: events table "
                          f"{size['events_table']:,.0f} B and hash chain "
                          f"{size['event_chain']:,.0f} B per event, with their indexes; the "
                          f"read models add {read_models:,.0f} B per event once caught up"))


def env_for(ctx: BenchContext, dsn: str, kafka: str, prefix: str) -> dict[str, str]:
    return ctx.api_env(dsn, kafka=kafka, kafka_topic_prefix=prefix,
                       kafka_event_partitions=str(PARTITIONS), projections_in_process="false")


async def relay_backlog(ctx: BenchContext, dsn: str, kafka: str, prefix: str) -> dict[str, Any]:
    """Publish the whole store once with `corridor relay`; its rate and the topic's size."""
    from services.kafka.topics import ensure_topics

    await ensure_topics(Settings(kafka_bootstrap=kafka, kafka_topic_prefix=prefix,
                                 kafka_event_partitions=PARTITIONS))
    head = await _head(dsn)
    say(f"workers: relaying {head:,} events to {prefix}events ({PARTITIONS} partitions)")
    from services.kafka.positions import RelayProgress

    relay = start_helper("relay", [_corridor(), "relay"], env_for(ctx, dsn, kafka, prefix))
    progress = RelayProgress("postgres", pg_dsn=dsn)
    started = time.perf_counter()
    try:
        while await progress.read() < head:
            relay.check_alive()
            if time.perf_counter() - started > CATCH_UP_TIMEOUT:
                raise TimeoutError(f"the relay did not publish {head:,} events in time")
            await asyncio.sleep(0.25)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(relay.pid)
    finally:
        relay.stop()
        await progress.close()
    messages = await topic_size(kafka, f"{prefix}events")
    return {"head": head, "messages": messages, "seconds": round(seconds, 2),
            "events_per_s": round(head / seconds, 1), "relay_cpu_s": round(cpu, 2)}


async def catch_up(ctx: BenchContext, store_dsn: str, kafka: str, prefix: str,
                   reference: dict[str, list[tuple[Any, ...]]], relayed: dict[str, Any],
                   *, steady: int | None) -> CatchUp:
    """One group catching up the backlog into a copy of the store: `steady` workers from
    start to end, or (None) two, then four, then three (rebalances on the way)."""
    label = f"{steady} worker{'s' if steady != 1 else ''}" if steady else \
        "2 -> 4 -> 3 workers (rebalancing)"
    run = CatchUp(label=label, events=relayed["messages"])
    async with copied_database(ctx, store_dsn) as dsn:
        env = env_for(ctx, dsn, kafka, prefix)
        group = f"bench-workers-{uuid.uuid4().hex[:8]}"
        command = [_corridor(), "project", "--from", "kafka", "--group-id", group]
        helpers: list[Helper] = []
        say(f"workers: {label} catching up {run.events:,} events")
        try:
            helpers += [start_helper(f"worker {i + 1}", command, env)
                        for i in range(steady or 2)]
            run.started = time.perf_counter()
            meter = CpuMeter(None, ctx.results.get("postmaster_pid"))
            await _follow(run, dsn, helpers, relayed, command, env,
                          grow=steady is None)
            run.cores = meter.cores()
            ctx.shared_machine(run.cores)
        finally:
            for helper in helpers:
                run.worker_cpu.setdefault(helper.label, cpu_seconds(helper.pid))
                helper.stop()
        run.check = await check(dsn, reference)
    return run


async def _follow(run: CatchUp, dsn: str, helpers: list[Helper], relayed: dict[str, Any],
                  command: list[str], env: dict[str, str], *, grow: bool) -> None:
    """Poll the read models' tracked offsets until every message is applied; when `grow`,
    add two members at a third of the way and stop one at two thirds."""
    store = store_config(Settings(store="postgres", pg_dsn=dsn)).open()
    await store.start()
    topic = env["CORRIDOR_KAFKA_TOPIC_PREFIX"] + "events"
    try:
        while True:
            consumed, position = await _progress(store, topic)
            now = time.perf_counter()
            if consumed and run.first_applied is None:
                run.first_applied = now
            if consumed >= run.events and position >= relayed["head"]:
                run.done = now
                return
            if grow and len(helpers) == 2 and consumed >= run.events / 3:
                helpers += [start_helper(f"worker {i}", command, env) for i in (3, 4)]
                run.changes.append(f"+2 at {consumed:,} events")
            elif grow and len(run.changes) == 1 and consumed >= 2 * run.events / 3:
                leaving = helpers[0]
                run.worker_cpu[leaving.label] = cpu_seconds(leaving.pid)
                leaving.stop()
                run.changes.append(f"-1 at {consumed:,} events")
            for helper in helpers:
                if helper.label not in run.worker_cpu:
                    helper.check_alive()
            if now - run.started > CATCH_UP_TIMEOUT:
                raise TimeoutError(f"{run.label}: {consumed:,} of {run.events:,} applied")
            await asyncio.sleep(0.2)
    finally:
        await store.close()


async def _progress(store: Any, topic: str) -> tuple[int, int]:
    """(messages every read model has consumed, the store position all have applied)."""
    positions = await store.positions()
    consumed = {p.name: 0 for p in PROJECTIONS}
    for p in positions:
        if p.source == topic and p.projection in consumed:
            consumed[p.projection] += max(p.position, 0)
    reached = store_positions(positions, await store.generations())
    applied = min(reached.values()) if len(reached) == len(PROJECTIONS) else 0
    return min(consumed.values()), applied


async def check(dsn: str, reference: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """The read models against the reference, and the per-stream order of the audit rows."""
    store = store_config(Settings(store="postgres", pg_dsn=dsn)).open()
    await store.start()
    try:
        diff = differences(await actual(store), reference)
        rows, behind = await out_of_order_rows(store)
        [size] = await store.fetch("SELECT pg_database_size(current_database()) AS bytes")
    finally:
        await store.close()
    return {"tables_differing": diff, "audit_rows_checked": rows,
            "audit_rows_out_of_stream_order": behind, "database_bytes": int(size["bytes"])}


@contextlib.asynccontextmanager
async def copied_database(ctx: BenchContext, store_dsn: str) -> AsyncIterator[str]:
    """A copy of the filled store's database (events, chain, relay position; no read
    models), dropped afterwards."""
    source = store_dsn.rsplit("/", 1)[1].split("?")[0]
    async with fresh_database(ctx.servers.ensure_postgres(), "workers",
                              keep=ctx.config.keep_data, template=source) as dsn:
        yield dsn


async def store_bytes_per_event(dsn: str) -> dict[str, float]:
    """On-disk bytes per stored event (tables with their indexes and TOAST): the events, the
    hash chain, and the whole database (receipts, keys, snapshots with them)."""
    conn = await asyncpg.connect(dsn)
    try:
        events = int(await conn.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE}") or 1)
        sizes = {name: int(await conn.fetchval(
            "SELECT coalesce(pg_total_relation_size(to_regclass($1)), 0)", name) or 0)
            for name in (EVENTS_TABLE, "event_chain")}
        database = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()
    return {"events_table": round(sizes[EVENTS_TABLE] / events, 1),
            "event_chain": round(sizes["event_chain"] / events, 1),
            "database": round(database / events, 1), "database_bytes": database}


async def _head(dsn: str) -> int:
    from bench.verify import max_position

    return await max_position(dsn)


async def topic_size(kafka: str, topic: str, partitions: int = PARTITIONS) -> int:
    """Messages in the topic (the sum of its partitions' end offsets)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def delete_topics(kafka: str, prefix: str) -> None:
    """Remove this run's topics from the (shared) broker; a failure is only reported."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    try:
        await admin.start()
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    except Exception as error:  # the figures stand; the topics only take disk
        say(f"WARNING could not delete the topics {prefix}*: {error}")
    finally:
        await admin.close()


def _corridor() -> str:
    return str(Path(sys.executable).with_name("corridor"))


def add_figures(ctx: BenchContext, relayed: dict[str, Any], runs: list[CatchUp]) -> None:
    base = next((r.as_json() for r in runs if r.label == "1 worker"), None)
    for run in runs:
        data = run.as_json()
        check = data["check"]
        scaling = (f"; {data['events_per_s'] / base['events_per_s']:.2f}x one worker"
                   if base and base["events_per_s"] and data["events_per_s"] else "")
        note = (f"{data['events']:,} events on {PARTITIONS} partitions in {data['seconds']} s "
                f"(first to last applied){scaling}; CPU per worker (s): "
                f"{data['worker_cpu_s']}; {data['cpu_s_per_1000_events']} CPU s per 1,000 "
                f"events in all; cores busy: PostgreSQL {data['cores'].get('postgres')}, "
                f"other processes {data['cores'].get('other_processes')}; tables "
                "differing from the store projected in memory: "
                f"{check['tables_differing'] or 'none'}; audit rows out of stream order: "
                f"{check['audit_rows_out_of_stream_order']} of {check['audit_rows_checked']:,}"
                + (f"; members: {', '.join(data['membership_changes'])}"
                   if data["membership_changes"] else ""))
        ctx.report.add(Figure("workers", f"projection workers, {run.label}: events/s",
                              data["events_per_s"], "events/s", None,
                              [f"relay: {relayed['events_per_s']:,.0f} events/s"], note))
        ctx.report.add(Figure("workers", f"projection workers, {run.label}: CPU s per 1,000 "
                              "events per worker", data["cpu_s_per_1000_events_per_worker"],
                              "s", None, [], ""))
        lost = sum(d["missing"] + d["unexpected"] for d in check["tables_differing"].values())
        ctx.report.add(Figure("workers", f"projection workers, {run.label}: rows lost, "
                              "doubled or out of order",
                              lost + check["audit_rows_out_of_stream_order"], "", NO_LOSS, [],
                              "differences from the store projected in memory, plus audit "
                              "rows written before their stream's previous version"))
    ctx.report.add(Figure("baseline", "`corridor relay` publishing the backlog",
                          relayed["events_per_s"], "events/s", None, [],
                          f"{relayed['head']:,} events, {relayed['messages']:,} messages on "
                          f"the topic, relay CPU {relayed['relay_cpu_s']} s"))


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
