"""`corridor rebuild` and `corridor project --from store|kafka`."""

from __future__ import annotations

import asyncio
import signal
from enum import StrEnum

import typer
import uvloop
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from projections.catalog import select
from projections.rebuild import RebuildReport, rebuild
from services import bootstrap
from services.kafka.projection_worker import GROUP_ID
from services.settings import Settings

console = Console(stderr=True)



class Source(StrEnum):
    """Where `corridor project` reads events."""

    STORE = "store"
    KAFKA = "kafka"


class RateColumn(ProgressColumn):
    """Events per second, as rich measures them."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "… events/s", style="cyan")


def register(app: typer.Typer) -> None:
    """Add the projection commands to the corridor command line."""
    app.command("rebuild")(rebuild_command)
    app.command("project")(project_command)


def rebuild_command(
    projection: list[str] = typer.Option([], "--projection", "-p", help="read model(s) to "
                                         "rebuild (default: all)"),
    processes: int = typer.Option(1, min=1, max=16, help="fill in this many processes "
                                  "(PostgreSQL only; each takes a share of the streams)"),
    switch: bool = typer.Option(True, help="make the new generation live when it caught up"),
    keep_retired: int = typer.Option(1, min=0, help="retired generations to keep"),
) -> None:
    """Rebuild read models from zero into a new generation, then switch (no downtime)."""
    settings = Settings()
    try:
        projections = select(projection)
    except KeyError as error:
        raise typer.BadParameter(str(error.args[0]), param_hint="--projection") from None
    report = uvloop.run(_rebuild(settings, [p.name for p in projections], processes, switch,
                                  keep_retired))
    _print_report(report)


async def _rebuild(settings: Settings, names: list[str], processes: int, switch: bool,
                   keep_retired: int) -> RebuildReport:
    parts = bootstrap.for_rebuild(settings, processes=processes)
    store, source = parts.store, parts.source
    await store.start()
    try:
        with Progress(TextColumn("[bold]rebuilding[/bold]"), BarColumn(), MofNCompleteColumn(),
                      RateColumn(), TimeRemainingColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("rebuild", total=None)
            return await rebuild(store, source, select(names), switch=switch,
                                 keep_retired=keep_retired, parallel=parts.parallel,
                                 progress=lambda done, total: bar.update(
                                     task, completed=done, total=total))
    finally:
        await source.close()
        await store.close()


def _print_report(report: RebuildReport) -> None:
    generations = ", ".join(f"{n} g{g}" for n, g in report.generations.items())
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in report.phases.items())
    state = "live" if report.switched else "built, not switched"
    console.print(f"rebuilt {report.events:,} events in {report.seconds:.1f}s "
                  f"({report.rate:,.0f} events/s): {generations} ({state}); {phases}")


def project_command(
    source: Source = typer.Option(Source.STORE, "--from", help="store: follow the event "
                                  "store's log; kafka: join the projection consumer group"),
    group_id: str = typer.Option(GROUP_ID, help="Kafka consumer group"),
) -> None:
    """Keep the read models current until stopped (Ctrl-C / SIGTERM)."""
    settings = Settings()
    if source is Source.KAFKA and not settings.uses_kafka:
        raise typer.BadParameter("CORRIDOR_KAFKA_BOOTSTRAP is not set", param_hint="--from")
    uvloop.run(_project(settings, source, group_id))


async def _project(settings: Settings, source: Source, group_id: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console.print(f"projecting from {source.value}; stop with Ctrl-C")
    worker = bootstrap.for_projection_worker(settings, from_kafka=source is Source.KAFKA,
                                             group_id=group_id)
    await worker(stop)
