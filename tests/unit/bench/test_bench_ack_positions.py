"""Which answered positions the benchmark's accounting counts as wrong."""

from __future__ import annotations

from bench.verify import wrong_position


def test_an_answer_before_its_own_event_is_wrong() -> None:
    assert wrong_position(41, stored=42)


def test_an_answer_at_or_after_its_event_is_right() -> None:
    assert not wrong_position(42, stored=42)
    assert not wrong_position(57, stored=42)  # a command's last event, on another stream


def test_an_answer_without_a_position_is_not_counted() -> None:
    assert not wrong_position(None, stored=42)
