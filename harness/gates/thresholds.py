"""Pass/fail gates on a run's ``summary.json``: k6-style threshold expressions.

An expression is ``[SCENARIO:] METRIC OP VALUE[UNIT]``, for example::

    provider_ready.p99 < 1s
    boot_total.p50 <= 1500ms
    success_ratio >= 1
    counts.timeout == 0
    phase3: provider_ready.p99 < 1s
    agent.agent_rc_bypass_total{result="rate_limited"} == 0

Metrics are read from the results folder's ``summary.json`` (docs/contracts.md "Results
folder"). Latencies are in milliseconds, so a bare number means milliseconds; ``ms`` and ``s``
are accepted on any duration metric. Counts and ratios take no unit (``%`` is accepted on
``success_ratio``). ``agent.<metric>{labels}`` and ``backend.<metric>{labels}`` sum the matching
series of the counters scraped at the end of the run (``summary.json`` ``agent``/``backend``).

Like k6 (exit code 99, ``thresholds: {http_req_duration: ['p(95)<500']}``) a breach fails the
command; unlike a crash, a metric with no value (p99 with no successful tracer) is a breach that
says why. The optional ``SCENARIO:`` prefix scopes a threshold to one scenario of a compare, or
to the cells of a matrix its glob matches (``baseline/go-2.5+fastlane/*: ...``).

Everything here is pure: parsing gives typed :class:`Threshold` objects, evaluation takes a
:class:`~harness.results.summary.Summary` and gives :class:`ThresholdResult` objects. What a
metric name means and how it is read is :mod:`harness.gates.metrics`.
"""

from __future__ import annotations

import difflib
import enum
import math
import operator
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from harness.errors import ThresholdError
from harness.gates.metrics import (
    ALIASES,
    COUNTER_PREFIX,
    METRICS,
    STATS,
    Metric,
    Unit,
    metric_names,
)
from harness.results.summary import Summary

_SCALE_TO_MS = {"ms": 1.0, "s": 1000.0}


class Op(enum.StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="

    def holds(self, observed: float, limit: float) -> bool:
        """Whether ``observed OP limit`` is true."""
        return _OPS[self](observed, limit)


_OPS: dict[Op, Callable[[float, float], bool]] = {
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
}


# --- parsing ---------------------------------------------------------------------------------

_HEAD = re.compile(
    r"""\s*(?:(?P<scope>[A-Za-z0-9*][\w.+*/-]*)\s*:(?!=)\s*)?
        (?P<metric>[A-Za-z_][\w.]*(?:\{[^}]*\}?)?)\s*""",
    re.VERBOSE,
)
_OP = re.compile(r"[<>=!]+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_UNIT = re.compile(r"[A-Za-z%µ]+")
_LABEL = re.compile(r'\s*([A-Za-z_]\w*)\s*=\s*"?([^",]*)"?\s*')


@dataclass(frozen=True)
class Threshold:
    """A parsed threshold: ``metric op limit`` with ``limit`` in the metric's own unit."""

    expression: str
    metric: Metric
    op: Op
    limit: float
    scenario: str | None = None

    def __str__(self) -> str:
        return self.expression

    def applies_to(self, scenario: str) -> bool:
        """Whether this threshold is checked on a run of ``scenario``."""
        return self.scenario is None or self.scenario == scenario

    def evaluate(self, summary: Summary) -> ThresholdResult:
        """Check this threshold on a parsed ``summary.json``; a missing value is a breach."""
        scenario = str(summary.scenario)
        reading = self.metric.read(summary)
        if reading.value is None:
            return ThresholdResult(self, scenario, None, False, reading.why_missing)
        passed = self.op.holds(reading.value, self.limit)
        return ThresholdResult(self, scenario, reading.value, passed)


def parse_threshold(expression: str) -> Threshold:
    """Parse one expression; raise :class:`ThresholdError` naming it and what is wrong."""

    def fail(what: str) -> ThresholdError:
        return ThresholdError(f"invalid threshold {expression!r}: {what}")

    head = _HEAD.match(expression)
    if not expression.strip() or head is None:
        raise fail(
            "expected 'METRIC OP VALUE', e.g. 'provider_ready.p99 < 1s'; "
            f"metrics: {', '.join(metric_names())}"
        )
    metric = _resolve_metric(head.group("metric"), fail)
    pos = head.end()
    op_match = _OP.match(expression, pos)
    if op_match is None:
        found = expression[pos:].strip() or "nothing"
        raise fail(f"expected an operator (< <= > >= == !=) after {metric.name!r}, found {found!r}")
    try:
        op = Op(op_match.group())
    except ValueError:
        raise fail(f"{op_match.group()!r} is not an operator; use one of < <= > >= == !=") from None
    pos = _skip_spaces(expression, op_match.end())
    number = _NUMBER.match(expression, pos)
    if number is None:
        found = expression[pos:].strip() or "nothing"
        raise fail(f"expected a number after {op.value!r}, found {found!r}")
    value = float(number.group())
    pos = _skip_spaces(expression, number.end())
    unit_match = _UNIT.match(expression, pos)
    unit = unit_match.group() if unit_match else ""
    if unit_match:
        pos = unit_match.end()
    junk = expression[pos:].strip()
    if junk:
        raise fail(f"unexpected {junk!r} after the value (one comparison per threshold)")
    limit = _convert(value, unit, metric, fail)
    return Threshold(expression.strip(), metric, op, limit, head.group("scope"))


def parse_thresholds(expressions: Iterable[str]) -> list[Threshold]:
    """Parse several expressions (e.g. repeated ``--threshold`` options)."""
    return [parse_threshold(e) for e in expressions]


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _resolve_metric(name: str, fail: Callable[[str], ThresholdError]) -> Metric:
    name = ALIASES.get(name, name)
    if name in METRICS:
        return METRICS[name]
    source, _, rest = name.partition(".")
    if source in COUNTER_PREFIX and rest:
        series, brace, labels_text = rest.partition("{")
        prefix = COUNTER_PREFIX[source]
        if not re.fullmatch(prefix + r"[a-z0-9_]+", series):
            raise fail(
                f"unknown {source} metric {series!r}: {source} counters are named "
                f"'{prefix}...' (docs/contracts.md), e.g. '{source}.{prefix}requests_total'"
            )
        labels: list[tuple[str, str]] = []
        if brace:
            if not labels_text.endswith("}"):
                raise fail(f"unclosed '{{' in {name!r}")
            for part in filter(None, (p.strip() for p in labels_text[:-1].split(","))):
                match = _LABEL.fullmatch(part)
                if match is None:
                    raise fail(f'bad label matcher {part!r}: use name="value"')
                labels.append((match.group(1), match.group(2)))
        unit = Unit.S if "_seconds" in series else Unit.COUNT
        return Metric(name, unit, source=source, series=series, labels=tuple(labels))
    close = [repr(c) for c in difflib.get_close_matches(name, [*METRICS, *ALIASES], n=1)]
    if name in STATS:
        close = [f"'provider_ready.{name}' or 'boot_total.{name}'"]
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise fail(f"unknown metric {name!r}{hint}; valid metrics: {', '.join(metric_names())}")


def _convert(
    value: float, unit: str, metric: Metric, fail: Callable[[str], ThresholdError]
) -> float:
    if metric.unit in (Unit.MS, Unit.S):
        if not unit:
            return value
        if unit not in _SCALE_TO_MS:
            raise fail(f"unknown unit {unit!r} for {metric.name!r}: use ms or s")
        in_ms = value * _SCALE_TO_MS[unit]
        return in_ms if metric.unit is Unit.MS else in_ms / 1000.0
    if metric.unit is Unit.RATIO and unit == "%":
        return value / 100.0
    if unit:
        allowed = "no unit or %" if metric.unit is Unit.RATIO else "no unit"
        raise fail(f"{metric.name!r} is a {metric.unit.value}: it takes {allowed}, not {unit!r}")
    return value


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdResult:
    """One threshold checked on one run (or on the medians of a scenario's repeats)."""

    threshold: Threshold
    scenario: str
    observed: float | None
    passed: bool
    why_missing: str = ""
    runs: int = 1
    """How many runs the observed value summarises (the median of their values when > 1)."""

    @property
    def observed_text(self) -> str:
        """The observed value in the metric's unit, readable (``1,204ms (1.2s)``)."""
        if self.observed is None:
            return "no value"
        return format_value(self.observed, self.threshold.metric.unit)

    def line(self) -> str:
        """One line for the terminal: ``✓``/``✗``, the expression, the observed value."""
        scoped = self.threshold.scenario is not None
        where = f"[{self.scenario}] " if self.scenario and not scoped else ""
        observed = f"observed {self.observed_text}"
        if self.runs > 1:
            observed += f", median of {self.runs} runs"
        if self.passed:
            return f"✓ {where}{self.threshold.expression}  ({observed})"
        reason = self.why_missing or observed
        return f"✗ {where}{self.threshold.expression}  breached: {reason}"


def format_value(value: float, unit: Unit) -> str:
    """Format a metric value in its unit.

    >>> format_value(1204.0, Unit.MS)
    '1,204ms (1.2s)'
    >>> format_value(46.0, Unit.MS)
    '46ms'
    >>> format_value(0.97, Unit.RATIO)
    '0.97 (97.0%)'
    >>> format_value(3.0, Unit.COUNT)
    '3'
    """
    if not math.isfinite(value):
        return str(value)
    if unit is Unit.MS:
        return f"{value:,.0f}ms ({value / 1000:.1f}s)" if value >= 1000 else f"{value:,.0f}ms"
    if unit is Unit.S:
        return f"{value:,.3f}s"
    if unit is Unit.RATIO:
        return f"{value:g} ({value * 100:.1f}%)"
    return f"{value:,.0f}" if value == int(value) else f"{value:,g}"


def evaluate(thresholds: Sequence[Threshold], summary: Summary) -> list[ThresholdResult]:
    """Check every threshold that applies to this run's scenario.

    A threshold scoped to another scenario is an error here (on a single run there is nothing
    to check it against); :func:`check_scopes` says the same for a compare.
    """
    check_scope(thresholds, str(summary.scenario))
    return [t.evaluate(summary) for t in thresholds]


def check_scope(thresholds: Sequence[Threshold], scenario: str) -> None:
    """Raise if a threshold is scoped to a scenario other than ``scenario`` (a single run's)."""
    for threshold in thresholds:
        if not threshold.applies_to(scenario):
            raise ThresholdError(
                f"threshold {threshold.expression!r} is scoped to scenario "
                f"{threshold.scenario!r}, but this run is {scenario!r}; drop the "
                f"'{threshold.scenario}:' prefix or check a run of that scenario"
            )


def check_scopes(thresholds: Sequence[Threshold], scenarios: Sequence[str]) -> None:
    """Raise if a threshold is scoped to a scenario that is not among ``scenarios``."""
    for threshold in thresholds:
        if threshold.scenario is not None and threshold.scenario not in scenarios:
            raise ThresholdError(
                f"threshold {threshold.expression!r} is scoped to scenario "
                f"{threshold.scenario!r}, which is not compared ({', '.join(scenarios)})"
            )


def all_passed(results: Iterable[ThresholdResult]) -> bool:
    """Whether no threshold was breached."""
    return all(r.passed for r in results)


def evaluate_repeats(
    thresholds: Sequence[Threshold], scenario: str, summaries: Sequence[Summary]
) -> list[ThresholdResult]:
    """Check the thresholds that apply to ``scenario`` on the median over its repeated runs.

    The median is what the compare table shows. A run in which the metric has no value makes
    the threshold a breach (naming the run): a median that silently skips runs would hide them.
    """
    results: list[ThresholdResult] = []
    for threshold in thresholds:
        if not threshold.applies_to(scenario):
            continue
        values: list[float] = []
        missing = ""
        for k, summary in enumerate(summaries, start=1):
            reading = threshold.metric.read(summary)
            if reading.value is None:
                missing = missing or f"run-{k}: {reading.why_missing}"
            else:
                values.append(reading.value)
        if missing or not values:
            reason = missing or "no runs"
            results.append(
                ThresholdResult(threshold, scenario, None, False, reason, len(summaries))
            )
            continue
        median = float(statistics.median(values))
        passed = threshold.op.holds(median, threshold.limit)
        results.append(ThresholdResult(threshold, scenario, median, passed, "", len(values)))
    return results
