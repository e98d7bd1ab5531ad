"""Steady command load from a few concurrent clients, as a careful client sends it: each
command carries its own command id, is retried with that same id after a 503, a timeout or
a dropped connection, and every answer is recorded; a reader polls the board meanwhile and
a prober polls readiness."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

INTAKE = {"safe_now": False, "region": "Odesa", "destination": "Chisinau",
          "contact_channel": "phone", "name": "Fault Suite"}
CLIENT_TIMEOUT = 20.0  # what a client waits for one answer before it gives up and retries
TICK, STALL = 0.05, 0.2  # the suite's own loop is watched: woken this late, it was stalled


@dataclass
class Attempt:
    """One request and what came back (status 0: no answer: timeout or connection error)."""

    at: float  # monotonic time it was sent
    seconds: float
    status: int
    content_type: str = ""
    retry_after: str | None = None
    error: str = ""
    answer: dict[str, Any] | None = None  # the body of a 200


@dataclass
class Command:
    command_id: str
    case_id: str
    attempts: list[Attempt] = field(default_factory=list)
    answer: dict[str, Any] | None = None  # the 200 answer: acknowledged

    def body(self) -> dict[str, Any]:
        return {"command_id": self.command_id, "case_id": self.case_id,
                "person_id": str(uuid.uuid5(uuid.UUID(self.case_id), "person")),
                "intake": INTAKE}


@dataclass
class Load:
    """`clients` concurrent senders, each pausing `pause` seconds between its commands."""

    base: str
    headers: dict[str, str]
    read_headers: dict[str, str]
    clients: int = 4
    pause: float = 0.05
    commands: list[Command] = field(default_factory=list)
    reads: list[Attempt] = field(default_factory=list)
    readiness: list[tuple[float, int, Any]] = field(default_factory=list)
    """(when answered, status, body) of each readiness probe."""
    stalls: list[tuple[float, float]] = field(default_factory=list)
    """(when, seconds) the suite's own event loop was held up (its ticker woke late by more
    than STALL): a wait the load measured then is partly the suite's, not the server's."""
    started: float = 0.0
    stopped: float = 0.0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.started = time.monotonic()
        self._tasks = [asyncio.create_task(self._client()) for _ in range(self.clients)]
        self._tasks += [asyncio.create_task(self._reader()), asyncio.create_task(self._prober()),
                        asyncio.create_task(self._ticker())]

    async def stop(self) -> None:
        """Stop sending new commands; a command in flight is retried until it is answered
        or 30 s pass, so that what was sent is settled before the checks."""
        self._stop.set()
        await asyncio.gather(*self._tasks)
        self.stopped = time.monotonic()

    @property
    def acknowledged(self) -> list[Command]:
        return [c for c in self.commands if c.answer is not None]

    async def _client(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=CLIENT_TIMEOUT) as client:
            while not self._stop.is_set():
                command = Command(str(uuid.uuid4()), str(uuid.uuid4()))
                self.commands.append(command)
                await self._send_until_answered(client, command)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.pause)

    async def _send_until_answered(self, client: httpx.AsyncClient, command: Command) -> None:
        give_up: float | None = None
        while True:
            attempt = await _post(client, "/commands/cases/open", command.body(), self.headers)
            command.attempts.append(attempt)
            if attempt.status == 200:
                command.answer = attempt.answer
                return
            if attempt.status not in (0, 502, 503, 504):
                return  # an answer that is final (a rule, a bad body): not retried
            if self._stop.is_set():
                give_up = give_up or time.monotonic() + 30
                if time.monotonic() > give_up:
                    return
            await asyncio.sleep(min(float(attempt.retry_after or 0.2), 1.0))

    async def _ticker(self) -> None:
        while not self._stop.is_set():
            before = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK)
            late = time.monotonic() - before - TICK
            if late > STALL:
                self.stalls.append((before, late))

    async def _reader(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=CLIENT_TIMEOUT) as client:
            while not self._stop.is_set():
                self.reads.append(await _get(client, "/board", self.read_headers))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 0.25)

    async def _prober(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=5) as client:
            while not self._stop.is_set():
                try:  # taken when answered: a probe sent just before the database came
                    reply = await client.get("/health/ready")  # back may say so, truly
                    try:
                        body: Any = reply.json()
                    except ValueError:
                        body = reply.text[:200]
                    self.readiness.append((time.monotonic(), reply.status_code, body))
                except httpx.HTTPError as error:
                    self.readiness.append((time.monotonic(), 0, type(error).__name__))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 0.1)


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any],
                headers: dict[str, str]) -> Attempt:
    return await _request(client, "POST", path, headers, body)


async def _get(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Attempt:
    return await _request(client, "GET", path, headers, None)


async def _request(client: httpx.AsyncClient, method: str, path: str,
                   headers: dict[str, str], body: dict[str, Any] | None) -> Attempt:
    at = time.monotonic()
    try:
        reply = await client.request(method, path, json=body, headers=headers)
    except httpx.HTTPError as error:
        return Attempt(at, time.monotonic() - at, 0, error=type(error).__name__)
    attempt = Attempt(at, time.monotonic() - at, reply.status_code,
                      reply.headers.get("content-type", ""), reply.headers.get("retry-after"))
    if reply.status_code == 200 and method == "POST":
        attempt.answer = reply.json()
    elif reply.status_code >= 400:
        attempt.error = reply.text[:300]
    return attempt


def first_success_after(load: Load, moment: float) -> float | None:
    """Seconds from `moment` until a command sent after it was acknowledged."""
    sent = [a.at + a.seconds for c in load.commands for a in c.attempts
            if a.status == 200 and a.at >= moment]
    return min(sent) - moment if sent else None


def first_ready_after(load: Load, moment: float) -> float | None:
    """Seconds from `moment` until a readiness probe was answered 200."""
    times = [at for at, status, _ in load.readiness if status == 200 and at >= moment]
    return min(times) - moment if times else None


def stalled_during(load: Load, attempt: Attempt) -> float:
    """Seconds the suite's own loop was stalled while this attempt waited for its answer."""
    return sum(late for at, late in load.stalls
               if attempt.at <= at + late and at <= attempt.at + attempt.seconds)


def past_bound(load: Load, attempts: list[Attempt], bound: float) -> list[tuple[float, float]]:
    """Attempts whose answer took longer than `bound` (+0.5 s for the round trip) not counting
    what the suite's own loop was stalled meanwhile: (waited s, of which the suite stalled s).
    On a busy machine the suite's loop was seen stalled 3 s: a 5 s server answer then read as
    8 s, although the server had answered within its bound."""
    return [(round(a.seconds, 1), round(stalled_during(load, a), 1)) for a in attempts
            if a.seconds - stalled_during(load, a) > bound + 0.5]


def attempts_between(load: Load, start: float, end: float) -> list[Attempt]:
    return [a for c in load.commands for a in c.attempts if start <= a.at < end]


def summary(load: Load) -> dict[str, Any]:
    """The load's figures: clients, duration, commands sent and acknowledged, statuses."""
    statuses: dict[str, int] = {}
    for command in load.commands:
        for attempt in command.attempts:
            statuses[str(attempt.status)] = statuses.get(str(attempt.status), 0) + 1
    latencies = sorted(a.seconds for c in load.commands for a in c.attempts if a.status == 200)
    reads: dict[str, int] = {}
    for read in load.reads:
        reads[str(read.status)] = reads.get(str(read.status), 0) + 1
    duration = load.stopped - load.started
    return {"clients": load.clients, "seconds": round(duration, 1),
            "commands_sent": len(load.commands), "acknowledged": len(load.acknowledged),
            "rate_per_second": round(len(load.acknowledged) / duration, 1) if duration else 0,
            "command_answers": statuses, "read_answers": reads,
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1)
            if latencies else None,
            "max_answer_seconds": round(max((a.seconds for c in load.commands
                                             for a in c.attempts), default=0), 2),
            "suite_loop_stalls": len(load.stalls),
            "suite_loop_longest_stall_s": round(max((s for _, s in load.stalls), default=0),
                                                2)}
