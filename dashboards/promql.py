"""PromQL text for the dashboards: every selector filters on the selected runs.

Small string builders, so that the filter on ``$run_id`` and ``$scenario`` (which the tests
require on every query) and the shape of the quantile queries are written once::

    >>> sum_by(["lane"], rate(selector("m")))
    'sum by (lane) (rate(m{run_id=~"$run_id", scenario=~"$scenario"}[$__rate_interval]))'
    >>> quantile(0.99, ["lane"], "x_bucket")
    'histogram_quantile(0.99, sum by (lane, le) (x_bucket))'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RUN_FILTER = 'run_id=~"$run_id", scenario=~"$scenario"'
"""The matchers of every panel query: the runs and scenarios selected in the variables."""

RUN_INFO = '__name__=~"tracer_run_info|agent_rc_run_info|backend_rc_run_info"'
"""Matches the ``<prefix>_run_info`` series every component exports (one per component)."""


@dataclass(frozen=True)
class Query:
    """One PromQL target of a panel: the expression and its legend.

    ``heatmap`` asks Grafana's heatmap format, which turns cumulative ``le`` buckets into counts
    per bucket.
    """

    expr: str
    legend: str
    heatmap: bool = False


def selector(metric: str, *matchers: str) -> str:
    """``metric{matchers..., run_id=~"$run_id", scenario=~"$scenario"}``.

    >>> selector("tracer_outcome", 'outcome="ready"')
    'tracer_outcome{outcome="ready", run_id=~"$run_id", scenario=~"$scenario"}'
    """
    return metric + "{" + ", ".join([*matchers, RUN_FILTER]) + "}"


def rate(series: str) -> str:
    """Per-second rate over Grafana's ``$__rate_interval`` (four scrapes at the 1 s interval)."""
    return f"rate({series}[$__rate_interval])"


def sum_by(labels: Sequence[str], expr: str) -> str:
    """``sum by (labels) (expr)``, or ``sum(expr)`` without labels."""
    return aggregate("sum", labels, expr)


def aggregate(op: str, labels: Sequence[str], expr: str) -> str:
    """``op by (labels) (expr)``, or ``op(expr)`` without labels.

    >>> aggregate("max", ["run_id"], "x")
    'max by (run_id) (x)'
    """
    if not labels:
        return f"{op}({expr})"
    return f"{op} by ({', '.join(labels)}) ({expr})"


def quantile(q: float, labels: Sequence[str], buckets: str) -> str:
    """``histogram_quantile(q, sum by (labels, le) (buckets))``."""
    return f"histogram_quantile({q:g}, {sum_by([*labels, 'le'], buckets)})"


def percentile_name(q: float) -> str:
    """The legend's name of a quantile.

    >>> [percentile_name(q) for q in (0.5, 0.9, 0.99)]
    ['p50', 'p90', 'p99']
    """
    return f"p{round(q * 100)}"


def legend(*labels: str) -> str:
    """A legend naming each series by its labels' values.

    >>> legend("lane", "outcome")
    '{{lane}} {{outcome}}'
    """
    return " ".join("{{" + label + "}}" for label in labels)


def percentiles(
    histogram: str,
    by: Sequence[str],
    name: str,
    quantiles: Sequence[float] = (0.5, 0.99),
    *,
    rated: bool = True,
) -> list[Query]:
    """One query per quantile of ``histogram`` (its ``_bucket`` series) by ``by``.

    ``rated``: over the last ``$__rate_interval``; otherwise over every observation so far. The
    legend is the percentile then ``name``.

    >>> [q.legend for q in percentiles("h", ["lane"], legend("lane"))]
    ['p50 {{lane}}', 'p99 {{lane}}']
    """
    buckets = selector(f"{histogram}_bucket")
    if rated:
        buckets = rate(buckets)
    return [Query(quantile(q, by, buckets), f"{percentile_name(q)} {name}") for q in quantiles]
