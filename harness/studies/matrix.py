"""``harness matrix``: client variants x agent designs (x set-ups), each cell run ``repeat``
times, read together: the per-cell figures, ``matrix.json`` and the thresholds.

A cell's figures are medians over its runs (with the min and max across runs): provider-ready
min, p50, p90 and max, the success ratio, and the cost of the boot: the backend's
``/configurations`` calls and the agent's ``/v0.7/config`` requests per tracer, both counted from
the start of the run until collection ended (every tracer settled, or ``timeouts.run_s``). A few
agent counters say why (bypasses refreshed, rate-limited, timed out; requests refused while RC
was not up).

``matrix.json`` (:class:`MatrixDoc`) holds everything the decision report needs, so that the
report is a pure function of it (:mod:`harness.report.decision`): the axes with their
descriptions, every run's figures and every cell's medians, the proposal's reference figures and
the command that made it. It is rewritten after every run, so an interrupted matrix keeps what it
ran (``complete: false``).
"""

from __future__ import annotations

import fnmatch
import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import HarnessError, ResultsError, ThresholdError
from harness.gates.thresholds import Threshold, ThresholdResult, evaluate_repeats
from harness.results.counters import sum_series
from harness.results.folder import load_summary
from harness.results.summary import Summary

MATRIX_JSON = "matrix.json"
KIND = "harness-matrix"
VERSION = 1


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunFigures(_Doc):
    """The figures of one run of a cell (``None`` when the run has no value for it)."""

    tracers: int
    success: int
    success_ratio: float
    ready_min_ms: float | None
    ready_p50_ms: float | None
    ready_p90_ms: float | None
    ready_max_ms: float | None
    backend_calls: float | None
    agent_requests_per_tracer: float | None
    bypass_refreshed: float | None
    bypass_rate_limited: float | None
    bypass_timed_out: float | None
    refused_unavailable: float | None


FIGURES: tuple[str, ...] = tuple(k for k in RunFigures.model_fields if k != "tracers")
"""The figures a cell summarises (median, min, max over its runs)."""


def _counter(counters: Mapping[str, float], series: str, **labels: str) -> float | None:
    return sum_series(counters, series, labels) if counters else None


def run_figures(summary: Summary) -> RunFigures:
    """The figures of one run, read from its ``summary.json``."""
    ready = summary.provider_ready_ms
    agent, backend = summary.agent, summary.backend
    requests = _counter(agent, "agent_rc_requests_total")
    return RunFigures(
        tracers=summary.tracers,
        success=summary.counts.success,
        success_ratio=summary.success_ratio,
        ready_min_ms=None if ready is None else float(ready.min),
        ready_p50_ms=None if ready is None else float(ready.p50),
        ready_p90_ms=None if ready is None else float(ready.p90),
        ready_max_ms=None if ready is None else float(ready.max),
        backend_calls=_counter(backend, "backend_rc_requests_total", endpoint="configurations"),
        agent_requests_per_tracer=None if requests is None else requests / summary.tracers,
        bypass_refreshed=_counter(agent, "agent_rc_bypass_total", result="refreshed"),
        bypass_rate_limited=_counter(agent, "agent_rc_bypass_total", result="rate_limited"),
        bypass_timed_out=_counter(agent, "agent_rc_bypass_total", result="timed_out"),
        refused_unavailable=_counter(agent, "agent_rc_requests_total", outcome="error_unavailable"),
    )


class Stat(_Doc):
    """One figure of a cell: median over its runs, min and max across them."""

    median: float | None
    low: float | None
    high: float | None
    runs: int


def stat(values: Sequence[float | None]) -> Stat:
    """The :class:`Stat` of the values that are not ``None``.

    >>> stat([3.0, None, 1.0, 2.0])
    Stat(median=2.0, low=1.0, high=3.0, runs=3)
    """
    present = [v for v in values if v is not None]
    if not present:
        return Stat(median=None, low=None, high=None, runs=0)
    return Stat(
        median=float(statistics.median(present)),
        low=min(present),
        high=max(present),
        runs=len(present),
    )


class RunEntry(_Doc):
    """One run of a cell: its folder (relative to the matrix folder) and its figures."""

    run: str
    dir: str
    ok: bool
    error: str | None = None
    duration_s: float = 0.0
    figures: RunFigures | None = None


class CellEntry(_Doc):
    """One cell: which set-up, client and design, its runs and its figures (medians)."""

    id: str
    setup: str
    client: str
    agent: str
    runs: tuple[RunEntry, ...] = ()
    figures: dict[str, Stat] = {}

    def median(self, figure: str) -> float | None:
        """The median of ``figure`` over the cell's completed runs."""
        found = self.figures.get(figure)
        return None if found is None else found.median


class SetupInfo(_Doc):
    """A set-up as the report describes it."""

    name: str
    source: str
    description: str
    boot: str
    ramp_s: float
    agent_start: str
    rc_unavailable_s: float
    provider_delay_ms: float


class ClientInfo(_Doc):
    """A client variant as the report describes it."""

    name: str
    profile: str
    policy: str
    language: str
    description: str
    first_poll: str
    request_timeout_s: float
    ffe_subscription: str


class DesignInfo(_Doc):
    """An agent design as the report describes it: its keys, as in the scenario."""

    name: str
    title: str
    agent: dict[str, Any]


class Reference(_Doc):
    """The proposal's load-test figures the report compares against."""

    label: str
    tracers: int
    profile: str
    """The client profile of the proposal's fleet (its cells are compared with it)."""
    provider_ready_ms: dict[str, float]


class ThresholdEntry(_Doc):
    """One threshold checked on one cell (median over its runs)."""

    expression: str
    cell: str
    observed: float | None
    passed: bool
    explanation: str | None = None


class MatrixDoc(_Doc):
    """``matrix.json``."""

    kind: Literal["harness-matrix"] = "harness-matrix"
    version: int = VERSION
    matrix_id: str
    started_at: str
    finished_at: str | None = None
    complete: bool = False
    runtime: str
    tracers: int
    repeat: int
    overrides: tuple[str, ...] = ()
    command: str
    load_average: dict[str, tuple[float, float, float]] = {}
    setups: tuple[SetupInfo, ...]
    clients: tuple[ClientInfo, ...]
    agents: tuple[DesignInfo, ...]
    reference: Reference
    cells: tuple[CellEntry, ...]
    thresholds: tuple[ThresholdEntry, ...] = ()

    def cell(self, setup: str, client: str, agent: str) -> CellEntry | None:
        """The cell of these three names, if the matrix has it."""
        for cell in self.cells:
            if (cell.setup, cell.client, cell.agent) == (setup, client, agent):
                return cell
        return None

    @property
    def failed_runs(self) -> list[tuple[str, RunEntry]]:
        """``(cell id, run)`` of every run that did not complete."""
        return [(c.id, r) for c in self.cells for r in c.runs if not r.ok]

    def to_json_text(self) -> str:
        """The text of ``matrix.json``."""
        return json.dumps(self.model_dump(mode="json"), indent=1) + "\n"

    @classmethod
    def from_json_text(cls, text: str, source: str) -> MatrixDoc:
        """Parse ``matrix.json``; a bad one raises :class:`ResultsError` naming ``source``."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            raise ResultsError(
                f"{source} is not a matrix.json written by harness matrix ({problems})"
            ) from exc


def cell_entry(
    setup: str, client: str, agent: str, cell: str, runs: Sequence[RunEntry]
) -> CellEntry:
    """A cell with the medians of its completed runs' figures."""
    done = [r.figures for r in runs if r.ok and r.figures is not None]
    figures = {name: stat([getattr(f, name) for f in done]) for name in FIGURES}
    return CellEntry(
        id=cell, setup=setup, client=client, agent=agent, runs=tuple(runs), figures=figures
    )


def scope_matches(threshold: Threshold, cell: str) -> bool:
    """A threshold applies to a cell when it has no scope or its scope (a glob such as
    ``baseline/*/fastlane``) matches the cell id."""
    return threshold.scenario is None or fnmatch.fnmatchcase(cell, threshold.scenario)


def check_matrix_scopes(thresholds: Sequence[Threshold], cells: Sequence[str]) -> None:
    """Raise when a threshold's scope matches no cell (a typo would otherwise pass silently)."""
    for threshold in thresholds:
        if threshold.scenario is not None and not any(scope_matches(threshold, c) for c in cells):
            raise ThresholdError(
                f"threshold {threshold.expression!r} is scoped to {threshold.scenario!r}, "
                f"which matches no cell; cells are SETUP/CLIENT/AGENT, e.g. {cells[0]!r}, and "
                "the scope may be a glob such as 'baseline/*/fastlane'"
            )


def evaluate_cells(
    thresholds: Sequence[Threshold], summaries: Mapping[str, Sequence[Summary]]
) -> list[ThresholdResult]:
    """Check each threshold on every cell it applies to (median over the cell's runs)."""
    results: list[ThresholdResult] = []
    for cell, runs in summaries.items():
        wanted = [t for t in thresholds if scope_matches(t, cell)]
        unscoped = [Threshold(t.expression, t.metric, t.op, t.limit) for t in wanted]
        results.extend(evaluate_repeats(unscoped, cell, runs))
    return results


def threshold_entries(results: Sequence[ThresholdResult]) -> tuple[ThresholdEntry, ...]:
    """The thresholds as ``matrix.json`` keeps them."""
    return tuple(
        ThresholdEntry(
            expression=r.threshold.expression,
            cell=r.scenario,
            observed=r.observed,
            passed=r.passed,
            explanation=r.why_missing or None,
        )
        for r in results
    )


def write_matrix_json(out: Path, doc: MatrixDoc) -> Path:
    """Write ``<out>/matrix.json`` (atomically: a reader never sees half a file)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / MATRIX_JSON
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(doc.to_json_text(), encoding="utf-8")
    tmp.replace(path)
    return path


def read_matrix_json(path: Path) -> MatrixDoc:
    """Read a ``matrix.json`` (a matrix folder's, or the copy beside the decision report)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ResultsError(f"{path} not found: is it a folder of harness matrix?") from exc
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror}") from exc
    return MatrixDoc.from_json_text(text, str(path))


def load_summaries(out: Path, doc: MatrixDoc) -> dict[str, list[Summary]]:
    """The summaries of every completed run of every cell, read from their folders."""
    found: dict[str, list[Summary]] = {}
    for cell in doc.cells:
        found[cell.id] = []
        for run in cell.runs:
            if run.ok:
                try:
                    found[cell.id].append(load_summary(out / run.dir))
                except HarnessError as exc:
                    raise ResultsError(f"cell {cell.id} {run.run}: {exc}") from exc
    return found
