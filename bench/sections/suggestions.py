"""Suggestions for one case: GET /cases/{id}/suggestions over HTTP with 10,000 open cases,
1,000 volunteers and 5,000 resources in the store (PostgreSQL, `corridor serve
--writer-process`, read models caught up), asked one at a time for random open cases; and on
the same store the hold path: holding seats for a case and letting them go again, from one
client and from eight at once."""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from typing import Any

import orjson

from bench.context import BenchContext
from bench.coordination_world import Population, World
from bench.generate import settings_for
from bench.httpclient import Connection, get_request, post_prefix, post_request
from bench.infra import fresh_database
from bench.procstat import CpuMeter
from bench.report import Figure
from bench.sections.commands import P99_TARGET_MS
from bench.sections.lag import helper_cores
from bench.server import HOST, ApiShape, start_api
from bench.stats import Target, percentile
from services.bootstrap import build_runtime
from services.clock import now

SUGGESTIONS_TARGET = Target(20, "at_most")
CASES, VOLUNTEERS, RESOURCES = 10_000, 1_000, 5_000
WARM_UP, QUERIES = 50, 500
HOLD_CLIENTS, HOLDS_PER_CLIENT = 8, 40


async def run(ctx: BenchContext) -> None:
    async with fresh_database(ctx.servers.ensure_postgres(), "suggestions",
                              keep=ctx.config.keep_data) as dsn:
        say(f"writing {CASES:,} open cases, {VOLUNTEERS:,} volunteers, {RESOURCES:,} "
            "resources")
        started = time.monotonic()
        population = await asyncio.to_thread(populate, dsn, ctx.master_key)
        written_s = time.monotonic() - started
        api = await start_api(ctx.api_env(dsn), ApiShape(writer_process=True), timeout=120)
        try:
            token = ctx.issuer.issue(str(population.supervisor), ["supervisor", "volunteer"])
            await caught_up(api.port, token)
            say(f"suggestions: {QUERIES} reads for random open cases")
            meter = CpuMeter(api.pid, ctx.results.get("postmaster_pid"))
            latencies, sizes = await ask(api.port, token, population)
            cores = meter.cores()
            ctx.shared_machine(cores)
            say("holds: hold and release seats, one client, then eight")
            alone = await holds(api.port, token, population, clients=1)
            together = await holds(api.port, token, population, clients=HOLD_CLIENTS)
            api.check_alive()
        finally:
            api.stop()
    measured = {"events_in_store": population.events, "written_in_s": round(written_s, 1),
                "open_cases": len(population.open_cases),
                "volunteers": len(population.volunteers),
                "resources": len(population.resources), "queries": len(latencies),
                "p50_ms": ms(percentile(latencies, 0.5)),
                "p95_ms": ms(percentile(latencies, 0.95)),
                "p99_ms": ms(percentile(latencies, 0.99)), "max_ms": ms(max(latencies)),
                "answer_kb_p50": round(percentile(sizes, 0.5) / 1024, 1), "cores": cores,
                "holds_one_client": alone, "holds_eight_clients": together}
    ctx.report.details["suggestions"] = measured
    add_figures(ctx, measured)


def populate(dsn: str, master_key: str) -> Population:
    runtime = build_runtime(settings_for(dsn, master_key), start_writer=False)
    try:
        return World(runtime.app, now()).populate(CASES, VOLUNTEERS, RESOURCES)
    finally:
        runtime.close()


async def caught_up(port: int, token: str, timeout: float = 600.0) -> None:
    """Until every read model has applied the whole store."""
    connection = Connection(HOST, port)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            status, body = await connection.send(get_request(HOST, port,
                                                             "/projections/status", token))
            if status == 200 and all(p["lag"] == 0 for p in orjson.loads(body)):
                return
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
    raise RuntimeError(f"the read models did not catch up within {timeout:.0f}s")


async def ask(port: int, token: str, population: Population) -> tuple[list[float], list[int]]:
    """Suggestions for random open cases, one at a time; (latencies in s, answer sizes)."""
    rng = random.Random(5)
    connection = Connection(HOST, port)
    latencies: list[float] = []
    sizes: list[int] = []
    try:
        for i in range(WARM_UP + QUERIES):
            case_id = rng.choice(population.open_cases)
            request = get_request(HOST, port, f"/cases/{case_id}/suggestions", token)
            started = time.perf_counter()
            status, body = await connection.send(request)
            took = time.perf_counter() - started
            if status != 200:
                raise RuntimeError(f"suggestions answered {status}: {body[:300]!r}")
            if i >= WARM_UP:
                latencies.append(took)
                sizes.append(len(body))
    finally:
        await connection.close()
    return latencies, sizes


async def holds(port: int, token: str, population: Population,
                clients: int) -> dict[str, Any]:
    """Hold seats on a roomy transport for an open case and release them, HOLDS_PER_CLIENT
    times per client; latency of each command."""
    if not population.roomy_transports:
        raise RuntimeError("no roomy transport was written to hold seats on")
    hold_prefix = post_prefix(HOST, port, "/commands/cases/hold-seats", token)
    release_prefix = post_prefix(HOST, port, "/commands/cases/release-seats", token)
    cases = iter(random.Random(clients).sample(population.open_cases,
                                               clients * HOLDS_PER_CLIENT))
    held: list[float] = []
    released: list[float] = []
    refused: dict[str, int] = {}

    async def client(index: int) -> None:
        connection = Connection(HOST, port)
        transport = population.roomy_transports[index % len(population.roomy_transports)]
        try:
            for _ in range(HOLDS_PER_CLIENT):
                case_id, hold_id = next(cases), uuid.uuid4()
                status, took = await timed(connection, hold_prefix, {
                    "command_id": str(uuid.uuid4()), "case_id": str(case_id),
                    "resource_id": str(transport), "hold_id": str(hold_id), "seats": 1})
                if status != 200:
                    refused[str(status)] = refused.get(str(status), 0) + 1
                    continue
                held.append(took)
                status, took = await timed(connection, release_prefix, {
                    "command_id": str(uuid.uuid4()), "case_id": str(case_id),
                    "hold_id": str(hold_id)})
                released.append(took)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    window = time.perf_counter() - started
    return {"clients": clients, "holds": len(held), "refused": refused,
            "hold_p50_ms": ms(percentile(held, 0.5)), "hold_p99_ms": ms(percentile(held, 0.99)),
            "release_p50_ms": ms(percentile(released, 0.5)),
            "release_p99_ms": ms(percentile(released, 0.99)),
            "commands_per_s": round((len(held) + len(released)) / window, 1)}


async def timed(connection: Connection, prefix: bytes, body: dict[str, Any]) -> tuple[int,
                                                                                    float]:
    request = post_request(prefix, orjson.dumps(body))
    started = time.perf_counter()
    status, _ = await connection.send(request)
    return status, time.perf_counter() - started


def add_figures(ctx: BenchContext, measured: dict[str, Any]) -> None:
    store = (f"{measured['open_cases']:,} open cases, {measured['volunteers']:,} volunteers, "
             f"{measured['resources']:,} resources ({measured['events_in_store']:,} events)")
    ctx.report.add(Figure(
        "suggestions", f"suggestions for one case, p95, {store}", measured["p95_ms"], "ms",
        SUGGESTIONS_TARGET,
        [f"p50 {measured['p50_ms']:.2f} ms, p99 {measured['p99_ms']:.2f} ms, max "
         f"{measured['max_ms']:.2f} ms; answer p50 {measured['answer_kb_p50']} KB",
         f"cores busy while reading: {helper_cores(measured['cores'])}"],
        f"GET /cases/{{id}}/suggestions over HTTP (keep-alive, one client, {QUERIES} random "
        f"open cases after {WARM_UP} untimed) on `corridor serve --writer-process` with "
        "PostgreSQL, read models caught up; volunteers half on shift in ten time zones, "
        "resources of every kind (transports with seats, windows daily and once, some "
        "unverified or unsafe)"))
    for key, label in (("holds_one_client", "one client"),
                       ("holds_eight_clients", f"{HOLD_CLIENTS} clients")):
        hold = measured[key]
        ctx.report.add(Figure(
            "suggestions", f"hold seats p99, {label}, same store", hold["hold_p99_ms"], "ms",
            P99_TARGET_MS,
            [f"hold p50 {hold['hold_p50_ms']:.2f} ms; release p50 "
             f"{hold['release_p50_ms']:.2f} ms, p99 {hold['release_p99_ms']:.2f} ms; "
             f"{hold['commands_per_s']:,.0f} commands/s"],
            f"cases/hold-seats then cases/release-seats for one seat on a transport, "
            f"{hold['holds']} pairs; refused: {hold['refused'] or 'none'}; the command p99 "
            "target applied"))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
