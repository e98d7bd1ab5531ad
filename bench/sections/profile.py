"""Where the CPU goes per command: the command load at the target level on the measured API
while py-spy samples each of its processes; CPU per command by process and by category
(parsing, validation, auth, sealing, hashing, the writer, serialisation, HTTP, ...)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.context import BenchContext
from bench.cpuprofile import CATEGORIES, Sampler
from bench.infra import fresh_database
from bench.loadgen import HttpExecutor
from bench.mix import Workload, World
from bench.procstat import CpuMeter, cpu_seconds, process_tree, role_of
from bench.report import Figure
from bench.sections.commands import durable_server, plural, postmaster_of, say
from bench.server import start_api


async def run(ctx: BenchContext) -> None:
    config = ctx.config
    server = await durable_server(ctx)
    async with fresh_database(server, "profile", keep=config.keep_data) as dsn:
        profile = await profile_api(ctx, dsn)
    ctx.report.details["profile"] = profile
    clients = profile["clients"]
    for role, data in profile["processes"].items():
        top = sorted(data["us_per_command"].items(), key=lambda item: -item[1])[:4]
        ctx.report.add(Figure(
            "profile", f"CPU per command, {role.replace('_', ' ')}, "
            f"{plural(clients, 'client')}", data["cpu_us_per_command"], "µs", None, [],
            "largest: " + ", ".join(f"{name} {us:.0f} µs" for name, us in top)))
    ctx.report.tables["Where the CPU goes per command"] = profile_table(profile)


async def profile_api(ctx: BenchContext, dsn: str) -> dict[str, Any]:
    """Run the target level once untimed, then once while py-spy samples every process."""
    config = ctx.config
    clients = config.target_clients
    api = await start_api(ctx.api_env(dsn), config.api)
    executor = HttpExecutor(api.port, ctx.issuer)
    try:
        world = World.new(clients)
        await executor.setup(world)
        workload = Workload(world)
        states = [workload.client(i) for i in range(clients)]
        say(f"profile: {clients} clients, {config.warmup:.0f}s warm-up")
        await executor.run_level(workload, states, max(config.warmup, 2.0), 0.0)
        pids = {pid: role_of(pid) for pid in process_tree(api.pid)}
        folder = Path(tempfile.mkdtemp(prefix="corridor-bench-profile-"))
        say(f"profile: {clients} clients, {config.duration:.0f}s sampled by py-spy "
            f"({len(pids)} processes)")
        samplers = {pid: Sampler(pid, config.duration, folder / f"{pid}.txt") for pid in pids}
        cpu_before = {pid: cpu_seconds(pid) for pid in pids}
        acks_before = len(executor.acks)
        meter = CpuMeter(api.pid, postmaster_of(ctx, dsn))
        result = await executor.run_level(workload, states, config.duration, 0.0)
        cores = meter.cores()
        ctx.shared_machine(cores)
        commands = len(executor.acks) - acks_before
        cpu = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in pids}
        counts = {pid: await asyncio.to_thread(s.result) for pid, s in samplers.items()}
        if not os.environ.get("CORRIDOR_BENCH_KEEP_LOGS"):  # py-spy's raw stacks, else gone
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        api.stop()
    processes: dict[str, Any] = {}
    for pid, role in pids.items():
        merged = processes.setdefault(role, {"cpu_s": 0.0, "samples": Counter()})
        merged["cpu_s"] += cpu[pid]
        merged["samples"].update(counts[pid])
    return {"clients": clients, "commands": commands,
            "commands_per_s": result.as_json()["commands_per_s"], "cores": cores,
            "processes": {role: per_command(data["cpu_s"], data["samples"], commands)
                          for role, data in processes.items()}}


def per_command(cpu_s: float, samples: Counter[str], commands: int) -> dict[str, Any]:
    """A process's CPU per command, split over the categories in proportion to samples."""
    total = sum(samples.values())
    us = cpu_s * 1e6 / max(commands, 1)
    return {"cpu_us_per_command": round(us, 1), "samples": total,
            "us_per_command": {name: round(us * samples[name] / total, 1)
                               for name in CATEGORIES if total and samples[name]},
            "share": {name: round(samples[name] / total, 3)
                      for name in CATEGORIES if total and samples[name]}}


def profile_table(profile: dict[str, Any]) -> list[str]:
    """Markdown: one row per category, one column per process, µs of CPU per command."""
    roles = list(profile["processes"])
    lines = [f"py-spy sampled each process of the API for the whole of one run at "
             f"{profile['clients']} clients ({profile['commands']:,} commands, "
             f"{profile['commands_per_s']:,.0f}/s while sampled). Each sample is counted "
             "for the innermost frame a category names (bench/cpuprofile.py); a process's "
             "CPU time per command is split in proportion. Microseconds of CPU per command:",
             "", "| category | " + " | ".join(r.replace("_", " ") for r in roles) + " |",
             "|---|" + "---|" * len(roles)]
    for name in CATEGORIES:
        cells = [profile["processes"][r]["us_per_command"].get(name) for r in roles]
        if any(cells):
            lines.append(f"| {name} | " + " | ".join(
                f"{c:.0f}" if c else "" for c in cells) + " |")
    lines.append("| **all** | " + " | ".join(
        f"**{profile['processes'][r]['cpu_us_per_command']:.0f}**" for r in roles) + " |")
    return lines
