"""Hours on shift per window and per calendar day, split at midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from domain_builders import meta, volunteer

from domain.volunteer import Volunteer
from domain.workload import day_window, hours_on_shift, hours_on_shift_on_day

KYIV_WINTER = timezone(timedelta(hours=2))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 3, day, hour, minute, tzinfo=UTC)


def with_shifts(*spans: tuple[datetime, datetime | None]) -> Volunteer:
    v = volunteer()
    for start, end in spans:
        v.start_shift(meta=meta(start))
        if end is not None:
            v.end_shift(meta=meta(end))
    return v


def test_hours_in_a_window_count_only_the_overlap() -> None:
    v = with_shifts((at(1, 8), at(1, 12)), (at(1, 14), at(1, 20)))
    assert hours_on_shift(v, at(1, 10), at(1, 16)) == pytest.approx(4.0)


def test_a_shift_across_midnight_is_split_between_the_days() -> None:
    v = with_shifts((at(1, 20), at(2, 4)))
    assert hours_on_shift_on_day(v, date(2022, 3, 1)) == pytest.approx(4.0)
    assert hours_on_shift_on_day(v, date(2022, 3, 2)) == pytest.approx(4.0)


def test_days_are_counted_on_the_volunteers_clock() -> None:
    v = with_shifts((at(1, 20), at(2, 4)))  # 22:00 to 06:00 in Kyiv (UTC+2)
    assert hours_on_shift_on_day(v, date(2022, 3, 1), KYIV_WINTER) == pytest.approx(2.0)
    assert hours_on_shift_on_day(v, date(2022, 3, 2), KYIV_WINTER) == pytest.approx(6.0)


def test_a_running_shift_counts_up_to_now() -> None:
    v = with_shifts((at(1, 6), None))
    assert hours_on_shift_on_day(v, date(2022, 3, 1), as_of=at(1, 9, 30)) == pytest.approx(3.5)
    assert hours_on_shift_on_day(v, date(2022, 3, 2), as_of=at(1, 9, 30)) == 0.0


def test_a_twenty_hour_day_is_reported_as_such() -> None:
    v = with_shifts((at(1, 2), at(1, 12)), (at(1, 13), at(1, 23)))
    assert hours_on_shift_on_day(v, date(2022, 3, 1)) == pytest.approx(20.0)


def test_no_shifts_means_no_hours() -> None:
    assert hours_on_shift_on_day(volunteer(), date(2022, 3, 1)) == 0.0


def test_a_day_window_is_given_in_utc() -> None:
    start, end = day_window(date(2022, 3, 1), KYIV_WINTER)
    assert (start, end) == (at(1, 0) - timedelta(hours=2), at(2, 0) - timedelta(hours=2))
    assert start.tzinfo is UTC
