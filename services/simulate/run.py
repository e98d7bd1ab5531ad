"""Everything `corridor simulate` does: reach the server, play the day with a progress bar and
live counts, read the board's own counts at the end, and sum the day up."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from services.auth import TokenIssuer
from services.settings import Settings
from services.simulate.day import Day, Listener, Progress, play
from services.simulate.engine import Read
from services.simulate.http import HttpServer
from services.simulate.stories.cast import Scenario
from services.simulate.summary import Summary, summarize
from services.simulate.world import World


@dataclass(frozen=True)
class Options:
    """What `corridor simulate` was asked."""

    url: str
    hours: float = 24.0
    speed: float = 1000.0
    seed: int = 2022
    requests: float = 300.0
    volunteers: int = 48
    kafka_share: float = 0.0
    progress: bool = True


def issuer_for(settings: Settings) -> TokenIssuer:
    """Tokens the server accepts: signed with its secret (CORRIDOR_AUTH_SECRET, or on the
    embedded default the secret `corridor serve` keeps in its data folder), for its issuer
    and audience, as `corridor token` signs them."""
    from services.storage.secrets import auth_secret

    kept = settings.data_dir / "auth.secret"
    if settings.auth_secret is None and settings.store == "sqlite" and not kept.exists():
        raise RuntimeError(f"no auth secret: {kept} does not exist. Run this where the "
                           "embedded server runs (its CORRIDOR_DATA_DIR), or set "
                           "CORRIDOR_AUTH_SECRET to the server's secret")
    return TokenIssuer(auth_secret(settings), issuer=settings.token_issuer,
                       audience=settings.token_audience)


async def run(options: Options, settings: Settings) -> Summary:
    """Play the day against the server at options.url; its Summary."""
    server = HttpServer(options.url, issuer_for(settings),
                        token_hours=max(12.0, options.hours / options.speed + 1))
    try:
        await reachable(server)
        if options.kafka_share > 0:
            from services.simulate.kafka import KafkaCommands

            server.kafka = await KafkaCommands.start(settings, options.kafka_share,
                                                     options.seed)
        day = Day(Scenario(seed=options.seed, requests_per_day=options.requests,
                           volunteers=options.volunteers), hours=options.hours,
                  speed=options.speed)
        started = time.monotonic()
        with progress_bar(options.progress, day.minutes) as listener:
            world = await play(day, server, listener=listener)
        spent_minutes = (time.monotonic() - started) / 60
        summary = summarize(world, seed=options.seed, minutes=day.minutes,
                            speed_asked=options.speed,
                            speed_reached=day.minutes / spent_minutes if spent_minutes else 0)
        summary.board = await board_counts(server, world)
        return summary
    finally:
        await server.close()


async def reachable(server: HttpServer) -> None:
    try:
        reply = await server.client.get("/health/live", timeout=5)
    except httpx.TransportError:
        raise ConnectionError(f"no corridor server answers at {server.base_url}; start one "
                              "with `bash deploy/run.sh` (or pass --url)") from None
    if reply.status_code != 200:
        raise ConnectionError(f"{server.base_url}/health/live answered {reply.status_code}")


async def board_counts(server: HttpServer, world: World) -> dict[str, object]:
    """The server's own board counts once it has applied the day's last case command."""
    supervisors = world.by_role("supervisor")
    if not supervisors:
        return {}
    newest = max((c.position for c in world.cases.values()), default=0)
    params = {"min_position": str(newest), "wait_ms": "30000"} if newest else {}
    seen = await server.perform(Read("/board/counts", params, supervisors[0].actor))
    return seen.body if seen.ok and isinstance(seen.body, dict) else {}


@contextlib.contextmanager
def progress_bar(shown: bool, minutes: int) -> Iterator[Listener | None]:
    """A listener showing simulated time and live counts (on stderr), or one doing nothing."""
    if not shown:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(TextColumn("[bold]{task.fields[clock]}"), BarColumn(),
                   TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=False)
    task = bar.add_task("day", total=minutes, clock="setting up", counts="")

    def listener(progress: Progress) -> None:
        bar.update(task, completed=progress.minute, clock=_clock(progress),
                   counts=live_counts(progress.world, progress.speed))

    with bar:
        yield listener


def _clock(progress: Progress) -> str:
    return f"{progress.world.at(progress.minute):%a %H:%M} (hour {progress.minute // 60})"


def live_counts(world: World, speed: float) -> str:
    opened = sum(c.opened for c in world.cases.values())
    closed = sum(c.outcome is not None for c in world.cases.values())
    evacuated = sum(c.outcome == "evacuated" for c in world.cases.values())
    on_shift = sum(m.on_shift for m in world.members.values())
    tally = world.tally
    return (f"{opened} requests, {evacuated} evacuated, {opened - closed} open, "
            f"{on_shift} on shift, {tally.flags_seen} flags, "
            f"{sum(tally.stale_caught.values())} stale caught, "
            f"{sum(tally.sent.values())} commands, {sum(tally.refused.values())} refused, "
            f"{speed:,.0f}x")
