"""`corridor simulate`: a network's day played against a running corridor server."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import typer

from services.settings import Settings


def simulate(
    url: str = typer.Option("", help="the corridor server (default: "
                            "http://CORRIDOR_HOST:CORRIDOR_PORT, as `corridor serve` listens)"),
    hours: float = typer.Option(24.0, min=0.1, max=24.0 * 14, help="simulated hours to play"),
    speed: float = typer.Option(1000.0, min=1.0, max=1000.0, help="simulated time per real "
                                "time: 1 is real time, 1000 plays a day in about 90 seconds "
                                "(when the server keeps up)"),
    seed: int = typer.Option(2022, help="the same seed plays the same day: the same people, "
                             "requests and choices (every id derives from it, so a server "
                             "that has played a seed refuses it again: pass another)"),
    requests: float = typer.Option(300.0, min=1.0, max=100_000.0, help="requests for help "
                                   "per day, in waves: most at night and after shelling"),
    volunteers: int = typer.Option(48, min=2, max=10_000, help="trained volunteers (plus "
                                   "supervisors, fact-checkers, psychologists, newcomers)"),
    kafka_share: float = typer.Option(0.0, min=0.0, max=1.0, help="share of the intake "
                                      "bot's cases opened over the Kafka command topic "
                                      "(CORRIDOR_KAFKA_BOOTSTRAP) instead of HTTP"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Play a day of an evacuation network against a running server: the intake bot,
    volunteers on shifts in several time zones, supervisors, fact-checkers and trolls.

    Tokens are signed with the server's auth secret (CORRIDOR_AUTH_SECRET, or on the
    embedded default the one `corridor serve` keeps in CORRIDOR_DATA_DIR). Hours pass faster
    than real time only on a server started with CORRIDOR_CLOCK=told.
    """
    from services.simulate.run import Options, run

    settings = Settings()
    options = Options(url=url or f"http://{settings.host}:{settings.port}", hours=hours,
                      speed=speed, seed=seed, requests=requests, volunteers=volunteers,
                      kafka_share=kafka_share, progress=not quiet)
    started = time.monotonic()
    try:
        summary = asyncio.run(run(options, settings))
    except (ConnectionError, RuntimeError) as error:
        typer.echo(f"corridor simulate: {error}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        json.dump(summary.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    _print(summary, time.monotonic() - started)


def _print(summary: Any, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    from services.simulate.summary import lines

    table = Table(title=f"A simulated day of the network: {summary.hours:g} hours from "
                        f"{summary.started_at:%Y-%m-%d %H:%M} UTC, seed {summary.seed}, "
                        f"played in {seconds:.0f} s", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for label, text in lines(summary):
        table.add_row(label, text)
    Console(width=140).print(table)


def register(app: typer.Typer) -> None:
    """Add `simulate` to the corridor CLI (listed in services.cli.main.PLUGINS)."""
    app.command("simulate")(simulate)
