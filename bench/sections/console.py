"""The coordinator console: the board's first render, measured in Debian's Chromium, with
5,000 open cases in the store; and what 50 consoles open on the board's event stream cost
command throughput (commands/s without, with, and again without them, in one run)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import orjson

from bench.context import BenchContext
from bench.coordination_world import Population, World
from bench.generate import settings_for
from bench.httpclient import Connection, get_request, post_prefix, post_request
from bench.infra import fresh_database
from bench.procstat import tree_cpu_seconds
from bench.report import Figure
from bench.sections.suggestions import caught_up
from bench.server import HOST, ApiShape, start_api
from bench.stats import Target, percentile
from services.bootstrap import build_runtime
from services.clock import now

RENDER_TARGET = Target(500, "at_most")
STREAM_TARGET = Target(0.9, "at_least")
"""50 consoles on the stream slow commands by at most 10%: with / without >= 0.9."""
CASES, VOLUNTEERS, RESOURCES = 5_000, 200, 500
WARM_LOADS, LOADS = 3, 15
SUBSCRIBERS, CLIENTS, SECONDS, WARM_SECONDS, ROUNDS = 50, 8, 6.0, 5.0, 5
CHROMIUM = os.environ.get("CORRIDOR_BENCH_CHROMIUM", "/usr/bin/chromium")
RENDERED = "corridor:board-rendered"
"""The performance mark the board sets once its first page of rows is on screen."""


async def run(ctx: BenchContext) -> None:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing (apt-get install chromium)")
    async with fresh_database(ctx.servers.ensure_postgres(), "console",
                              keep=ctx.config.keep_data) as dsn:
        say(f"writing {CASES:,} open cases, {VOLUNTEERS} volunteers, {RESOURCES} resources")
        population = await asyncio.to_thread(populate, dsn, ctx.master_key)
        api = await start_api(ctx.api_env(dsn), ApiShape(writer_process=True), timeout=120)
        try:
            token = ctx.issuer.issue(str(population.supervisor), ["supervisor", "volunteer"])
            await caught_up(api.port, token)
            say(f"first render of the board in Chromium, {LOADS} loads after {WARM_LOADS}")
            renders, breakdown = await asyncio.to_thread(first_renders, api.port, token)
            say(f"commands/s from {CLIENTS} clients for {SECONDS:.0f} s: without, with "
                f"{SUBSCRIBERS} consoles on /board/stream, without again")
            await throughput(api.port, token, WARM_SECONDS)  # untimed: caches, connections
            async with consoles(api.port, token, SUBSCRIBERS):  # and the streams' first use
                await throughput(api.port, token, WARM_SECONDS)
            without, watched, received = [], [], {}
            for _ in range(ROUNDS):  # in pairs, so drift on a shared machine hits both
                without.append(await metered(api.pid, throughput(api.port, token)))
                async with consoles(api.port, token, SUBSCRIBERS) as frames:
                    watched.append(await metered(api.pid, throughput(api.port, token)))
                    await asyncio.sleep(1)  # the last frames of the measured commands
                received = dict(frames)  # filled in as the consoles close
            api.check_alive()
        finally:
            api.stop()
    base = sum(r["per_s"] for r in without) / len(without)
    loaded = sum(r["per_s"] for r in watched) / len(watched)
    pairs = [w["per_s"] / b["per_s"] for b, w in zip(without, watched, strict=True)
             if b["per_s"]]
    measured = {"open_cases": len(population.open_cases), "render_ms": renders,
                "render_p50_ms": round(percentile(renders, 0.5), 1),
                "render_max_ms": round(max(renders), 1), "render_breakdown_p50": breakdown,
                "without_consoles": without, "with_consoles": watched,
                "per_s_without": round(base, 1), "per_s_with": round(loaded, 1),
                "ratio": round(statistics.median(pairs), 3) if pairs else None,
                "ratio_of_means": round(loaded / base, 3) if base else None,
                "pair_ratios": [round(p, 3) for p in pairs],
                "api_cpu_us_per_command_without": median_of(without, "api_cpu_us"),
                "api_cpu_us_per_command_with": median_of(watched, "api_cpu_us"),
                "frames_per_console_min": min(received.values(), default=0),
                "consoles_connected": len(received)}
    ctx.report.details["console"] = measured
    say(f"board first render p50 {measured['render_p50_ms']} ms, max "
        f"{measured['render_max_ms']} ms ({breakdown}); commands/s without "
        f"{[r['per_s'] for r in without]}, with {SUBSCRIBERS} consoles "
        f"{[r['per_s'] for r in watched]}: ratio {measured['ratio']}")
    add_figures(ctx, measured)


async def metered(api_pid: int, run: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """A throughput run with the CPU the API's processes used per accepted command."""
    before = sum(tree_cpu_seconds(api_pid).values())
    found = await run
    used = sum(tree_cpu_seconds(api_pid).values()) - before
    found["api_cpu_us"] = round(used / found["accepted"] * 1e6, 1) if found["accepted"] else None
    return found


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 1) if values else None


def populate(dsn: str, master_key: str) -> Population:
    runtime = build_runtime(settings_for(dsn, master_key), start_writer=False)
    try:
        return World(runtime.app, now()).populate(CASES, VOLUNTEERS, RESOURCES)
    finally:
        runtime.close()


def first_renders(port: int, token: str) -> tuple[list[float], dict[str, float]]:
    """Milliseconds from navigation start to the board's first page of rows on screen, as
    the browser's own clock tells (a fresh page each time, the token already in the tab)."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    found: list[float] = []
    breakdown: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=args)
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      bypass_csp=True)  # wait_for_function evaluates text
        context.add_init_script(
            f"sessionStorage.setItem('corridor.console.token', {json.dumps(token)})")
        for i in range(WARM_LOADS + LOADS):
            page = context.new_page()
            page.goto(f"http://{HOST}:{port}/console/#/board")
            page.wait_for_function(f"performance.getEntriesByName('{RENDERED}').length > 0",
                                   timeout=60_000)
            took = page.evaluate(f"performance.getEntriesByName('{RENDERED}')[0].startTime")
            parts = page.evaluate(BREAKDOWN)
            rows = page.locator("[data-case-id]").count()
            page.close()
            if rows == 0:
                raise RuntimeError("the board rendered no rows")
            if i >= WARM_LOADS:
                found.append(float(took))
                for name, value in parts.items():
                    breakdown.setdefault(name, []).append(float(value))
        browser.close()
    return found, {k: round(percentile(v, 0.5), 1) for k, v in breakdown.items()}


BREAKDOWN = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const took = (path) => {
    const r = performance.getEntriesByType('resource').find((e) => e.name.includes(path));
    return r ? r.responseEnd - r.startTime : -1;
  };
  return {dom_content_loaded_ms: nav.domContentLoadedEventEnd, board_request_ms:
    took('/board?'), counts_request_ms: took('/board/counts')};
}"""
"""p50 of where the time goes: the page's modules parsed, GET /board and /board/counts."""


async def throughput(port: int, token: str, seconds: float = SECONDS) -> dict[str, Any]:
    """cases/open from CLIENTS keep-alive clients for `seconds`: commands/s and refusals."""
    prefix = post_prefix(HOST, port, "/commands/cases/open", token)
    deadline = time.monotonic() + seconds
    counts = {"accepted": 0, "refused": 0}
    rng = random.Random(24)

    async def client() -> None:
        connection = Connection(HOST, port)
        try:
            while time.monotonic() < deadline:
                body = orjson.dumps({
                    "command_id": str(uuid.uuid4()), "case_id": str(uuid.uuid4()),
                    "person_id": str(uuid.uuid4()), "intake": {
                        "safe_now": rng.random() < 0.7, "region": rng.choice(REGIONS),
                        "destination": "Lviv", "contact_channel": "telegram"}})
                status, _ = await connection.send(post_request(prefix, body))
                counts["accepted" if status == 200 else "refused"] += 1
        finally:
            await connection.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    elapsed = time.monotonic() - started
    return {**counts, "seconds": round(elapsed, 2),
            "per_s": round(counts["accepted"] / elapsed, 1)}


REGIONS = ("Kharkiv", "Mariupol", "Kherson", "Sumy", "Chernihiv")


@contextlib.asynccontextmanager
async def consoles(port: int, token: str, count: int) -> AsyncIterator[dict[int, int]]:
    """`count` open event streams, as consoles hold them, held by a process of their own
    (reading them in the load generator's event loop would slow the load generator, not the
    server); yields frames counted per stream, filled in when they close."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.sections.console", str(port), str(count),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "CORRIDOR_BENCH_CONSOLE_TOKEN": token})
    assert child.stdin is not None and child.stdout is not None
    frames: dict[int, int] = {}
    try:
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        if line.strip() != b"ready":
            raise RuntimeError(f"the consoles did not connect: {line[:200]!r}")
        yield frames
    finally:
        child.stdin.close()  # the listeners stop and print what they received
        out, _ = await asyncio.wait_for(child.communicate(), timeout=60)
        if out.strip():
            frames.update({int(k): v for k, v in json.loads(out).items()})


async def listen_all(port: int, token: str, count: int) -> dict[int, int]:
    """Hold `count` streams until standard input closes; frames received per stream."""
    frames: dict[int, int] = {}
    ready = [asyncio.Event() for _ in range(count)]
    tasks = [asyncio.create_task(_listen(port, token, i, frames, ready[i]))
             for i in range(count)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), timeout=30)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return frames


async def _listen(port: int, token: str, index: int, frames: dict[int, int],
                  ready: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        request = get_request(HOST, port, "/board/stream?compact=true", token)  # as the console
        writer.write(request.replace(b"\r\n\r\n", b"\r\nAccept: text/event-stream\r\n\r\n", 1))
        await reader.readuntil(b"\r\n\r\n")
        frames[index] = 0
        ready.set()
        pending = b""
        while chunk := await reader.read(1 << 20):  # chunked encoding's size lines stay in,
            *whole, pending = (pending + chunk).split(b"\n\n")  # outside the events
            frames[index] += sum(rows_in(event) for event in whole)
    finally:
        writer.close()


def rows_in(event: bytes) -> int:
    """Board rows in one server-sent event of a compact stream (`cases`)."""
    if b"event: cases\n" not in event:
        return 0
    data = event.partition(b"data: ")[2].split(b"\n", 1)[0]
    rows: list[Any] = orjson.loads(data)["rows"]
    return len(rows)


def add_figures(ctx: BenchContext, measured: dict[str, Any]) -> None:
    without = ", ".join(f"{r['per_s']:,.0f}" for r in measured["without_consoles"])
    watched = ", ".join(f"{r['per_s']:,.0f}" for r in measured["with_consoles"])
    ctx.report.add(Figure(
        "console", f"board first render in Chromium, p50, {measured['open_cases']:,} open "
        "cases", measured["render_p50_ms"], "ms", RENDER_TARGET,
        [f"max {measured['render_max_ms']} ms over {LOADS} loads; p50 parts: "
         + ", ".join(f"{k} {v}" for k, v in measured["render_breakdown_p50"].items())],
        "navigation start to the first page of 50 rows on screen (the board's performance "
        "mark), HTML, modules, /board and /board/counts included; headless Debian Chromium "
        "at 1280 px on the same machine as `corridor serve --writer-process` and PostgreSQL"))
    ctx.report.add(Figure(
        "console", f"commands/s with {SUBSCRIBERS} consoles on /board/stream / without",
        measured["ratio"], "ratio", STREAM_TARGET,
        [f"commands/s without: {without}; with: {watched} (each pair's ratio: "
         f"{', '.join(f'{p:.2f}' for p in measured['pair_ratios'])}; ratio of the means "
         f"{measured['ratio_of_means']}); the API's CPU per command: "
         f"{measured['api_cpu_us_per_command_without']} µs without, "
         f"{measured['api_cpu_us_per_command_with']} µs with (medians); each console got "
         f"at least {measured['frames_per_console_min']:,} board rows"],
        f"cases/open from {CLIENTS} keep-alive clients, {SECONDS:.0f} s per run after "
        f"{WARM_SECONDS:.0f} s untimed without and {WARM_SECONDS:.0f} s with the consoles, "
        f"then without and with {SUBSCRIBERS} open event streams "
        f"in {ROUNDS} pairs (the median of each pair's with / without: throughput on this "
        "shared machine drifts more from one run to the next than the consoles move it); "
        "every opened case is a board row sent to every stream (compact=true, as the "
        "console asks)"))


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":  # the consoles' process (see `consoles`)
    counted = asyncio.run(listen_all(int(sys.argv[1]), os.environ["CORRIDOR_BENCH_CONSOLE_TOKEN"],
                                     int(sys.argv[2])))
    print(json.dumps(counted), flush=True)
