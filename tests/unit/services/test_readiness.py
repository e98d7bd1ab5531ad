"""Readiness says which dependency is down and what that means for callers (issue 25): it
answered "ready" while the broker was down."""

from __future__ import annotations

from services.api.health import status_of

UP = {"state": "up"}
DOWN = {"state": "down"}


def test_every_dependency_up_is_ready() -> None:
    assert status_of({"store": UP, "writer": UP, "broker": UP,
                      "relay": {"state": "up", "lag": 3}}) == "ready"


def test_a_broker_that_is_down_is_degraded_events_do_not_go_out() -> None:
    assert status_of({"store": UP, "writer": UP, "broker": DOWN,
                      "relay": {"state": "up", "lag": 0}}) == "degraded"


def test_a_relay_far_behind_is_degraded() -> None:
    assert status_of({"store": UP, "writer": UP, "broker": UP,
                      "relay": {"state": "behind", "lag": 50_000}}) == "degraded"


def test_a_writer_shedding_load_is_degraded() -> None:
    assert status_of({"store": UP, "writer": {"state": "busy", "queued": 4096}}) == "degraded"


def test_a_store_or_writer_that_is_down_is_not_ready() -> None:
    assert status_of({"store": DOWN, "writer": UP}) == "not ready"
    assert status_of({"store": UP, "writer": DOWN, "broker": UP}) == "not ready"
