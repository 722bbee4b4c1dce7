"""Percentiles over raw per-tracer samples (pure functions).

The proposal's load test reports, for 100 samples, ``p99 == max`` (TOTAL BOOT: p99 = max =
24,298 ms). The textbook nearest-rank definition, rank = ceil(p/100 * n), gives the 99th of 100
values, which is not the max. The definition that does give the proposal's figures is the one
the usual ``sorted[int(n * p)]`` code computes: rank = floor(p/100 * n) + 1 (1-based), clamped
to n. It is still a nearest-rank method (every percentile is one of the samples, no
interpolation), and it is what the harness uses everywhere (report, summary.json, thresholds).

>>> samples = list(range(1, 101))          # 1..100
>>> percentile(samples, 99)                # rank floor(99) + 1 = 100: the max, as in the proposal
100
>>> percentile(samples, 50)                # rank 51
51
>>> percentile(samples, 0), percentile(samples, 100)
(1, 100)
>>> percentile([7], 99)
7
>>> summarize([]) is None
True
>>> summarize([3, 1, 2])
{'min': 1, 'p50': 2, 'p75': 3, 'p90': 3, 'p95': 3, 'p99': 3, 'max': 3}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
)
"""The percentiles every summary carries, besides min and max."""


def rank(p: float, n: int) -> int:
    """The 1-based rank of percentile ``p`` (0..100) among ``n`` sorted samples.

    >>> [rank(p, 100) for p in (0, 50, 90, 99, 100)]
    [1, 51, 91, 100, 100]
    >>> [rank(p, 10) for p in (50, 90, 95, 99)]
    [6, 10, 10, 10]
    """
    if n <= 0:
        raise ValueError("rank of an empty sample set")
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    return min(n, math.floor(p / 100.0 * n + 1e-9) + 1)


def percentile(samples: Sequence[int], p: float) -> int:
    """Nearest-rank percentile ``p`` of ``samples`` (unsorted; see the module docstring)."""
    ordered = sorted(samples)
    return ordered[rank(p, len(ordered)) - 1]


def summarize(samples: Iterable[int]) -> dict[str, int] | None:
    """``{min, p50, p75, p90, p95, p99, max}`` of the samples, or ``None`` when there are none."""
    ordered = sorted(samples)
    if not ordered:
        return None
    out = {"min": ordered[0]}
    for name, p in PERCENTILES:
        out[name] = ordered[rank(p, len(ordered)) - 1]
    out["max"] = ordered[-1]
    return out


def boot_buckets(boot_total_ms: Sequence[int]) -> dict[str, int]:
    """The proposal's wait-mode buckets over total boot times: < 10 s, 28-32 s, > 32 s.

    >>> boot_buckets([5_000, 9_999, 10_000, 28_000, 32_000, 32_001])
    {'under_10s': 2, 'cliff_28_32s': 2, 'over_32s': 1}
    """
    return {
        "under_10s": sum(1 for v in boot_total_ms if v < 10_000),
        "cliff_28_32s": sum(1 for v in boot_total_ms if 28_000 <= v <= 32_000),
        "over_32s": sum(1 for v in boot_total_ms if v > 32_000),
    }
