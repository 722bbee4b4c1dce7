"""``harness compare``: the same fleet through several scenarios, side by side.

Each scenario runs ``repeat`` times, one run after another on the same runtime, each into its
own results folder ``<out>/<scenario>/run-<k>/`` (the folder ``harness run`` writes). Repeats are
interleaved (round k runs every scenario once) so that a slow drift of the machine (another job,
thermal throttling) spreads over all scenarios instead of biasing the last one.

The table shows, per scenario, the median across repeats of p50/p90/p99/max provider-ready time
and of the success ratio, the spread (min-max across repeats) and the ratio of the median to the
first scenario's. ``compare.json`` holds the same numbers plus every run's folder.

The pure part (:class:`Comparison`, :func:`compare_runs`) works on saved summaries;
:func:`run_compare` drives the runs through an injected ``run_one`` callable so that tests use
canned summaries and :mod:`harness.run.compare` uses :func:`harness.run.runner.run_scenario`. The
text table is :func:`harness.report.tables.render_table`.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import CompareError, HarnessError, Interrupted, ResultsError
from harness.gates.metrics import METRICS, Metric
from harness.gates.thresholds import Threshold, ThresholdResult, check_scopes, evaluate_repeats
from harness.results.folder import load_summary
from harness.results.summary import Summary

COMPARE_JSON = "compare.json"

TABLE_ROWS: tuple[tuple[str, str], ...] = (
    ("provider ready p50", "provider_ready.p50"),
    ("provider ready p90", "provider_ready.p90"),
    ("provider ready p99", "provider_ready.p99"),
    ("provider ready max", "provider_ready.max"),
    ("success", "success_ratio"),
)
"""The rows of the side-by-side table: label and threshold metric name."""


@dataclass(frozen=True)
class RunRecord:
    """One run of one scenario inside a compare folder."""

    scenario: str
    index: int
    """1-based repeat number (the ``k`` of ``run-<k>``)."""
    run_dir: Path
    summary: Summary | None
    """``summary.json``, or ``None`` when the run failed before writing one."""
    error: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.summary is not None and not self.error

    @property
    def name(self) -> str:
        return f"run-{self.index}"


@dataclass(frozen=True)
class Cell:
    """One scenario's figure in one row: median over its runs, spread, ratio to the first."""

    median: float | None
    low: float | None
    high: float | None
    ratio: float | None
    runs: int

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "ratio_to_first": self.ratio,
            "runs": self.runs,
        }


@dataclass(frozen=True)
class Row:
    label: str
    metric: Metric
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class CompareInfo:
    """Context for the reader of a compare: the fleet, the runtime, when, which overrides."""

    compare_id: str = ""
    tracers: int | tuple[int, ...] = 0
    """The fleet size of every scenario, or the sizes when they differ."""
    runtime: str = ""
    started_at: str = ""
    overrides: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        tracers = list(self.tracers) if isinstance(self.tracers, tuple) else self.tracers
        return {
            "compare_id": self.compare_id,
            "tracers": tracers,
            "runtime": self.runtime,
            "started_at": self.started_at,
            "overrides": list(self.overrides),
        }

    @classmethod
    def from_json(cls, saved: Mapping[str, object]) -> CompareInfo:
        """Read the keys written by :meth:`to_json` (missing ones keep their defaults)."""
        tracers = saved.get("tracers", 0)
        overrides = saved.get("overrides", ())
        return cls(
            compare_id=str(saved.get("compare_id", "")),
            tracers=tuple(int(str(t)) for t in tracers)
            if isinstance(tracers, list)
            else int(str(tracers)),
            runtime=str(saved.get("runtime", "")),
            started_at=str(saved.get("started_at", "")),
            overrides=tuple(str(o) for o in overrides) if isinstance(overrides, list) else (),
        )


@dataclass(frozen=True)
class Comparison:
    """Everything a compare produced: its runs, the table, the thresholds' results."""

    scenarios: tuple[str, ...]
    runs: Mapping[str, tuple[RunRecord, ...]]
    rows: tuple[Row, ...]
    repeat: int
    thresholds: tuple[ThresholdResult, ...] = ()
    info: CompareInfo = field(default_factory=CompareInfo)

    @property
    def failed_runs(self) -> list[RunRecord]:
        return [r for s in self.scenarios for r in self.runs[s] if not r.ok]

    def summaries(self, scenario: str) -> list[Summary]:
        """The summaries of the runs of ``scenario`` that completed."""
        return _completed(self.runs[scenario])

    def to_json(self, root: Path | None = None) -> dict[str, Any]:
        """``compare.json``; run folders relative to ``root`` when given."""

        def where(path: Path) -> str:
            if root is not None and path.is_relative_to(root):
                return str(path.relative_to(root))
            return str(path)

        return {
            **self.info.to_json(),
            "scenarios": list(self.scenarios),
            "repeat": self.repeat,
            "first": self.scenarios[0] if self.scenarios else None,
            "table": [
                {
                    "label": row.label,
                    "metric": row.metric.name,
                    "unit": row.metric.unit.value,
                    "cells": {
                        s: c.to_json() for s, c in zip(self.scenarios, row.cells, strict=True)
                    },
                }
                for row in self.rows
            ],
            "runs": [
                {
                    "scenario": r.scenario,
                    "run": r.name,
                    "dir": where(r.run_dir),
                    "ok": r.ok,
                    "error": r.error or None,
                    "run_id": r.summary.run_id if r.summary else None,
                    "duration_s": round(r.duration_s, 3),
                }
                for s in self.scenarios
                for r in self.runs[s]
            ],
            "thresholds": [
                {
                    "expression": t.threshold.expression,
                    "scenario": t.scenario,
                    "observed": t.observed,
                    "passed": t.passed,
                    "explanation": t.why_missing or None,
                    "runs": t.runs,
                }
                for t in self.thresholds
            ],
        }


def _cell(values: Sequence[float], first: float | None, runs: int) -> Cell:
    if not values:
        return Cell(None, None, None, None, runs)
    median = float(statistics.median(values))
    ratio = median / first if first else None
    return Cell(median, min(values), max(values), ratio, runs)


def compare_runs(
    scenarios: Sequence[str],
    runs: Mapping[str, Sequence[RunRecord]],
    thresholds: Sequence[Threshold] = (),
    info: CompareInfo | None = None,
) -> Comparison:
    """Build the table (and check the thresholds) from the runs of each scenario."""
    if not scenarios:
        raise CompareError("nothing to compare: give at least one scenario")
    check_scopes(thresholds, scenarios)
    frozen = {s: tuple(runs.get(s, ())) for s in scenarios}
    repeat = max((len(v) for v in frozen.values()), default=0)
    completed = {s: _completed(frozen[s]) for s in scenarios}
    rows: list[Row] = []
    for label, name in TABLE_ROWS:
        metric = METRICS[name]
        per_scenario: list[tuple[list[float], int]] = []
        for scenario in scenarios:
            summaries = completed[scenario]
            values = [v for s in summaries if (v := metric.read(s).value) is not None]
            per_scenario.append((values, len(summaries)))
        first_values = per_scenario[0][0]
        first = float(statistics.median(first_values)) if first_values else None
        rows.append(Row(label, metric, tuple(_cell(v, first, n) for v, n in per_scenario)))
    results: list[ThresholdResult] = []
    for scenario in scenarios:
        results.extend(evaluate_repeats(thresholds, scenario, completed[scenario]))
    return Comparison(
        tuple(scenarios), frozen, tuple(rows), repeat, tuple(results), info or CompareInfo()
    )


def _completed(records: Sequence[RunRecord]) -> list[Summary]:
    """The summaries of the runs that completed, in run order."""
    return [r.summary for r in records if r.summary is not None and r.ok]


# --- running and loading ---------------------------------------------------------------------

RunOne = Callable[[str, int, Path], Summary]
"""Run scenario ``name`` (repeat ``k``) into the folder given and return its ``summary.json``."""

Notify = Callable[[str], None]


def run_dir_for(out: Path, scenario: str, index: int) -> Path:
    """``<out>/<scenario>/run-<k>``, the folder of one run of a compare."""
    return out / scenario / f"run-{index}"


def run_compare(
    scenarios: Sequence[str],
    repeat: int,
    out: Path,
    run_one: RunOne,
    thresholds: Sequence[Threshold] = (),
    info: CompareInfo | None = None,
    notify: Notify | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Comparison:
    """Run every scenario ``repeat`` times (interleaved rounds) and compare them.

    A run that raises :class:`HarnessError` is recorded as failed (its error kept for the
    report and JUnit) and the compare goes on; an interrupt stops everything.
    """
    if repeat < 1:
        raise CompareError(f"--repeat must be at least 1, not {repeat}")
    if len(set(scenarios)) != len(scenarios):
        raise CompareError(f"a scenario is listed twice in {','.join(scenarios)}")
    check_scopes(thresholds, scenarios)
    say = notify or (lambda _m: None)
    runs: dict[str, list[RunRecord]] = {s: [] for s in scenarios}
    total = len(scenarios) * repeat
    done = 0
    for index in range(1, repeat + 1):
        for scenario in scenarios:
            done += 1
            run_dir = run_dir_for(out, scenario, index)
            say(f"[{done}/{total}] {scenario} run-{index} → {run_dir}")
            started = clock()
            try:
                summary = run_one(scenario, index, run_dir)
            except (Interrupted, KeyboardInterrupt):
                raise
            except HarnessError as exc:
                say(f"[{done}/{total}] {scenario} run-{index} failed: {exc}")
                runs[scenario].append(
                    RunRecord(scenario, index, run_dir, None, str(exc), clock() - started)
                )
                continue
            runs[scenario].append(
                RunRecord(scenario, index, run_dir, summary, "", clock() - started)
            )
    return compare_runs(scenarios, runs, thresholds, info)


def write_compare_json(out: Path, comparison: Comparison) -> Path:
    """Write ``<out>/compare.json`` and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / COMPARE_JSON
    path.write_text(json.dumps(comparison.to_json(out), indent=2) + "\n", encoding="utf-8")
    return path


def load_comparison(out: Path, thresholds: Sequence[Threshold] = ()) -> Comparison:
    """Rebuild a comparison from a saved compare folder (its ``compare.json`` and run folders)."""
    path = out / COMPARE_JSON
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ResultsError(f"{path} not found: is {out} a folder of harness compare?") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    try:
        scenarios = [str(s) for s in saved.get("scenarios", [])]
        runs: dict[str, list[RunRecord]] = {s: [] for s in scenarios}
        for entry in saved.get("runs", []):
            scenario = str(entry["scenario"])
            run_dir = out / str(entry["dir"])
            index = int(str(entry["run"]).removeprefix("run-"))
            summary = load_summary(run_dir) if entry.get("ok") else None
            record = RunRecord(
                scenario,
                index,
                run_dir,
                summary,
                str(entry.get("error") or ""),
                float(entry.get("duration_s") or 0.0),
            )
            runs.setdefault(scenario, []).append(record)
        info = CompareInfo.from_json(saved)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ResultsError(
            f"{path} is not a compare.json written by harness compare "
            f"({type(exc).__name__}: {exc}); run the compare again"
        ) from exc
    return compare_runs(scenarios, runs, thresholds, info)
