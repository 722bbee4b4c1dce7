"""Agreement of a simulation with a real-time run of the same scenario (1 agent, same fleet).

The criterion (issue 17): per percentile p10, p20, ... p90 of the provider-ready times, the
simulated value is within 10 % of the real one or within 50 ms, whichever is larger.
Percentiles are nearest-rank over the ready tracers (``harness.results.stats``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.results.stats import percentile

__all__ = ["PercentileCheck", "agree", "agreement_table"]

PERCENTILES = tuple(range(10, 100, 10))
RELATIVE = 0.10
ABSOLUTE_MS = 50


@dataclass(frozen=True)
class PercentileCheck:
    """One percentile of the real and the simulated distribution, and the allowed gap."""

    p: int
    real_ms: int
    simulated_ms: int

    @property
    def allowed_ms(self) -> float:
        return max(RELATIVE * self.real_ms, ABSOLUTE_MS)

    @property
    def gap_ms(self) -> int:
        return self.simulated_ms - self.real_ms

    @property
    def ok(self) -> bool:
        return abs(self.gap_ms) <= self.allowed_ms


def agree(real_ms: Sequence[int], simulated_ms: Sequence[int]) -> list[PercentileCheck]:
    """The checks of p10..p90; both samples must hold at least one ready time.

    >>> [c.ok for c in agree([100] * 10, [149] * 10)][:2]
    [True, True]
    >>> agree([1000] * 10, [1200] * 10)[0].ok
    False
    """
    if not real_ms or not simulated_ms:
        raise ValueError("agreement needs ready tracers in both runs")
    real, sim = sorted(real_ms), sorted(simulated_ms)
    return [PercentileCheck(p, percentile(real, p), percentile(sim, p)) for p in PERCENTILES]


def agreement_table(checks: Sequence[PercentileCheck]) -> str:
    """One line per percentile: real, simulated, gap, allowed, verdict."""
    lines = ["pct   real ms   sim ms    gap ms  allowed  ok"]
    for c in checks:
        lines.append(
            f"p{c.p:<3} {c.real_ms:>8,} {c.simulated_ms:>8,} {c.gap_ms:>+9,} "
            f"{c.allowed_ms:>8,.0f}  {'yes' if c.ok else 'NO'}"
        )
    return "\n".join(lines)
