"""The one backoff of every reconnect loop: bounded, jittered, logged, reset by a success,
stopped by the loop's stop event, and raising when it gives up."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from projections.backoff import Backoff, GaveUp

log = logging.getLogger("corridor.test.backoff")


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def backoff(jitter: float = 1.0, **options: float) -> Backoff:
    return Backoff("the test loop", log, jitter=lambda: jitter, **options)  # type: ignore[arg-type]


def test_waits_double_from_the_first_up_to_the_longest() -> None:
    waits = backoff(first=0.1, longest=1.0)
    assert [waits.failed(OSError("down")) for _ in range(6)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_jitter_takes_at_most_half_of_each_wait_away() -> None:
    waits = backoff(jitter=0.0, first=0.1, longest=1.0)
    assert [waits.failed(OSError("down")) for _ in range(5)] == pytest.approx(
        [0.05, 0.1, 0.2, 0.4, 0.5])


def test_a_success_starts_the_next_failure_from_the_first_wait() -> None:
    waits = backoff(first=0.1, longest=10.0)
    for _ in range(4):
        waits.failed(OSError("down"))
    waits.succeeded()
    assert waits.failed(OSError("down again")) == pytest.approx(0.1)


def test_each_failure_is_logged_with_what_failed_and_the_next_wait(
        caplog: pytest.LogCaptureFixture) -> None:
    waits = backoff(first=0.25)
    with caplog.at_level(logging.WARNING, logger=log.name):
        waits.failed(ConnectionRefusedError("connection refused"))
    (record,) = caplog.records
    message = record.getMessage()
    assert "the test loop failed" in message
    assert "ConnectionRefusedError: connection refused" in message
    assert "retrying in 0.25s" in message


def test_it_gives_up_by_raising_once_failures_last_longer_than_allowed() -> None:
    clock = FakeClock()
    waits = Backoff("the test loop", log, give_up_after=30.0, clock=clock)
    waits.failed(OSError("down"))
    clock.now = 29.0
    waits.failed(OSError("still down"))
    clock.now = 30.0
    with pytest.raises(GaveUp, match=r"kept failing for 30\.0s") as raised:
        waits.failed(OSError("down for good"))
    assert isinstance(raised.value.__cause__, OSError)


def test_a_success_restarts_the_time_it_may_keep_failing() -> None:
    clock = FakeClock()
    waits = Backoff("the test loop", log, give_up_after=30.0, clock=clock)
    waits.failed(OSError("down"))
    clock.now = 29.0
    waits.succeeded()
    waits.failed(OSError("down again"))
    clock.now = 58.0
    assert waits.failed(OSError("still down")) > 0


async def test_a_pause_ends_when_the_loop_is_stopped() -> None:
    waits = backoff(first=3600.0, longest=3600.0)  # a test that waited it out would time out
    stop = asyncio.Event()
    pausing = asyncio.create_task(waits.pause(OSError("down"), stop))
    await asyncio.sleep(0)
    stop.set()
    await pausing
    assert waits.failures == 1


def test_a_blocking_pause_ends_when_the_thread_is_stopped() -> None:
    waits = backoff(first=3600.0, longest=3600.0)
    stop = threading.Event()
    threading.Timer(0.01, stop.set).start()
    waits.pause_blocking(OSError("down"), stop)
    assert waits.failures == 1
