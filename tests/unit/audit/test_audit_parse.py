"""Moments given by people: a version or a time with a timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.audit.replay import parse_moment, parse_time


def test_a_number_is_a_version() -> None:
    assert parse_moment(" 12 ") == 12
    assert parse_moment("0") == 0


def test_a_time_needs_a_timezone() -> None:
    assert parse_moment("2022-03-01T08:00:00Z") == datetime(2022, 3, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone"):
        parse_time("2022-03-01T08:00:00")


def test_an_offset_whose_plus_became_a_space_in_a_url_is_understood() -> None:
    assert parse_time("2022-03-01T10:00:00 02:00") == datetime(
        2022, 3, 1, 10, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize("text", ["-1", "yesterday", "", "2022-13-01T00:00:00Z",
                                  "99999999999999999999", "0001-01-01T00:00:00+05:00"])
def test_anything_else_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError):
        parse_moment(text)
