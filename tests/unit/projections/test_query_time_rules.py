"""What views compute at query time: shift hours, overload, usable resources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from projections.views.board import condition
from projections.views.workload import hours_today, hours_within, zone

NOW = datetime(2024, 3, 2, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv


def test_hours_are_clipped_to_the_window() -> None:
    spans = [(NOW - timedelta(hours=30), NOW - timedelta(hours=20)),
             (NOW - timedelta(hours=3), NOW)]

    assert hours_within(spans, NOW - timedelta(hours=24), NOW) == 7.0


def test_today_starts_at_midnight_on_the_volunteers_clock() -> None:
    overnight = [(NOW - timedelta(hours=14), NOW - timedelta(hours=6))]  # 22:00 to 06:00 Kyiv

    assert hours_today(overnight, NOW, ZoneInfo("Europe/Kyiv")) == 6.0
    assert hours_today(overnight, NOW, UTC) == 4.0


def test_an_unknown_time_zone_counts_as_utc() -> None:
    assert zone("Mars/Olympus") == ZoneInfo("UTC")


def board_resource(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {"status": "available", "verification": "verified",
                              "expires_at": NOW + timedelta(hours=1), "capacity": None,
                              "occupancy": 0}
    row.update(overrides)
    return row


def test_a_resource_is_usable_only_while_verified_available_unexpired_and_not_full() -> None:
    assert condition(board_resource(), NOW) is None
    assert condition(board_resource(status="unsafe"), NOW) == "unsafe"
    assert condition(board_resource(verification="rejected"), NOW) == "rejected"
    assert condition(board_resource(expires_at=NOW), NOW) == "expired"
    assert condition(board_resource(capacity=10, occupancy=10), NOW) == "full"
    assert condition(board_resource(expires_at=(NOW + timedelta(minutes=1)).isoformat()),
                     NOW) is None
