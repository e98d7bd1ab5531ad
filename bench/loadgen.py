"""Closed-loop HTTP load: N simulated clients, one keep-alive connection each, one process.

Each client sends its next command as soon as the previous answer arrived. Latency is the
time from writing the request to having read the whole answer. Every 200 answer's stream,
version and position is kept, so the run can check afterwards that the store holds them.
"""

from __future__ import annotations

import asyncio
import gc
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

import orjson

from bench.httpclient import Connection, post_prefix, post_request
from bench.mix import ClientState, Command, Workload, World
from bench.stats import Summary, summarize
from services.auth import TokenIssuer

HOST = "127.0.0.1"
Ack = tuple[UUID, int, int | None]
"""(stream id, version, store position) of an acknowledged command."""
AckListener = Callable[[Command, UUID, int, float], None]
"""Told of every 200 answer: (command, stream id, version, perf_counter time of the answer)."""


@dataclass
class LevelResult:
    """What one level (N clients for a duration) measured."""

    clients: int
    window: float
    latencies: array[float] = field(default_factory=lambda: array("d"))
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    rejections: list[str] = field(default_factory=list)

    @property
    def summary(self) -> Summary:
        return summarize(self.latencies, self.window)

    def as_json(self) -> dict[str, object]:
        summary = self.summary
        return {"clients": self.clients, "window_s": round(self.window, 3),
                "acknowledged": summary.count, "commands_per_s": round(summary.rate, 1),
                "p50_ms": round(summary.p50 * 1000, 3), "p99_ms": round(summary.p99 * 1000, 3),
                "max_ms": round(summary.max * 1000, 3),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "mix": dict(sorted(self.kinds.items())), "first_rejections": self.rejections}


def _problem(body: bytes) -> object:
    """A refusal's problem document (its rule and what it names), or None."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


class HttpExecutor:
    """Sends Commands to the API over raw HTTP/1.1 with one token per (actor, roles)."""

    def __init__(self, port: int, issuer: TokenIssuer) -> None:
        self.port = port
        self.issuer = issuer
        self._prefixes: dict[tuple[str, str, tuple[str, ...]], bytes] = {}
        self._tokens: dict[tuple[str, tuple[str, ...]], str] = {}
        """One token per caller (actor and roles), used for every command it sends, as a
        client signed in once does."""
        self.acks: list[Ack] = []

    def request(self, command: Command) -> bytes:
        key = (command.path, command.actor, command.roles)
        prefix = self._prefixes.get(key)
        if prefix is None:
            caller = (command.actor, command.roles)
            token = self._tokens.get(caller)
            if token is None:
                token = self._tokens[caller] = self.issuer.issue(command.actor,
                                                                 list(command.roles))
            prefix = post_prefix(HOST, self.port, f"/commands{command.path}", token)
            self._prefixes[key] = prefix
        return post_request(prefix, orjson.dumps(command.body))

    def _ack(self, body: bytes) -> Ack:
        answer = orjson.loads(body)
        ack = (UUID(answer["stream_id"]), answer["version"], answer.get("position"))
        self.acks.append(ack)
        return ack

    async def setup(self, world: World, concurrency: int = 16) -> None:
        """Create the world through the API (not timed); any non-200 answer is fatal."""
        for phase in world.setup_phases():
            async def worker(queue: list[Command]) -> None:
                connection = Connection(HOST, self.port)
                try:
                    while queue:
                        command = queue.pop()
                        status, body = await connection.send(self.request(command))
                        if status != 200:
                            raise RuntimeError(f"setup {command.path} answered {status}: "
                                               f"{body[:500]!r}")
                        self._ack(body)
                finally:
                    await connection.close()

            queue = list(phase)
            await asyncio.gather(*(worker(queue)
                                   for _ in range(min(concurrency, len(queue)))))

    async def run_level(self, workload: Workload, states: list[ClientState], duration: float,
                        warmup: float, *, on_ack: AckListener | None = None) -> LevelResult:
        """Run len(states) closed-loop clients for warmup + duration seconds."""
        connections = [Connection(HOST, self.port) for _ in states]
        await asyncio.gather(*(c.open() for c in connections))
        result = LevelResult(clients=len(states), window=duration)
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + duration
        gc.collect()
        gc.disable()  # a collector pause in the load generator would show up as latency
        try:
            await asyncio.gather(*(
                self._client(workload, state, connection, measure_from, stop_at, result,
                             on_ack)
                for state, connection in zip(states, connections, strict=True)))
        finally:
            gc.enable()
            await asyncio.gather(*(c.close() for c in connections))
        return result

    async def run_fixed(self, request: bytes, clients: int, duration: float,
                        warmup: float) -> LevelResult:
        """The same request from `clients` closed-loop clients (the HTTP stack's own cost)."""
        connections = [Connection(HOST, self.port) for _ in range(clients)]
        await asyncio.gather(*(c.open() for c in connections))
        result = LevelResult(clients=clients, window=duration)
        clock = time.perf_counter
        measure_from = clock() + warmup
        stop_at = measure_from + duration

        async def client(connection: Connection) -> None:
            while clock() < stop_at:
                sent = clock()
                status, _ = await connection.send(request)
                done = clock()
                if measure_from <= done <= stop_at:
                    result.statuses[status] += 1
                    if status == 200:
                        result.latencies.append(done - sent)

        gc.disable()
        try:
            await asyncio.gather(*(client(c) for c in connections))
        finally:
            gc.enable()
            await asyncio.gather(*(c.close() for c in connections))
        return result

    async def _client(self, workload: Workload, state: ClientState, connection: Connection,
                      measure_from: float, stop_at: float, result: LevelResult,
                      on_ack: AckListener | None) -> None:
        clock = time.perf_counter
        latencies, statuses, kinds = result.latencies, result.statuses, result.kinds
        while clock() < stop_at:
            command = workload.next_command(state)
            request = self.request(command)
            sent = clock()
            status, body = await connection.send(request)
            done = clock()
            measured = measure_from <= done <= stop_at
            if status == 200:
                stream_id, version, _ = self._ack(body)
                workload.acknowledged(state, command)
                if on_ack is not None:
                    on_ack(command, stream_id, version, done)
                if measured:
                    latencies.append(done - sent)
                    kinds[command.kind] += 1
            else:
                workload.refused(state, command, status, _problem(body))
                if len(result.rejections) < 5:
                    result.rejections.append(f"{command.path} {status}: {body[:300]!r}")
            if measured:
                statuses[status] += 1
