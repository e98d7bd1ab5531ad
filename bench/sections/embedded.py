"""The embedded default: `corridor serve` on SQLite as the README's first command runs it
(on a machine of two cores or more: a writer process beside an HTTP worker, projections and
policies in the supervisor), commands at each client level beside its own HTTP floor; then
a `kill -9` of the server under load, and every acknowledged command looked up in the
SQLite file afterwards; and `corridor serve --one-process` at the target level beside it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from bench.context import BenchContext
from bench.httpclient import get_request
from bench.loadgen import HOST, Ack, HttpExecutor
from bench.mix import Workload, World
from bench.procstat import CpuMeter, process_tree
from bench.report import Figure
from bench.sections.commands import NO_LOSS, SHARED_MACHINE_CORES, plural, runs_text, say
from bench.server import ApiProcess, ApiShape, start_api
from bench.stats import Target
from bench.verify import AckCheck, wrong_position

THROUGHPUT_TARGET = Target(2500, "at_least")
P99_TARGET_MS = Target(30, "at_most")
ONE_PROCESS = ApiShape(writer_process=False)
DEFAULT = ApiShape.default()
"""`corridor serve` with no flag: what the README's first command runs."""
SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


async def run(ctx: BenchContext) -> None:
    config = ctx.config
    with tempfile.TemporaryDirectory(prefix="corridor-bench-sqlite-") as data_dir:
        env = {**ctx.api_env(""), "CORRIDOR_STORE": "sqlite", "CORRIDOR_PG_DSN": "",
               "CORRIDOR_DATA_DIR": data_dir}
        store = Path(data_dir) / "corridor.sqlite"
        api = await start_api(env, DEFAULT)
        executor = HttpExecutor(api.port, ctx.issuer)
        try:
            found = await _levels(ctx, api, executor)
            say(f"embedded: kill -9 of `corridor serve` under {config.target_clients} clients")
            found["killed_after_s"] = await _kill_under_load(ctx, api, executor)
        finally:
            api.stop()
        found["one_process"] = await _one_process(ctx, env)
        found["synchronous"], found["journal_mode"] = _store_modes(store)
        found["ack_check"] = (await asyncio.to_thread(check_sqlite_acks, store,
                                                      executor.acks)).as_json()
    ctx.report.details["embedded"] = found
    add_figures(ctx, found)


async def _one_process(ctx: BenchContext, env: dict[str, str]) -> dict[str, Any]:
    """The baseline: `corridor serve --one-process` on a store of its own, at the target
    number of clients (median of the configured repeats)."""
    clients = ctx.config.target_clients
    with tempfile.TemporaryDirectory(prefix="corridor-bench-sqlite-") as data_dir:
        api = await start_api({**env, "CORRIDOR_DATA_DIR": data_dir}, ONE_PROCESS)
        executor = HttpExecutor(api.port, ctx.issuer)
        try:
            say(f"embedded (SQLite) commands, `corridor serve --one-process`: {clients} clients")
            world = World.new(clients)
            await executor.setup(world)
            workload = Workload(world)
            states = [workload.client(i) for i in range(clients)]
            runs = [await _level(ctx, api, executor, workload, states)
                    for _ in range(ctx.config.repeats)]
        finally:
            api.stop()
    ranked = sorted(runs, key=lambda r: r["commands_per_s"])
    return {**ranked[len(ranked) // 2],
            "runs": [{"commands_per_s": r["commands_per_s"], "p99_ms": r["p99_ms"]}
                     for r in runs]}


async def _levels(ctx: BenchContext, api: ApiProcess,
                  executor: HttpExecutor) -> dict[str, Any]:
    config = ctx.config
    world = World.new(max(config.clients))
    await executor.setup(world)
    workload = Workload(world)
    states = [workload.client(i) for i in range(max(config.clients))]
    levels = []
    for clients in config.clients:
        say(f"embedded (SQLite) commands: {clients} clients")
        repeats = config.repeats if clients == config.target_clients else 1
        runs = [await _level(ctx, api, executor, workload, states[:clients])
                for _ in range(repeats)]
        ranked = sorted(runs, key=lambda r: r["commands_per_s"])
        level = ranked[len(ranked) // 2]
        level["runs"] = [{"commands_per_s": r["commands_per_s"], "p99_ms": r["p99_ms"]}
                         for r in runs]
        levels.append(level)
    say(f"embedded: GET /health/live, {config.target_clients} clients")
    floor = await executor.run_fixed(get_request(HOST, api.port, "/health/live"),
                                     config.target_clients, config.duration, config.warmup)
    return {"levels": levels, "http_floor": floor.as_json(),
            "api_command": " ".join(api.command[:2] + api.command[6:])}


async def _level(ctx: BenchContext, api: ApiProcess, executor: HttpExecutor,
                 workload: Workload, states: list[Any]) -> dict[str, Any]:
    meter = CpuMeter(api.pid, None)
    result = await executor.run_level(workload, states, ctx.config.duration, ctx.config.warmup)
    cores = meter.cores()
    ctx.shared_machine(cores)
    return {**result.as_json(), "cores": cores}


def _cores_text(level: dict[str, Any], shape: ApiShape) -> str:
    cores = level["cores"]
    parts = ", ".join(f"{k.removeprefix('api_').replace('_', ' ')} {v}"
                      for k, v in cores.items() if k.startswith("api_"))
    inside = (f"writer process, HTTP worker and supervisor (projections, policies): {parts}"
              if shape.writer_process else
              "one process: HTTP, writer and commit threads, read models, policies")
    text = (f"cores busy: API {cores['api']} ({inside}), load generator "
            f"{cores['bench_process']}, other processes "
            f"{cores['other_processes']}, whole machine {cores['machine']} of "
            f"{os.cpu_count() or 1}")
    if cores["other_processes"] >= SHARED_MACHINE_CORES:
        text += (f"; other work on the machine took {cores['other_processes']} cores, so "
                 "this figure is lower than the machine gives when idle")
    non_ok = {k: v for k, v in level["statuses"].items() if k != "200"}
    return text + (f"; non-200 answers: {non_ok}" if non_ok else "")


async def _kill_under_load(ctx: BenchContext, api: ApiProcess,
                           executor: HttpExecutor) -> float:
    """SIGKILL to the server halfway through a level; returns the seconds of load before."""
    after = ctx.config.duration / 2
    await kill_under_load(api, executor, ctx.config.target_clients, after)
    return after


async def kill_under_load(api: ApiProcess, executor: HttpExecutor, clients: int,
                          seconds: float) -> None:
    """`clients` closed-loop clients on a world of their own; after `seconds`, SIGKILL to
    the server and every process under it. The load ends on its connection errors; what
    was acknowledged until then is in `executor.acks`."""
    world = World.new(clients)
    await executor.setup(world)
    workload = Workload(world)
    states = [workload.client(i) for i in range(clients)]
    load = asyncio.create_task(executor.run_level(workload, states, seconds * 4, 0.0))
    await asyncio.sleep(seconds)
    for pid in process_tree(api.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(api.process.wait, 30)
    with contextlib.suppress(OSError, asyncio.IncompleteReadError, RuntimeError):
        await load


def _store_modes(store: Path) -> tuple[str, str]:
    """The synchronous mode a connection to the store gets (corridor sets none, so SQLite's
    compiled default) and the journal mode the file is in."""
    conn = sqlite3.connect(store)
    try:
        synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    return SYNCHRONOUS.get(synchronous, str(synchronous)), str(journal)


def check_sqlite_acks(store: Path, acks: list[Ack]) -> AckCheck:
    """Look up every acknowledged (stream, version) in the SQLite store's events table
    (opening it recovers what its write-ahead log holds, as the next start would)."""
    unique = {(stream.hex, version): position for stream, version, position in acks}
    conn = sqlite3.connect(store)
    try:
        conn.execute("CREATE TEMP TABLE acked (id TEXT, v INTEGER)")
        conn.executemany("INSERT INTO acked VALUES (?, ?)", list(unique))
        rows = conn.execute("SELECT a.id, a.v, e.rowid FROM acked a JOIN stored_events e "
                            "ON e.originator_id = a.id AND e.originator_version = a.v"
                            ).fetchall()
    finally:
        conn.close()
    mismatches = sum(1 for stream, version, position in rows
                     if wrong_position(unique[(stream, version)], position))
    return AckCheck(acknowledged=len(unique), found=len(rows), position_mismatches=mismatches)


def add_figures(ctx: BenchContext, found: dict[str, Any]) -> None:
    report, target_clients = ctx.report, ctx.config.target_clients
    floor = found["http_floor"]
    one = found["one_process"]
    baselines = [f"GET /health/live x{floor['clients']}: {floor['commands_per_s']:,.0f}/s",
                 f"`corridor serve --one-process` x{one['clients']}: "
                 f"{one['commands_per_s']:,.0f}/s"]
    shape = DEFAULT
    for level in found["levels"]:
        clients = level["clients"]
        at_target = clients == target_clients
        note = "; ".join(t for t in (runs_text(level), _cores_text(level, shape)) if t)
        report.add(Figure("embedded", f"commands/s, {plural(clients, 'client')}, "
                          "`corridor serve` on SQLite", level["commands_per_s"], "commands/s",
                          THROUGHPUT_TARGET if at_target else None, baselines,
                          note + (f"; {100 * level['commands_per_s'] / floor['commands_per_s']:.0f}"
                                  "% of the HTTP floor" if at_target else "")))
        report.add(Figure("embedded", f"p99 latency, {plural(clients, 'client')}, SQLite",
                          level["p99_ms"], "ms", P99_TARGET_MS if at_target else None, [],
                          f"p50 {level['p50_ms']:.1f} ms"))
    check = found["ack_check"]
    report.add(Figure("embedded", "acknowledged commands missing after kill -9 (SQLite)",
                      check["missing"], "", NO_LOSS, [],
                      f"{check['acknowledged']:,} acknowledged commands (the levels above and "
                      f"{found['killed_after_s']:.0f} s of load at {target_clients} clients "
                      "ended by SIGKILL to the server) looked up in the SQLite file afterwards; "
                      f"{check['position_mismatches']} answered a position before their "
                      "event's. The store "
                      f"runs journal_mode={found['journal_mode']}, synchronous="
                      f"{found['synchronous']}: " + SYNCHRONOUS_RISK.get(
                          found["synchronous"], "")))
    report.add(Figure("baseline", f"`corridor serve --one-process` on SQLite, "
                      f"{plural(one['clients'], 'client')}", one["commands_per_s"],
                      "commands/s", None, [],
                      "; ".join(t for t in (f"p50 {one['p50_ms']:.1f} ms, p99 "
                                            f"{one['p99_ms']:.1f} ms", runs_text(one),
                                            _cores_text(one, ONE_PROCESS)) if t)))
    report.add(Figure("baseline", f"HTTP floor of `corridor serve` on SQLite: GET "
                      f"/health/live, {floor['clients']} clients", floor["commands_per_s"],
                      "requests/s", None, [],
                      f"p50 {floor['p50_ms']:.2f} ms, p99 {floor['p99_ms']:.2f} ms"))


SYNCHRONOUS_RISK = {
    "FULL": "every commit (one per batch of commands) waits for the write-ahead log's fsync, "
            "so an acknowledged command survives a killed process and a power cut alike",
    "NORMAL": "a commit is not flushed to disk: a killed process loses nothing, but a power "
              "cut or OS crash may lose the last acknowledged commands (never corrupts)",
}
