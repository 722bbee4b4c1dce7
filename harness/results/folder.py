"""Results of a run: the summary (``summary.json``, ``docs/contracts.md``), and the files of the
results folder (``samples.csv``, ``summary.json``, ``report.txt``, ``report.html``).

Pure functions build the summary from the collected rows, so that a saved run re-renders its
report from ``summary.json`` alone (``harness report``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.report import text as report_mod
from harness.run.collect import READY, TracerSample
from harness.errors import ResultsError
from harness.runtime.base import ComponentState, ComponentStatus
from harness.scenario.model import Scenario
from harness.results.stats import summarize

SAMPLE_COLUMNS = [f.name for f in fields(TracerSample)]
"""The columns of ``samples.csv``, one row per tracer."""


@dataclass(frozen=True)
class RunFacts:
    """What identifies a run and when it happened (unix wall seconds)."""

    run_id: str
    scenario: Scenario
    runtime: str
    started_wall: float
    boot_wall: float
    ended_wall: float


def iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds.

    >>> iso(0)
    '1970-01-01T00:00:00.000+00:00'
    """
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def tracer_health(hosts: Iterable[tuple[int, ComponentState]]) -> dict[str, int]:
    """Health counted in tracers: each ``(tracers hosted, state of the host)`` adds its tracers
    to running, exited (cleanly), restarting or crashes.

    >>> crashed = ComponentState(ComponentStatus.EXITED, exit_code=-9)
    >>> tracer_health([(25, ComponentState(ComponentStatus.RUNNING)), (5, crashed)])
    {'running': 25, 'exited': 0, 'restarting': 0, 'crashes': 5}
    """
    health = {"running": 0, "exited": 0, "restarting": 0, "crashes": 0}
    for tracers, state in hosts:
        if state.crashed:
            health["crashes"] += tracers
        elif state.status is ComponentStatus.RESTARTING:
            health["restarting"] += tracers
        elif state.status is ComponentStatus.EXITED:
            health["exited"] += tracers
        else:
            health["running"] += tracers
    return health


def build_summary(
    facts: RunFacts,
    rows: Sequence[TracerSample],
    counts: Mapping[str, int],
    health: Mapping[str, int],
    *,
    agent: Mapping[str, float],
    backend: Mapping[str, float],
    timeline: Sequence[Sequence[float]],
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """``summary.json``: percentiles over the ready tracers, counts, health, counters."""
    scenario = facts.scenario
    ready = [r for r in rows if r.outcome == READY]
    boot_ms = [r.boot_total_ms for r in ready if r.boot_total_ms is not None]
    wait_mode = scenario.provider.mode == "wait"
    return {
        "run_id": facts.run_id,
        "scenario": scenario.name,
        "runtime": facts.runtime,
        "tracers": scenario.fleet.tracers,
        "started_at": iso(facts.started_wall),
        "boot_at": iso(facts.boot_wall),
        "duration_s": round(facts.ended_wall - facts.boot_wall, 3),
        "provider_mode": scenario.provider.mode,
        "provider_ready_ms": summarize(
            r.provider_ready_ms for r in ready if r.provider_ready_ms is not None
        ),
        "boot_total_ms": summarize(boot_ms),
        "counts": dict(counts),
        "success_ratio": round(counts["success"] / scenario.fleet.tracers, 4),
        "provider_error_events": sum(r.provider_error_events for r in rows),
        "buckets": report_mod.buckets(boot_ms) if wait_mode else None,
        "health": dict(health),
        "agent": dict(agent),
        "backend": dict(backend),
        "timeline": [list(point) for point in timeline],
        "warnings": list(warnings),
    }


def write_results(
    out_dir: Path, summary: dict[str, Any], rows: Sequence[TracerSample], text: str
) -> str | None:
    """Write ``samples.csv``, ``summary.json``, ``report.txt`` and ``report.html``; return a
    warning when ``report.html`` could not be written."""
    with (out_dir / "samples.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=SAMPLE_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.txt").write_text(text, encoding="utf-8")
    return write_html_if_available(out_dir)


def write_html_if_available(out_dir: Path) -> str | None:
    """Write ``report.html`` (:func:`harness.report.html.run_page.write_run_html`); return a warning
    instead of failing a completed run when it cannot be written."""
    # Imported here: harness.report.html.run_page imports this module (load_summary).
    from harness.report.html.run_page import write_run_html

    try:
        write_run_html(out_dir)
    except Exception as exc:  # the text report stands on its own
        return f"report.html for {out_dir} was not written: {exc}"
    return None


def load_summary(out_dir: Path) -> dict[str, Any]:
    """The ``summary.json`` of a results folder."""
    path = out_dir / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ResultsError(
            f"{path} not found: is {out_dir} a results folder of harness run?"
        ) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object")
    return data
