"""The metrics a threshold can name, and how each is read from a :class:`Summary`.

Latencies are in milliseconds (``provider_ready.p99``), counts and ratios have no unit,
``agent.<series>{labels}`` and ``backend.<series>{labels}`` sum the matching counters scraped at
the end of the run (:mod:`harness.results.counters`). ``validity.<check>`` reads a self-check
of the run (:mod:`harness.results.validity`: ``validity.agent_loop_lag_p99_ms``,
``validity.machine_cpu_ratio``, ...) and ``validity.failed`` counts the checks over their limit,
so that a gate can refuse a run whose harness saturated (``validity.failed == 0``). A metric with
no value (p99 when no tracer became ready) reads as ``None`` with the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from harness.results.counters import sum_series
from harness.results.stats import PERCENTILES
from harness.results.summary import Summary
from harness.results.validity import SPECS

STATS: tuple[str, ...] = ("min", *(name for name, _ in PERCENTILES), "max")
"""The statistics ``summary.json`` records for each latency (nearest rank,
``harness.results.stats``)."""


class Unit(enum.StrEnum):
    """The unit a metric is recorded in inside ``summary.json``."""

    MS = "ms"
    S = "s"
    COUNT = "count"
    RATIO = "ratio"


@dataclass(frozen=True)
class Reading:
    """A metric's value in a summary, or ``None`` with the reason there is none."""

    value: float | None
    why_missing: str = ""


_MISSING = object()


@dataclass(frozen=True)
class Metric:
    """A metric a threshold can name: where it lives in ``summary.json`` and its unit."""

    name: str
    unit: Unit
    path: tuple[str, ...] = ()
    """Fields of the summary, outermost first; empty for counter metrics (see ``series``)."""
    source: str = ""
    """``agent`` or ``backend`` for counter metrics, summed over matching series."""
    series: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    check: str = ""
    """A self-check of ``summary.validity`` (``failed``: how many exceeded their limit)."""

    def read(self, summary: Summary) -> Reading:
        """This metric's value in ``summary``."""
        if self.source:
            return _read_counter(summary, self.source, self.series, dict(self.labels))
        if self.check:
            return _read_check(summary, self.check)
        node: object = summary
        for depth, key in enumerate(self.path):
            where = ".".join(self.path[: depth + 1])
            value = getattr(node, key, _MISSING)
            if value is _MISSING:
                return Reading(None, f"summary.json has no '{where}'")
            if value is None:
                if self.path[0] == "buckets":
                    return Reading(None, "buckets are only recorded in provider mode 'wait'")
                return Reading(None, _why_null(summary, where))
            node = value
        if isinstance(node, bool) or not isinstance(node, int | float):
            return Reading(None, f"summary.json '{'.'.join(self.path)}' is not a number: {node!r}")
        return Reading(float(node))


def _why_null(summary: Summary, where: str) -> str:
    return (
        f"no value: '{where}' is null in summary.json "
        f"({summary.counts.success} of {summary.tracers} tracers succeeded)"
    )


LATENCIES = {"provider_ready": "provider_ready_ms", "boot_total": "boot_total_ms"}
"""Short names of the latencies and their ``summary.json`` keys."""


def _static_metrics() -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    for short, key in LATENCIES.items():
        for stat in STATS:
            metrics[f"{short}.{stat}"] = Metric(f"{short}.{stat}", Unit.MS, (key, stat))
    metrics["success_ratio"] = Metric("success_ratio", Unit.RATIO, ("success_ratio",))
    for count in ("success", "timeout", "error", "crashed", "unreachable"):
        metrics[f"counts.{count}"] = Metric(f"counts.{count}", Unit.COUNT, ("counts", count))
    metrics["provider_error_events"] = Metric(
        "provider_error_events", Unit.COUNT, ("provider_error_events",)
    )
    for bucket in ("under_10s", "cliff_28_32s", "over_32s"):
        metrics[f"buckets.{bucket}"] = Metric(f"buckets.{bucket}", Unit.COUNT, ("buckets", bucket))
    for health in ("running", "exited", "restarting", "crashes"):
        metrics[f"health.{health}"] = Metric(f"health.{health}", Unit.COUNT, ("health", health))
    metrics["duration_s"] = Metric("duration_s", Unit.S, ("duration_s",))
    for name, spec in SPECS.items():
        unit = {"ms": Unit.MS, "ratio": Unit.RATIO, "count": Unit.COUNT}[spec.unit]
        metrics[f"validity.{name}"] = Metric(f"validity.{name}", unit, check=name)
    metrics["validity.failed"] = Metric("validity.failed", Unit.COUNT, check="failed")
    # The backend's view (harness simulate): null, so unreadable, in other runs.
    for count in ("calls", "rejected", "peak_calls_per_s", "refresh_errors"):
        name = f"backend_view.{count}"
        metrics[name] = Metric(name, Unit.COUNT, ("backend_view", count))
    for stat in STATS:
        name = f"backend_view.refresh.{stat}"
        metrics[name] = Metric(name, Unit.MS, ("backend_view", "refresh_ms", stat))
    return metrics


METRICS: Mapping[str, Metric] = _static_metrics()
"""Every fixed metric name a threshold may use (plus ``agent.*`` and ``backend.*`` counters)."""

ALIASES = {f"{key}.{stat}": f"{short}.{stat}" for short, key in LATENCIES.items() for stat in STATS}
"""``provider_ready_ms.p99`` (the summary.json key) means ``provider_ready.p99``."""

COUNTER_PREFIX = {"agent": "agent_rc_", "backend": "backend_rc_"}
"""Counter metrics: the source and the prefix its series carry."""


def metric_names() -> list[str]:
    """The names a threshold can use, grouped (``counts.{success,timeout}``), for messages.

    >>> metric_names()[0]
    'provider_ready.{min,p50,p75,p90,p95,p99,max}'
    """
    groups: dict[str, list[str]] = {}
    for name in METRICS:
        head, dot, tail = name.partition(".")
        groups.setdefault(head if dot else name, []).append(tail)
    names = [
        f"{head}.{{{','.join(tails)}}}" if any(tails) else head for head, tails in groups.items()
    ]
    return [*names, 'agent.agent_rc_<name>{label="value",...}', "backend.backend_rc_<name>{...}"]


def _read_check(summary: Summary, name: str) -> Reading:
    validity = summary.validity
    if validity is None:
        return Reading(None, "summary.json has no validity (a run from before the self-checks)")
    if name == "failed":
        return Reading(float(len(validity.failed)))
    check = validity.check(name)
    if check is None or check.value is None:
        return Reading(None, f"the run did not measure validity.{name}")
    return Reading(check.value)


def _read_counter(summary: Summary, source: str, series: str, labels: Mapping[str, str]) -> Reading:
    counters = summary.agent if source == "agent" else summary.backend
    if not counters:
        return Reading(None, f"summary.json has no {source} counters")
    total = sum_series(counters, series, labels)
    if total is None:
        wanted = series + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}")
        return Reading(None, f"no {source} series matches {wanted} in summary.json")
    return Reading(total)
