"""``harness validate``: a real tracer's provider-ready distribution against the stub's, pure.

The same scenario runs twice on the same runtime, once with real tracers of one kind and once
with stubs of the matching client profile (:data:`PROFILE_OF`); this module compares the two
sets of RC delays, :func:`rc_delays_ms`: each ready tracer's provider-ready time minus its own
start cost (``start_ms``: ``import ddtrace.auto`` or ``tracer.init()``, at whose end the real
client sends its first poll; 0 for a stub). The start cost is the machine's, not RC's: 50
ddtrace-py tracers starting at once on 2 shared cores take 1.4-1.9 s each (docs/real-tracers.md),
and counting it would compare the machine's CPU contention, not the model. It is printed beside
the table. The comparison: nearest-rank percentiles p10..p90 side by side, each difference
against the tolerance (every percentile within ``relative`` of the real one or ``absolute_ms``,
whichever is larger), and the two-sample Kolmogorov-Smirnov statistic (the largest vertical gap
between the two empirical CDFs). ``validate.json`` is :class:`Validation`.

>>> ks_statistic([1, 2, 3], [1, 2, 3])
0.0
>>> ks_statistic([1, 2], [3, 4])
1.0
>>> Tolerance.parse("15%,300ms")
Tolerance(relative=0.15, absolute_ms=300)
>>> Tolerance().allowed_ms(7000), Tolerance().allowed_ms(1000)
(1050, 300)
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from harness.errors import HarnessError
from harness.results.samples import READY, TracerSample
from harness.results.stats import percentile

PROFILE_OF = {"ddtrace-py": "ddtrace-py-4.16", "dd-trace-js": "dd-trace-js-5.132"}
"""The stub client profile that models each real kind (``tracer_stub/profiles.py``)."""

VALIDATED_PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


class ValidateError(HarnessError):
    """``harness validate`` was asked for something it cannot compare."""


@dataclass(frozen=True)
class Tolerance:
    """How far a stub percentile may be from the real one: ``max(relative * real,
    absolute_ms)``; default 15 % or 300 ms."""

    relative: float = 0.15
    absolute_ms: int = 300

    @classmethod
    def parse(cls, text: str) -> Tolerance:
        """``"15%,300ms"`` (either part may be left out, the other keeps its default)."""
        relative, absolute = cls.relative, cls.absolute_ms
        for part in (p.strip() for p in text.split(",") if p.strip()):
            try:
                if part.endswith("%"):
                    relative = float(part[:-1]) / 100.0
                elif part.endswith("ms"):
                    absolute = int(float(part[:-2]))
                elif part.endswith("s"):
                    absolute = int(float(part[:-1]) * 1000)
                else:
                    raise ValueError(part)
            except ValueError:
                raise ValidateError(
                    f"--tolerance {text!r}: expected e.g. '15%,300ms' (a percentage and/or a "
                    "duration in ms or s)"
                ) from None
        if relative < 0 or absolute < 0:
            raise ValidateError(f"--tolerance {text!r}: must not be negative")
        return cls(relative, absolute)

    def allowed_ms(self, real_ms: int) -> int:
        return max(round(self.relative * real_ms), self.absolute_ms)

    def describe(self) -> str:
        return f"{self.relative * 100:g}% or {self.absolute_ms} ms, whichever is larger"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Row(_Part):
    """One percentile: both values, their difference (stub - real) and what is allowed."""

    percentile: int
    real_ms: int
    stub_ms: int
    diff_ms: int
    allowed_ms: int
    ok: bool


class Side(_Part):
    """One of the two runs."""

    kind: str
    tracers: int
    ready: int
    results: str
    """Its results folder."""
    start_p50_ms: int | None = None
    start_p90_ms: int | None = None
    """The tracers' own start cost (subtracted from each provider-ready time)."""


def rc_delays_ms(rows: Sequence[TracerSample]) -> list[int]:
    """Provider ready minus the tracer's own start cost, for every ready tracer, sorted."""
    return sorted(
        r.provider_ready_ms - (r.start_ms or 0)
        for r in rows
        if r.outcome == READY and r.provider_ready_ms is not None
    )


def side_of(kind: str, rows: Sequence[TracerSample], results: str) -> Side:
    """A run's side of the comparison."""
    starts = [r.start_ms for r in rows if r.outcome == READY and r.start_ms is not None]
    return Side(
        kind=kind,
        tracers=len(rows),
        ready=len(rc_delays_ms(rows)),
        results=results,
        start_p50_ms=percentile(starts, 50) if starts else None,
        start_p90_ms=percentile(starts, 90) if starts else None,
    )


class Validation(_Part):
    """Everything ``validate.json`` holds."""

    kind: str
    profile: str
    scenario: str
    agent_policy: str
    runtime: str
    tolerance: str
    real: Side
    stub: Side
    rows: tuple[Row, ...]
    ks_statistic: float
    passed: bool
    problems: tuple[str, ...] = ()


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: sup over x of |F_a(x) - F_b(x)|."""
    if not a or not b:
        raise ValidateError("the Kolmogorov-Smirnov statistic needs samples on both sides")
    sa, sb = sorted(a), sorted(b)
    gap = 0.0
    for x in (*sa, *sb):
        fa = bisect.bisect_right(sa, x) / len(sa)
        fb = bisect.bisect_right(sb, x) / len(sb)
        gap = max(gap, abs(fa - fb))
    return round(gap, 4)


def compare(
    real_ms: Sequence[int],
    stub_ms: Sequence[int],
    tolerance: Tolerance,
    *,
    real_fleet: int,
    stub_fleet: int,
) -> tuple[tuple[Row, ...], float, tuple[str, ...]]:
    """The rows, the KS statistic and the problems (a side with no ready tracer, or fewer
    ready than its fleet: a tracer that never became ready has no time to compare)."""
    problems = []
    for side, values, fleet in (("real", real_ms, real_fleet), ("stub", stub_ms, stub_fleet)):
        if not values:
            raise ValidateError(f"no {side} tracer became ready: nothing to compare")
        if len(values) < fleet:
            problems.append(f"{fleet - len(values)} of {fleet} {side} tracers never became ready")
    rows = []
    for p in VALIDATED_PERCENTILES:
        real, stub = percentile(real_ms, p), percentile(stub_ms, p)
        allowed = tolerance.allowed_ms(real)
        rows.append(Row(
            percentile=p, real_ms=real, stub_ms=stub, diff_ms=stub - real, allowed_ms=allowed,
            ok=abs(stub - real) <= allowed,
        ))  # fmt: skip
    return tuple(rows), ks_statistic(real_ms, stub_ms), tuple(problems)


def render_table(v: Validation) -> str:
    """The side-by-side table ``harness validate`` prints."""
    out = [
        f"=== VALIDATE {v.kind} vs stub profile {v.profile} (scenario {v.scenario}, agent "
        f"{v.agent_policy}, {v.runtime}) ===",
        "RC delay (ms) = provider ready - the tracer's own start cost; real "
        f"{v.real.ready}/{v.real.tracers} ready (start cost p50/p90 {v.real.start_p50_ms}/"
        f"{v.real.start_p90_ms} ms), stub {v.stub.ready}/{v.stub.tracers} ready; tolerance "
        f"{v.tolerance}",
        f"{'pct':>4} {'real':>8} {'stub':>8} {'diff':>8} {'allowed':>8}  ok",
    ]
    for r in v.rows:
        out.append(
            f"p{r.percentile:<3} {r.real_ms:>8,} {r.stub_ms:>8,} {r.diff_ms:>+8,} "
            f"{r.allowed_ms:>8,}  {'yes' if r.ok else 'NO'}"
        )
    out.append(f"Kolmogorov-Smirnov statistic: {v.ks_statistic:.3f}")
    out += [f"note: {p}" for p in v.problems]
    out.append("PASS" if v.passed else "FAIL: a percentile is beyond the tolerance")
    return "\n".join(out) + "\n"
