"""Percentiles for the benchmarks' latency figures (one definition for every bench)."""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0 ≤ q ≤ 1) with linear interpolation between the closest ranks (numpy's
    default; q=0.5 is the median)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def percentile_ms(values: list[float], q: float) -> float:
    """percentile() of durations in seconds, in milliseconds."""
    return 1000 * percentile(values, q)
