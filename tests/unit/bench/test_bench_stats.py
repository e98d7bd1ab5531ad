"""Percentiles and target ratios of the benchmark harness."""

from __future__ import annotations

import math

import pytest

from bench.stats import Target, format_ratio, percentile, summarize


def test_percentile_is_a_value_some_request_really_had() -> None:
    latencies = [0.005, 0.001, 0.004, 0.002, 0.003]

    assert percentile(latencies, 0.5) == 0.003
    assert percentile(latencies, 0.99) == 0.005
    assert percentile(latencies, 0.0) == 0.001


def test_p99_of_a_hundred_values_is_the_ninety_ninth_smallest() -> None:
    latencies = [float(i) for i in range(100, 0, -1)]

    assert percentile(latencies, 0.99) == 99.0
    assert percentile(latencies, 0.50) == 50.0


def test_percentile_of_nothing_is_nan_and_out_of_range_fractions_are_refused() -> None:
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_summary_rate_is_count_over_the_measured_window() -> None:
    summary = summarize([0.01] * 300, seconds=2.0)

    assert summary.rate == 150.0
    assert summary.p50 == summary.p99 == summary.max == 0.01


def test_ratio_reads_the_same_way_for_throughput_and_latency_targets() -> None:
    throughput = Target(1500, "at_least")
    latency = Target(50, "at_most")

    assert throughput.ratio(750) == 0.5
    assert latency.ratio(100) == 0.5
    assert throughput.met(1500) is True
    assert latency.met(50.1) is False


def test_a_zero_figure_meets_an_at_most_zero_target() -> None:
    no_loss = Target(0, "at_most")

    assert no_loss.met(0) is True
    assert no_loss.met(3) is False
    assert format_ratio(no_loss.ratio(0)) == "met"


def test_a_missing_figure_has_no_ratio() -> None:
    assert Target(20, "at_most").ratio(None) is None
    assert Target(20, "at_most").met(math.nan) is None
