"""Pure figures arithmetic: percentiles, rates and how far a figure is from its target."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Direction = Literal["at_least", "at_most"]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction in 0..1) of unsorted values; NaN when empty.

    Nearest rank, not interpolation: a reported p99 is a latency some request really had.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within 0..1, got {fraction}")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    """Count, rate and latency percentiles (seconds) of one measured run."""

    count: int
    seconds: float
    p50: float
    p99: float
    max: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan


def summarize(latencies: Sequence[float], seconds: float) -> Summary:
    """Summary of per-operation latencies (seconds) observed over `seconds` of wall time."""
    return Summary(count=len(latencies), seconds=seconds, p50=percentile(latencies, 0.50),
                   p99=percentile(latencies, 0.99),
                   max=max(latencies) if latencies else math.nan)


@dataclass(frozen=True)
class Target:
    """A goal for a figure: at least (throughput) or at most (latency, memory) `value`."""

    value: float
    direction: Direction

    def ratio(self, figure: float | None) -> float | None:
        """How far the figure goes toward the target: >= 1 meets it, 0.5 is half-way.

        For "at least" targets figure/target; for "at most" targets target/figure, so that
        the ratio reads the same way for both (a p99 twice the limit gives 0.5).
        """
        if figure is None or math.isnan(figure):
            return None
        if self.direction == "at_least":
            return figure / self.value if self.value else math.inf
        if figure == 0:
            return math.inf
        return self.value / figure

    def met(self, figure: float | None) -> bool | None:
        ratio = self.ratio(figure)
        return None if ratio is None else ratio >= 1.0

    def label(self, unit: str) -> str:
        sign = ">=" if self.direction == "at_least" else "<="
        return f"{sign} {format_value(self.value, unit)}"


def format_value(value: float | None, unit: str) -> str:
    """A figure with its unit, rounded the way a reader compares it."""
    if value is None or math.isnan(value):
        return "n/a"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    if value >= 100:
        return f"{value:,.0f} {unit}".rstrip()
    if value == int(value):
        return f"{value:.0f} {unit}".rstrip()
    return f"{value:.1f} {unit}".rstrip()


def format_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    if math.isinf(ratio):
        return "met"
    verdict = "met" if ratio >= 1.0 else "MISSED"
    return f"{ratio:.2f}x {verdict}"
