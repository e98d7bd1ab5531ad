"""`corridor bench`: measure, print a table, write docs/benchmarks.json and .md."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
import uvloop
from rich.console import Console

from bench.context import BenchConfig
from bench.infra import REPO_ROOT
from bench.report import DEFAULT_SECTIONS, SECTIONS, rich_table, write
from bench.runner import run
from bench.server import ApiShape


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def bench(
    only: str = typer.Option(",".join(DEFAULT_SECTIONS), help="sections to run, "
                             "comma-separated: " + ", ".join(SECTIONS) + " (soak only when "
                             "named)"),
    duration: float = typer.Option(10.0, min=1.0, help="seconds measured per client level "
                                   "(and per baseline, and for the lag run)"),
    clients: str = typer.Option("1,8,32,64", help="concurrent HTTP clients per level"),
    rebuild_events: int = typer.Option(1_000_000, min=1000, help="events to rebuild from"),
    store_events: int = typer.Option(1_000_000, min=1000, help="events in the large store "
                                     "for the as-of replay"),
    out_dir: Path = typer.Option(REPO_ROOT / "docs", help="where benchmarks.json/.md go"),
    keep_data: bool = typer.Option(False, help="keep the benchmark databases afterwards"),
    api_writer_process: bool = typer.Option(
        True, "--api-writer-process/--api-one-process", help="serve the measured API as "
        "`corridor serve --writer-process` (HTTP worker and writer processes, projections in "
        "the supervising process; "
        "the PostgreSQL deployment) or as one process; the other shape is measured beside it "
        "at the target level"),
    api_workers: int = typer.Option(1, min=1, max=16, help="HTTP worker processes of the "
                                    "measured API (above 1 implies --api-writer-process)"),
    repeats: int = typer.Option(3, min=1, max=9, help="runs of the target client level (and "
                                "of the other API shape); the median is reported"),
    flag_trials: int = typer.Option(30, min=1, max=1000, help="recall-to-flag trials per "
                                    "deployment, idle and again under load (flags section)"),
    flag_clients: int = typer.Option(8, min=1, max=256, help="clients of the command load "
                                     "under which the recall-to-flag trials run"),
    soak_minutes: float = typer.Option(30.0, min=0.5, max=24 * 60, help="how long the soak "
                                       "sends its paced load (soak section)"),
    soak_rate: float = typer.Option(500.0, min=1.0, max=100_000, help="commands a second "
                                    "the soak sends"),
    worker_events: int = typer.Option(1_000_000, min=1000, help="events in the backlog the "
                                      "projection workers catch up (workers section)"),
) -> None:
    """Benchmark commands, projection lag, recall-to-flag, rebuild, replay, suggestions and
    memory against the targets.

    Prints the table and writes benchmarks.json and benchmarks.md. Uses the servers in
    CORRIDOR_BENCH_PG_DSN / CORRIDOR_BENCH_KAFKA_BOOTSTRAP, else throwaway ones
    (deploy/services.py), stopped afterwards.
    """
    sections = _csv(only)
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise typer.BadParameter(f"unknown sections {unknown}; choose from {list(SECTIONS)}")
    try:
        levels = tuple(int(c) for c in _csv(clients))
    except ValueError:
        raise typer.BadParameter(f"--clients takes numbers, got {clients!r}") from None
    config = BenchConfig(sections=tuple(sections), clients=levels, duration=duration,
                         rebuild_events=rebuild_events, store_events=store_events,
                         out_dir=out_dir, keep_data=keep_data,
                         api=ApiShape(api_writer_process or api_workers > 1, api_workers),
                         repeats=repeats, flag_trials=flag_trials,
                         flag_clients=flag_clients, soak_minutes=soak_minutes,
                         soak_rate=soak_rate, worker_events=worker_events)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report, failed = runner.run(run(config))
    console = Console(width=200)
    console.print(rich_table(report))
    json_path, md_path = write(report, config.out_dir)
    console.print(f"written: {json_path} and {md_path}")
    if failed:
        console.print(f"[bold red]sections failed: {', '.join(failed)}[/]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `bench` to the corridor CLI (listed in services.cli.main.PLUGINS)."""
    app.command("bench")(bench)
