"""Plays a day against a corridor server: the start of the day first (registrations, training,
resources), then minute by minute every story's requests, at up to 1,000 times real time.

The server stamps every command with its own business time (commands carry no client time).
To make hours pass in minutes, the simulator tells the server's clock each simulated minute
with the admin command `clock.tick` (POST /commands/clock/tick): on a server started with
CORRIDOR_CLOCK=told its business time moves to the tick's time and verifications run out by
it. A server on the system clock refuses a tick ahead of it (ClockNotTold); the day is then
played on the simulator's clock alone, stamped in real time by the server, and says so.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.simulate.commands import ADMIN, Command, command
from services.simulate.engine import Answer, Engine, Read, Send
from services.simulate.stories.cast import Scenario, cast, new_world, setup_phases
from services.simulate.world import World

MAX_SPEED = 1000.0


class Server(Protocol):
    """What the day needs of a corridor server (HttpServer, or a fake in tests)."""

    async def perform(self, step: Send | Read) -> Answer: ...


class SetupRefused(RuntimeError):
    """The server refused a command of the start of the day (nothing can follow)."""


@dataclass
class Progress:
    """Where the day is, for a progress bar and live counts."""

    minute: int
    minutes: int
    world: World
    started: float
    """time.monotonic() when the day began."""

    @property
    def speed(self) -> float:
        """Simulated minutes per real minute so far."""
        spent = time.monotonic() - self.started
        return self.minute / (spent / 60) if spent > 0 else 0.0


Listener = Callable[[Progress], None]


@dataclass
class Day:
    """One simulated day's parameters."""

    scenario: Scenario
    hours: float = 24.0
    speed: float = MAX_SPEED
    concurrency: int = 16

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.hours * 60))


def utc_now() -> datetime:
    return datetime.now(UTC)


async def play(day: Day, server: Server, *, listener: Listener | None = None,
               start: datetime | None = None,
               now: Callable[[], datetime] = utc_now) -> World:
    """Set the network up, then play `day.hours` of it; returns the network's notes. The day
    begins at `now()` (or the server's latest stamp, if later): who is on shift, awake or at
    night follows from that hour, so a test that wants one day every time gives a fixed
    `now`."""
    world = new_world(day.scenario, start or now())
    world.capabilities = await capabilities(server)
    await set_up(world, server)
    world.start = await server_time(world, server, now)
    world.told_clock = await tell(server, world.start) if day.speed > 1 else True
    engine = Engine()
    cast(world, engine, day.scenario, day.hours)
    limit = asyncio.Semaphore(day.concurrency)
    started = time.monotonic()
    for minute in range(day.minutes + 1):
        await _pace(started, minute, day.speed)
        engine.advance(minute)
        if world.told_clock and day.speed > 1 and minute:
            await tell(server, world.at(minute))
        await _minute(engine, server, limit)
        if listener is not None:
            listener(Progress(minute, day.minutes, world, started))
    return world


async def set_up(world: World, server: Server) -> None:
    """Register, train, report and verify, phase by phase; any refusal stops the day."""
    limit = asyncio.Semaphore(16)
    for phase in setup_phases(world):
        answers = await asyncio.gather(*(_limited(limit, server.perform(Send(c)))
                                         for c in phase))
        for sent, answer in zip(phase, answers, strict=True):
            world.tally.sent["setup"] += 1
            if not answer.ok:
                raise SetupRefused(f"{sent.path} by {sent.actor} answered {answer.status}: "
                                   f"{answer.body}")
            if isinstance(answer.body, dict) and answer.body.get("duplicate"):
                raise SetupRefused(
                    "this server already holds the network of this seed (a day was played "
                    "with it, and every id derives from the seed); pass another --seed")


async def capabilities(server: Server) -> frozenset[str]:
    """The paths the server's OpenAPI document lists: commands without their /commands
    prefix (/cases/hold-seats), views as they are (/cases/{case_id}/suggestions)."""
    seen = await server.perform(Read("/openapi.json", {}, ADMIN))
    paths = seen.body.get("paths", {}) if seen.ok and isinstance(seen.body, dict) else {}
    return frozenset(p.removeprefix("/commands") for p in paths)


async def server_time(world: World, server: Server,
                      now: Callable[[], datetime] = utc_now) -> datetime:
    """The server's business time now, as stamped on the last resource reported (a whole
    minute later, so every command of the day is stamped after it)."""
    resource = next(reversed(world.resources))
    seen = await server.perform(Read(f"/resources/{resource}", {}, ADMIN))
    stamped = None
    if seen.ok and isinstance(seen.body, dict) and seen.body.get("reported_at"):
        stamped = datetime.fromisoformat(seen.body["reported_at"])
    moment = max(stamped or world.start, now())
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def tell(server: Server, at: datetime) -> bool:
    """Tell the server's clock a time; False when it keeps the system clock."""
    answer = await server.perform(Send(tick_command(at)))
    return answer.ok


def tick_command(at: datetime) -> Command:
    """The admin's clock tick for a moment (its id derives from the moment: idempotent)."""
    return command("tick", "/clock/tick", ADMIN, random.Random(at.isoformat()),
                   at=at.isoformat())


async def _pace(started: float, minute: int, speed: float) -> None:
    delay = started + minute * 60 / speed - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def _minute(engine: Engine, server: Server, limit: asyncio.Semaphore) -> None:
    """Every request of this minute, round after round, each round's answers taken back in
    the order of its requests (the same seed plays the same day)."""
    while True:
        requests = engine.round()
        if not requests:
            return
        answers = await asyncio.gather(*(_limited(limit, server.perform(r.step))
                                         for r in requests))
        for request, answer in zip(requests, answers, strict=True):
            engine.answer(request, answer)


async def _limited(limit: asyncio.Semaphore, work: Awaitable[Answer]) -> Answer:
    async with limit:
        return await work
