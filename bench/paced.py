"""A paced command load and a memory recorder, for the soak (bench.sections.soak).

The load sends the simulated network's commands at a fixed rate (not as fast as the server
answers, as the closed-loop levels do): command n is due at start + n / rate, and a pool of
clients takes them in turn, so a slow answer delays that client, not the schedule. While it
runs, a recorder samples the summed proportional set size (PSS) of the API's processes, so
that the run yields the peak and the growth after the start (least squares).
"""

from __future__ import annotations

import asyncio
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import orjson

from bench.httpclient import Connection, ProtocolError
from bench.loadgen import HOST, HttpExecutor
from bench.mix import ClientState, Command, Workload
from bench.procstat import process_tree, pss_mb, role_of
from bench.stats import Summary, summarize

Tick = Callable[[], Command | None]
"""The admin's next clock tick to send (the simulated time, when it moved on), or None."""


@dataclass
class PacedResult:
    """What a paced run sent and how it was answered."""

    rate: float
    seconds: float = 0.0
    sent: int = 0
    late: int = 0
    """Commands sent more than a second after they were due (the server fell behind)."""
    ticks: int = 0
    broken: int = 0
    """Requests whose connection broke before an answer (the server closed it, or died)."""
    latencies: array[float] = field(default_factory=lambda: array("d"))
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    """Refusals by command kind and rule (a stale resource caught, a hold lapsed...)."""

    @property
    def summary(self) -> Summary:
        return summarize(self.latencies, self.seconds)

    def as_json(self) -> dict[str, object]:
        summary = self.summary
        return {"target_rate": self.rate, "seconds": round(self.seconds, 1), "sent": self.sent,
                "acknowledged": summary.count, "commands_per_s": round(summary.rate, 1),
                "late_over_1s": self.late, "clock_ticks": self.ticks,
                "connections_broken": self.broken,
                "p50_ms": round(summary.p50 * 1000, 2), "p99_ms": round(summary.p99 * 1000, 2),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "mix": dict(self.kinds.most_common()),
                "refused": dict(self.refused.most_common(30))}


async def run_paced(executor: HttpExecutor, workload: Workload, states: Sequence[ClientState],
                    rate: float, seconds: float, *, tick: Tick | None = None,
                    tick_every: float = 2.0) -> PacedResult:
    """Send `rate` commands a second for `seconds` from len(states) clients; every
    `tick_every` seconds also the clock tick `tick` hands out. Acknowledgements are kept in
    `executor.acks` (for the store check afterwards)."""
    result = PacedResult(rate=rate)
    clock = time.perf_counter
    start = clock()
    stop_at = start + seconds
    due = iter(range(1 << 62))

    async def client(state: ClientState) -> None:
        connection = Connection(HOST, executor.port)
        try:
            while True:
                at = start + next(due) / rate
                if at >= stop_at or clock() >= stop_at:  # behind schedule: stop on time
                    return
                wait = at - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                elif wait < -1.0:
                    result.late += 1
                await _send(executor, workload, state, connection, result)
        finally:
            await connection.close()

    async def ticker() -> None:
        while clock() + tick_every < stop_at:
            await asyncio.sleep(tick_every)
            command = tick() if tick is not None else None
            if command is None:
                continue
            connection = Connection(HOST, executor.port)  # idle between ticks: a new one
            try:
                status, _ = await connection.send(executor.request(command))
                result.ticks += status == 200
            except (OSError, asyncio.IncompleteReadError, ProtocolError):
                result.broken += 1
            finally:
                await connection.close()

    await asyncio.gather(*(client(s) for s in states), ticker())
    result.seconds = clock() - start
    return result


async def _send(executor: HttpExecutor, workload: Workload, state: ClientState,
                connection: Connection, result: PacedResult) -> None:
    command = workload.next_command(state)
    sent = time.perf_counter()
    try:
        status, body = await connection.send(executor.request(command))
    except (OSError, asyncio.IncompleteReadError, ProtocolError):
        result.broken += 1  # counted; the next command opens a new connection
        await connection.close()
        workload.refused(state, command, 0, None)  # its story goes on without it
        return
    result.sent += 1
    result.statuses[status] += 1
    if status == 200:
        result.latencies.append(time.perf_counter() - sent)
        result.kinds[command.kind] += 1
        answer = orjson.loads(body)
        executor.acks.append((UUID(answer["stream_id"]), answer["version"],
                              answer.get("position")))
        workload.acknowledged(state, command)
    else:
        problem = _problem(body)
        rule = problem.get("rule") if isinstance(problem, dict) else None
        result.refused[f"{command.kind} {status} {rule or ''}".rstrip()] += 1
        workload.refused(state, command, status, problem)


def _problem(body: bytes) -> object:
    """A refusal's problem document (its rule and what it names), or None."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


@dataclass
class MemorySample:
    """The API's summed PSS at a moment of the run (seconds since the recorder started)."""

    at: float
    total_mb: float
    by_role: dict[str, float]


class MemoryRecorder:
    """Samples the summed PSS of a process and all under it every `interval` seconds, on a
    thread of its own (reading /proc takes a few milliseconds)."""

    def __init__(self, root: int, interval: float = 2.0) -> None:
        self.root, self.interval = root, interval
        self.samples: list[MemorySample] = []
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pss-recorder", daemon=True)

    def start(self) -> MemoryRecorder:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> list[MemorySample]:
        self._stop.set()
        self._thread.join(10)
        return self.samples

    def sample(self) -> None:
        by_role: dict[str, float] = {}
        for pid in process_tree(self.root):
            mb = pss_mb(pid)
            if mb is not None:
                role = role_of(pid)
                by_role[role] = by_role.get(role, 0.0) + mb
        if by_role:
            self.samples.append(MemorySample(time.monotonic() - self._started,
                                             sum(by_role.values()), by_role))

    def _run(self) -> None:
        self.sample()
        while not self._stop.wait(self.interval):
            self.sample()


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of (seconds, MB) points, in MB per minute (None for fewer
    than two points or no spread in time)."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


@dataclass(frozen=True)
class MemoryFigures:
    """Peak, settled start and growth of a soak's memory samples."""

    peak_mb: float | None
    settle_seconds: float
    slope_mb_per_min: float | None
    settled_samples: int
    first_settled_mb: float | None
    last_mb: float | None
    peak_by_role: dict[str, float]


def memory_figures(samples: Sequence[MemorySample], settle_seconds: float) -> MemoryFigures:
    """The peak over the whole run, and the slope over the samples taken after
    `settle_seconds` (the start: imports, the world set up, caches filling)."""
    settled = [s for s in samples if s.at >= settle_seconds]
    roles: dict[str, float] = {}
    for s in samples:
        for role, mb in s.by_role.items():
            roles[role] = max(roles.get(role, 0.0), mb)
    return MemoryFigures(
        peak_mb=max((s.total_mb for s in samples), default=None),
        settle_seconds=settle_seconds,
        slope_mb_per_min=slope_per_minute([(s.at, s.total_mb) for s in settled]),
        settled_samples=len(settled),
        first_settled_mb=settled[0].total_mb if settled else None,
        last_mb=samples[-1].total_mb if samples else None, peak_by_role=roles)


class SimulatedClock:
    """Hands out the admin's clock tick: the time moves `speed` times faster than the wall
    clock from `start`, never ahead of the network's simulated day (`now`), and only when
    it moved on past the last one told (ticks are idempotent by their moment)."""

    def __init__(self, now: Callable[[], datetime], tick: Callable[[datetime], Command], *,
                 start: datetime | None = None, speed: float | None = None,
                 wall: Callable[[], float] = time.monotonic) -> None:
        self._now, self._tick, self._wall = now, tick, wall
        self._start, self.speed = start, speed
        self._wall_start = wall()
        self.told: datetime | None = None

    def __call__(self) -> Command | None:
        at = self._now()
        if self._start is not None and self.speed is not None:
            paced = self._start + timedelta(seconds=(self._wall() - self._wall_start)
                                            * self.speed)
            at = min(at, paced)
        if self.told is not None and at <= self.told:
            return None
        self.told = at
        return self._tick(at)
