"""The console section's figures: the board's first render against 500 ms and commands/s
with 50 consoles on the stream over without, against 0.9 (no browser, no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bench.report import Report
from bench.sections.console import add_figures, rows_in


def measured(render_p50: float, with_per_s: float, without_per_s: float) -> dict[str, Any]:
    run = {"accepted": 1, "refused": 0, "seconds": 10.0}
    return {"open_cases": 5000, "render_p50_ms": render_p50, "render_max_ms": render_p50 * 2,
            "render_breakdown_p50": {"board_request_ms": 40.0},
            "without_consoles": [{**run, "per_s": without_per_s}] * 2,
            "with_consoles": [{**run, "per_s": with_per_s}] * 2,
            "ratio": with_per_s / without_per_s, "ratio_of_means": with_per_s / without_per_s,
            "pair_ratios": [with_per_s / without_per_s] * 2,
            "api_cpu_us_per_command_without": 900.0, "api_cpu_us_per_command_with": 950.0,
            "frames_per_console_min": 100}


def figures(values: dict[str, Any]) -> list[Any]:
    report = Report(started_at=datetime.now(UTC), environment={}, parameters={})
    add_figures(SimpleNamespace(report=report), values)  # type: ignore[arg-type]
    return report.figures


def test_a_fast_board_and_a_small_slowdown_meet_both_targets() -> None:
    render, stream = figures(measured(render_p50=300, with_per_s=95, without_per_s=100))

    assert render.unit == "ms" and not render.missed
    assert stream.value == 0.95 and not stream.missed


def test_a_slow_board_and_a_large_slowdown_miss_them() -> None:
    render, stream = figures(measured(render_p50=700, with_per_s=80, without_per_s=100))

    assert render.missed and stream.missed


def test_the_rows_of_a_compact_event_are_counted_even_behind_a_chunk_size_line() -> None:
    event = (b'\r\n1f4\r\nevent: cases\nid: 41\ndata: {"fields": ["case_id"], "rows": '
             b'[["a"], ["b"], ["c"]]}')

    assert rows_in(event) == 3
    assert rows_in(b": keep-alive") == 0
    assert rows_in(b'event: refresh\ndata: {}') == 0
