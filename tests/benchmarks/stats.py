"""Percentiles and summaries (milliseconds, rounded for the report)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): the value below which p % of samples fall,
    always an observed sample, so p99 of 200 samples is the second worst."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def ms(seconds: float, digits: int = 2) -> float:
    return round(seconds * 1000, digits)


def summary_ms(seconds: Sequence[float]) -> dict[str, Any]:
    """n, p50, p90, p99, max and min of durations given in seconds, as milliseconds."""
    return {
        "n": len(seconds),
        "p50_ms": ms(median(seconds)),
        "p90_ms": ms(percentile(seconds, 90)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds)) if seconds else math.nan,
        "min_ms": ms(min(seconds)) if seconds else math.nan,
    }
