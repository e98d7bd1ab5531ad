"""The as-of benchmark runs end to end and says what it measured (no timing assertions)."""

from __future__ import annotations

from typing import Any

from bench.audit_replay import measure_as_of
from services.settings import Settings


def test_measure_as_of_reports_what_it_measured(tmp_path: Any) -> None:
    result = measure_as_of(Settings(store="sqlite", data_dir=tmp_path), events_per_case=120,
                           background_events=60, queries=5)

    assert result["events_in_case"] == 120
    assert result["events_in_store"] >= 180
    assert set(result["as_of_version"]) == set(result["as_of_time"]) == {
        "p50_ms", "p95_ms", "max_ms"}
