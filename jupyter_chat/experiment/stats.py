"""An experiment's figures: the mean score with its 95% interval (Wilson for 0/1 scores,
Student's t for any other), percentiles, nothing but the standard library."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054  # the normal distribution's 97.5% point
# Student's t 97.5% points for 1 to 30 degrees of freedom; past 30, the Cornish-Fisher
# expansion below agrees with them to 1e-4
T975 = (
    12.7062,
    4.3027,
    3.1824,
    2.7764,
    2.5706,
    2.4469,
    2.3646,
    2.3060,
    2.2622,
    2.2281,
    2.2010,
    2.1788,
    2.1604,
    2.1448,
    2.1314,
    2.1199,
    2.1098,
    2.1009,
    2.0930,
    2.0860,
    2.0796,
    2.0739,
    2.0687,
    2.0639,
    2.0595,
    2.0555,
    2.0518,
    2.0484,
    2.0452,
    2.0423,
)


def t975(df: int) -> float:
    """Student's t 97.5% point for ``df`` degrees of freedom (a two-sided 95% interval)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if df <= len(T975):
        return T975[df - 1]
    z = Z95
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (it stays inside [0, 1] and is not empty at
    0 or n successes, unlike the normal approximation)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes <= 0 else max(0.0, centre - half)  # exact at the ends, no 1e-17
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return (low, high)


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """The 95% interval of a mean by Student's t (mean +- t * sd / sqrt(n)); a single value
    has no interval (nan, nan)."""
    n = len(values)
    if n < 2:
        return (math.nan, math.nan)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = t975(n - 1) * math.sqrt(var / n)
    return (mean - half, mean + half)


def is_binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def mean_interval(values: Sequence[float]) -> tuple[float, float, float, str]:
    """``(mean, low, high, method)`` of the values (one per item): Wilson when every value
    is 0 or 1, else Student's t (clipped to [0, 1] when every value lies in it); nan when
    there are none."""
    vals = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return (math.nan, math.nan, math.nan, "none")
    mean = sum(vals) / len(vals)
    if is_binary(vals):
        low, high = wilson(sum(vals), len(vals))
        return (mean, low, high, "wilson")
    low, high = t_interval(vals)
    if all(0.0 <= v <= 1.0 for v in vals):  # shares of 0/1 scores: the interval within [0, 1]
        low, high = max(0.0, low), min(1.0, high)
    return (mean, low, high, "t")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100), linear between the closest ranks (numpy's
    default); nan when empty."""
    vals = sorted(v for v in values if v is not None and not math.isnan(v))
    if not vals:
        return math.nan
    pos = (len(vals) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)
