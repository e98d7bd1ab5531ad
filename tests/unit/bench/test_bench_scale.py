"""The soak's and the projection workers' accounting: the paced load counts every answer
and keeps every acknowledgement, memory growth is a least-squares slope after the start,
and a catch-up's figures and differences add up (no speed is asserted)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import count
from uuid import uuid4

import orjson
import pytest

from bench.loadgen import HttpExecutor
from bench.mix import ClientState, Command
from bench.paced import MemorySample, SimulatedClock, memory_figures, run_paced, slope_per_minute
from bench.sections.soak import settle_seconds
from bench.sections.workers import CatchUp
from bench.workercheck import differences
from services.auth import TokenIssuer


def test_a_flat_series_has_no_slope_and_a_rising_one_its_rate_per_minute() -> None:
    assert slope_per_minute([(t, 200.0) for t in range(0, 600, 2)]) == 0.0
    rising = [(t, 100.0 + 0.05 * t + (1 if t % 4 else -1)) for t in range(0, 600, 2)]
    assert slope_per_minute(rising) == pytest.approx(3.0, abs=0.01)  # 0.05 MB/s
    assert slope_per_minute([(1.0, 5.0)]) is None


def test_the_slope_leaves_out_the_start_and_the_peak_does_not() -> None:
    samples = [MemorySample(t, 150.0 + (t if t < 300 else 0) * 0.2, {"writer": 100.0})
               for t in range(0, 1800, 2)]

    figures = memory_figures(samples, settle_seconds(1800))

    assert figures.settle_seconds == 300
    assert figures.slope_mb_per_min == pytest.approx(0.0)
    assert figures.peak_mb == pytest.approx(150 + 298 * 0.2)
    assert figures.peak_by_role == {"writer": 100.0}


def test_a_short_soak_settles_for_a_third_of_its_length() -> None:
    assert settle_seconds(180) == 60 and settle_seconds(3600) == 300


def test_the_clock_is_told_only_when_the_simulated_time_moved_on() -> None:
    moments = iter([datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=m)
                    for m in (0, 0, 5, 5, 9)])
    told = SimulatedClock(lambda: next(moments), lambda at: Command(
        "tick", "/clock/tick", {"at": at.isoformat()}, "admin:test", ("admin",)))

    sent = [told() for _ in range(5)]

    assert [c.body["at"][11:16] if c else None for c in sent] == [
        "00:00", None, "00:05", None, "00:09"]


class Answers:
    """A keep-alive HTTP server answering every third command 409, the others 200 with a
    stream, version and position (as the API does)."""

    def __init__(self) -> None:
        self.numbers = count(1)
        self.served = 0

    async def serve(self, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            await reader.readexactly(length)
            n = next(self.numbers)
            self.served += 1
            status, body = (409, b'{"rule":"x"}') if n % 3 == 0 else (200, orjson.dumps(
                {"stream_id": str(uuid4()), "version": n, "position": n}))
            writer.write(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s"
                         % (status, len(body), body))
            await writer.drain()
        writer.close()


class Commands:
    """A workload handing out one kind of command and counting the answers it is told."""

    def __init__(self) -> None:
        self.acknowledged_count = self.refused_count = 0

    def client(self, index: int) -> ClientState:
        return ClientState(index=index)

    def next_command(self, state: ClientState) -> Command:
        return Command("open", "/cases/open", {"case_id": str(uuid4())}, "volunteer:x",
                       ("volunteer",))

    def acknowledged(self, state: ClientState, command: Command, body: object = None) -> None:
        self.acknowledged_count += 1

    def refused(self, state: ClientState, command: Command, status: int,
                body: object = None) -> None:
        self.refused_count += 1


async def paced_run() -> tuple[dict[str, object], HttpExecutor, Answers, Commands]:
    answers, workload = Answers(), Commands()
    server = await asyncio.start_server(answers.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    executor = HttpExecutor(port, TokenIssuer("s" * 32))
    try:
        result = await run_paced(executor, workload,  # type: ignore[arg-type]
                                 [workload.client(i) for i in range(3)], rate=200.0,
                                 seconds=0.5)
    finally:
        server.close()
        await server.wait_closed()
    return result.as_json(), executor, answers, workload


def test_the_paced_load_counts_every_answer_and_keeps_every_acknowledgement() -> None:
    result, executor, answers, workload = asyncio.run(paced_run())

    assert result["sent"] == answers.served > 0
    statuses = result["statuses"]
    assert isinstance(statuses, dict)
    assert statuses.get("200", 0) + statuses.get("409", 0) == answers.served
    assert len(executor.acks) == statuses["200"] == result["acknowledged"]
    assert workload.acknowledged_count == statuses["200"]
    assert workload.refused_count == statuses.get("409", 0)
    assert all(position == version for _, version, position in executor.acks)


def test_a_catch_up_reports_cpu_per_thousand_events_per_worker() -> None:
    run = CatchUp(label="2 workers", events=100_000, first_applied=10.0, done=30.0,
                  worker_cpu={"worker 1": 12.0, "worker 2": 8.0})

    data = run.as_json()

    assert data["events_per_s"] == 5000.0
    assert data["cpu_s_per_1000_events"] == 0.2
    assert data["cpu_s_per_1000_events_per_worker"] == 0.1


def test_a_change_applied_twice_and_one_lost_show_as_differences() -> None:
    wanted = {"board": [(1, "a"), (2, "b")], "audit": [(1,), (2,)]}
    found = {"board": [(1, "a"), (2, "bb")], "audit": [(1,), (2,)]}

    assert differences(found, wanted) == {"board": {"rows": 2, "expected_rows": 2,
                                                    "unexpected": 1, "missing": 1}}
    assert differences(wanted, wanted) == {}
