"""Measurement validity: how much the harness itself distorted a run, checked against limits.

A load-test harness on one machine competes with what it measures: its tracer processes' event
loops send polls late, its agent model's event loop runs behind, the machine runs out of cores,
requests wait in a full accept queue, scrapes fail, the fleet does not start together. Each of
these shows in the latencies as if it were the design under test. Every run measures them
(``harness.run.validity`` gathers, this module judges) and records them in ``summary.json``
(``validity``), in the report's "MEASUREMENT VALIDITY" block, and as warnings that name a change
that helps. The limits are the scenario's ``validity`` section (:class:`ValidityLimits`, with
its reasons); docs/validity.md explains every figure.

Percentiles of the latencies measured here come from Prometheus histograms: a value is the
upper bound of the bucket holding the percentile (``<= 25 ms``), or, past the last bucket, that
bound marked ``above``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from harness.scenario.validity_limits import ValidityLimits

Unit = Literal["ms", "ratio", "count"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Check(_Part):
    """One figure, its limit and the verdict (``ok`` is ``None`` when not measured or off)."""

    name: str
    value: float | None
    limit: float | None
    unit: Unit
    above: bool = False
    """``value`` is a lower bound: the percentile fell past the histogram's last bucket."""
    ok: bool | None = None


class Cpu(_Part):
    """CPU seconds used during collection (from the start instant to the end), per component."""

    window_s: float
    agent_s: float | None = None
    backend_s: float | None = None
    tracers_s: float | None = None
    harness_s: float | None = None
    cores: int | None = None
    machine_busy_s: float | None = None
    """Busy CPU seconds of the whole machine (every process, this run's and others')."""


class ReleaseRecord(_Part):
    """How the fleet was released (docs/contracts.md, "The start signal")."""

    signalled: bool
    """False: the fleet started at its deadline (a process without the signal, or late)."""
    lead_ms: int
    processes: int
    late_processes: int = 0
    max_late_ms: int = 0
    start_spread_ms: int | None = None
    """Latest minus earliest tracer start, less a ramp's intended stagger."""


class Validity(_Part):
    """Everything ``summary.json`` records about the harness's own distortion."""

    checks: tuple[Check, ...] = ()
    cpu: Cpu | None = None
    release: ReleaseRecord | None = None

    @property
    def failed(self) -> list[Check]:
        """The checks whose limit was exceeded."""
        return [c for c in self.checks if c.ok is False]

    def check(self, name: str) -> Check | None:
        """The check called ``name``, if recorded."""
        return next((c for c in self.checks if c.name == name), None)


@dataclass(frozen=True)
class CheckSpec:
    """What a check measures, its unit, its limit's key, and what to do when it fails."""

    limit_key: str
    unit: Unit
    what: str
    advice: str


SPECS: Mapping[str, CheckSpec] = {
    "poll_lateness_p99_ms": CheckSpec(
        "max_poll_lateness_p99_ms", "ms", "tracer polls sent late (p99)",
        "the tracer processes' event loops run late: use fewer tracers per {packing}, fewer "
        "tracers, or more cores (--runtime locust spreads a fleet over machines)",
    ),
    "agent_loop_lag_p99_ms": CheckSpec(
        "max_agent_loop_lag_p99_ms", "ms", "agent event-loop lag (p99)",
        "the harness's agent model is saturated and every request waits its queue: fewer "
        "tracers or slower polls, or keep other load off the machine",
    ),
    "agent_lock_wait_p99_ms": CheckSpec(
        "max_agent_lock_wait_p99_ms", "ms", "agent lock wait (p99)",
        "the agent model holds its lock long for its own CPU work (e.g. a refresh listing "
        "thousands of active clients): fewer tracers; the real agent's Go code is faster",
    ),
    "release_spread_ms": CheckSpec(
        "max_release_spread_ms", "ms", "start spread of the fleet",
        "the tracers did not start together: more tracers per {packing} (fewer processes to "
        "wake at once), or keep other load off the machine",
    ),
    "agent_cpu_ratio": CheckSpec(
        "max_agent_cpu_ratio", "ratio", "agent CPU (share of one core)",
        "the agent model used most of its one core, so its own queueing is in the latencies: "
        "fewer tracers or slower polls",
    ),
    "machine_cpu_ratio": CheckSpec(
        "max_machine_cpu_ratio", "ratio", "machine CPU busy (all cores)",
        "the machine was saturated (by this run or other processes): fewer tracers, a quieter "
        "or bigger machine, or --runtime locust across machines",
    ),
    "requests_lost": CheckSpec(
        "max_requests_lost", "count", "RC requests the agent never received",
        "tracers waited for answers that never came (a full accept queue or a CPU-starved "
        "agent): fewer tracers, more cores, or keep other load off the machine",
    ),
    "scrape_failures": CheckSpec(
        "max_scrape_failures", "count", "failed /metrics scrapes",
        "some components were too busy to answer a scrape within 2 s: the timeline and the "
        "end-of-run figures miss data; fewer tracers or more cores",
    ),
}  # fmt: skip
"""Every check, in report order."""


@dataclass(frozen=True)
class Figure:
    """A measured value (``None``: not measured), with ``above`` for histogram overflow."""

    value: float | None
    above: bool = False


def judge(
    figures: Mapping[str, Figure],
    limits: ValidityLimits,
    *,
    cpu: Cpu | None = None,
    release: ReleaseRecord | None = None,
    off: frozenset[str] = frozenset(),
) -> Validity:
    """The checks of ``figures`` against ``limits``; names in ``off`` are recorded unchecked
    (e.g. the lock wait when ``serve_cost_ms`` models a slower agent on purpose)."""
    checks = []
    for name, spec in SPECS.items():
        figure = figures.get(name, Figure(None))
        limit = None if name in off else getattr(limits, spec.limit_key)
        ok = None if figure.value is None or limit is None else figure.value <= limit
        checks.append(Check(name=name, value=figure.value, limit=limit, unit=spec.unit,
                            above=figure.above, ok=ok))  # fmt: skip
    return Validity(checks=tuple(checks), cpu=cpu, release=release)


def show(value: float | None, unit: Unit, above: bool = False) -> str:
    """A figure as the report prints it.

    >>> show(0.8123, "ratio"), show(25.0, "ms"), show(5000.0, "ms", above=True), show(3, "count")
    ('81%', '25 ms', '> 5,000 ms', '3')
    >>> show(0.5, "ms")
    '0.5 ms'

    """
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "ms":
        number = f"{value:.1f}" if value < 10 and value != int(value) else f"{value:,.0f}"
        return f"{'> ' if above else ''}{number} ms"
    return f"{value:,.0f}"


def warnings_of(validity: Validity, packing: str) -> list[str]:
    """One warning per failed check, naming the figure, the limit and what helps."""
    out = []
    for check in validity.failed:
        spec = SPECS[check.name]
        assert check.limit is not None
        out.append(
            f"measurement validity: {spec.what} was {show(check.value, check.unit, check.above)} "
            f"(limit {show(check.limit, check.unit)}, validity.{spec.limit_key}): "
            + spec.advice.format(packing=packing)
        )
    return out
