"""Recall-to-flag as a reader sees it: a case relying on a verified transport, the transport
marked unsafe, and `GET /board` polled (one region, so one case) from the `mark-unsafe`
answer until the case's row carries a flag for that resource. The same poll times a newly
opened case from its `open` answer to its board row.

The predicates and the accounting are pure (tests/unit/bench); `FlagTrials` drives the API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import orjson

from bench.httpclient import Connection, get_request
from bench.loadgen import HOST, HttpExecutor
from bench.mix import ADMIN, Command
from bench.stats import percentile
from services.auth import TokenIssuer

POLL_SECONDS = 0.005
"""Pause between one board answer and the next poll."""
VISIBLE_TIMEOUT = 10.0
"""A trial that shows nothing on the board within this long counts as never shown."""
ADMIN_SENDER = (ADMIN, (ADMIN,))
"""Whoever creates the world in bench.mix creates the cast too."""


def board_row(body: bytes, case_id: UUID) -> dict[str, Any] | None:
    """The case's row in a `GET /board` answer (a BoardPage), or None."""
    wanted = str(case_id)
    for row in orjson.loads(body).get("cases", []):
        if row.get("case_id") == wanted:
            found: dict[str, Any] = row
            return found
    return None


def shows_case(body: bytes, case_id: UUID) -> bool:
    """The board answer has the case's row."""
    return board_row(body, case_id) is not None


def shows_flag(body: bytes, case_id: UUID, resource_id: UUID) -> bool:
    """The board answer shows the case flagged for the resource (an active flag naming it)."""
    row = board_row(body, case_id)
    if row is None:
        return False
    wanted = str(resource_id)
    return any(flag.get("resource_id") == wanted for flag in row.get("flags") or [])


@dataclass
class Timings:
    """Latencies (seconds) of trials that showed, and how many never showed in time."""

    latencies: list[float] = field(default_factory=list)
    never: int = 0
    polls: int = 0

    def add(self, latency: float | None, polls: int) -> None:
        """One trial: its latency, or None when it never showed."""
        self.polls += polls
        if latency is None:
            self.never += 1
        else:
            self.latencies.append(latency)

    @property
    def trials(self) -> int:
        return len(self.latencies) + self.never

    def as_json(self) -> dict[str, Any]:
        """p50/p95/p99/max in ms (nearest rank; None without trials), counts, and each shown
        trial's latency in order (a cluster near a poll interval shows a missed wake-up). A
        trial that never showed counts as the timeout, a lower bound of its latency, so it
        cannot make a percentile look better than it was."""
        every = [*self.latencies, *[VISIBLE_TIMEOUT] * self.never]

        def ms(fraction: float) -> float | None:
            return round(percentile(every, fraction) * 1000, 2) if every else None

        return {"trials": self.trials, "samples": len(self.latencies), "never_shown": self.never,
                "p50_ms": ms(0.50), "p95_ms": ms(0.95), "p99_ms": ms(0.99), "max_ms": ms(1.0),
                "polls": self.polls, "each_ms": [round(s * 1000, 1) for s in self.latencies]}


def describe(figures: dict[str, Any]) -> str:
    """"p50 a, p95 b, p99 c, max d ms over n trials" (and how many never showed)."""
    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}"

    text = (f"p50 {fmt(figures['p50_ms'])}, p95 {fmt(figures['p95_ms'])}, "
            f"p99 {fmt(figures['p99_ms'])}, max {fmt(figures['max_ms'])} ms over "
            f"{figures['trials']} trials")
    if figures["never_shown"]:
        text += (f", {figures['never_shown']} never shown within {VISIBLE_TIMEOUT:.0f} s "
                 "(counted as that long)")
    return text


def _command(path: str, sender: tuple[str, tuple[str, ...]], **fields: Any) -> Command:
    body = {"command_id": str(uuid4()), **{k: str(v) if isinstance(v, UUID) else v
                                           for k, v in fields.items()}}
    return Command(kind="flags", path=path, body=body, actor=sender[0], roles=sender[1])


@dataclass(frozen=True)
class Cast:
    """Who plays a trial: a trained volunteer who holds the case, a supervisor who reports the
    transport, marks it unsafe and reads the board, and a fact-checker who verifies it."""

    volunteer: UUID = field(default_factory=uuid4)
    supervisor: UUID = field(default_factory=uuid4)
    checker: UUID = field(default_factory=uuid4)

    def sender(self, who: UUID, role: str) -> tuple[str, tuple[str, ...]]:
        return str(who), (role,)

    def setup(self) -> list[Command]:
        register = [_command("/volunteers/register", ADMIN_SENDER, volunteer_id=who,
                             display_name=name, roles=[role], languages=["uk"])
                    for who, name, role in ((self.volunteer, "Flag volunteer", "volunteer"),
                                            (self.supervisor, "Flag supervisor", "supervisor"),
                                            (self.checker, "Flag checker", "fact_checker"))]
        return [*register, _command("/volunteers/log-training", ADMIN_SENDER,
                                    volunteer_id=self.volunteer, minutes=300,
                                    topic="casework basics")]


class FlagTrials:
    """Runs trials on one API: each with a fresh transport, case and board region."""

    def __init__(self, port: int, issuer: TokenIssuer, cast: Cast) -> None:
        self.port, self.cast = port, cast
        self.executor = HttpExecutor(port, issuer)
        self.board_token = issuer.issue(str(cast.supervisor), ["supervisor"])
        self.commands = Connection(HOST, port)
        self.polls = Connection(HOST, port)
        self.board_get: list[float] = []
        """How long each `GET /board` took (the poll's own resolution)."""

    async def setup(self) -> None:
        for command in self.cast.setup():
            await self.send(command)

    async def close(self) -> None:
        await self.commands.close()
        await self.polls.close()

    async def send(self, command: Command) -> float:
        """Send one command; returns the perf_counter time its 200 answer was read."""
        status, body = await self.commands.send(self.executor.request(command))
        answered = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"{command.path} answered {status}: {body[:500]!r}")
        return answered

    async def trial(self, new_case: Timings, flag: Timings) -> None:
        """One trial: a transport reported and verified, a case opened (timed to its row),
        taken, transport arranged on the resource, the resource marked unsafe (timed to the
        flag)."""
        cast = self.cast
        supervisor = cast.sender(cast.supervisor, "supervisor")
        volunteer = cast.sender(cast.volunteer, "volunteer")
        resource, case, region = uuid4(), uuid4(), f"flagtrial-{uuid4().hex[:12]}"
        await self.send(_command("/resources/report", supervisor, resource_id=resource,
                                 kind="transport", region=region, details="minibus, 12 seats"))
        await self.send(_command("/resources/verify", cast.sender(cast.checker, "fact_checker"),
                                 resource_id=resource))
        intake = {"safe_now": False, "region": region, "destination": "Lviv",
                  "contact_channel": "telegram", "adults": 2, "children_ages": [7],
                  "languages": ["uk"]}
        opened = await self.send(_command("/cases/open", volunteer, case_id=case,
                                          person_id=uuid4(), intake=intake))
        new_case.add(*await self.until(region, opened, lambda b: shows_case(b, case)))
        await self.send(_command("/cases/take", volunteer, case_id=case))
        await self.send(_command("/cases/arrange-transport", volunteer, case_id=case,
                                 resource_ids=[str(resource)], description="bus at 7:00"))
        unsafe = await self.send(_command("/resources/mark-unsafe", supervisor,
                                          resource_id=resource, reason="shelled on the route"))
        flag.add(*await self.until(region, unsafe,
                                   lambda b: shows_flag(b, case, resource)))

    async def until(self, region: str, since: float,
                    shown: Callable[[bytes], bool]) -> tuple[float | None, int]:
        """Poll the board (this region only) until `shown(body)`; (latency or None, polls)."""
        request = get_request(HOST, self.port, f"/board?region={region}&limit=5",
                              self.board_token)
        polls = 0
        while True:
            sent = time.perf_counter()
            status, body = await self.polls.send(request)
            at = time.perf_counter()
            self.board_get.append(at - sent)
            polls += 1
            if status != 200:
                raise RuntimeError(f"GET /board answered {status}: {body[:500]!r}")
            if shown(body):
                return at - since, polls
            if at - since > VISIBLE_TIMEOUT:
                return None, polls
            await asyncio.sleep(POLL_SECONDS)
