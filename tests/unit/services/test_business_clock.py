"""The business clock: the system clock, moved forward by ticks when it may be told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.clock import BusinessClock


def test_a_told_clock_moves_forward_to_the_time_told() -> None:
    clock = BusinessClock(told=True)
    later = datetime.now(UTC) + timedelta(hours=5)

    clock.tell(later)

    assert later <= clock.now() < later + timedelta(minutes=1)


def test_a_told_clock_never_goes_back() -> None:
    clock = BusinessClock(told=True)
    later = datetime.now(UTC) + timedelta(hours=5)
    clock.tell(later)

    clock.tell(later - timedelta(hours=4))

    assert clock.now() >= later


def test_an_untold_clock_is_the_system_clock() -> None:
    before = datetime.now(UTC)

    shown = BusinessClock(told=False).now()

    assert before <= shown <= datetime.now(UTC)
