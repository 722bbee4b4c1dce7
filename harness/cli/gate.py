"""Threshold results on the terminal and in JUnit, and the exit code they decide (99 on a
breach): shared by ``harness run``, ``compare`` and ``check``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from harness.cli.exit import EXIT_BREACHED, fail
from harness.errors import ThresholdError
from harness.gates.junit import ScenarioCase, write_junit
from harness.gates.thresholds import Threshold, ThresholdResult, evaluate
from harness.results.folder import read_report_text
from harness.results.summary import Summary
from harness.studies.comparison import Comparison
from harness.studies.matrix import (
    MATRIX_JSON,
    MatrixDoc,
    check_matrix_scopes,
    evaluate_cells,
    load_summaries,
    read_matrix_json,
)


def print_results(results: Sequence[ThresholdResult]) -> bool:
    """Print one line per threshold (breaches to stderr too); return whether all passed."""
    if not results:
        return True
    typer.echo("\n=== THRESHOLDS ===")
    for result in results:
        typer.echo(result.line())
    failed = [r for r in results if not r.passed]
    if failed:
        typer.echo(
            f"{len(failed)} of {len(results)} thresholds breached (exit {EXIT_BREACHED})",
            err=True,
        )
    return not failed


def run_case(summary: Summary, run_dir: Path) -> ScenarioCase:
    """The JUnit testcase of one completed ``harness run`` (its results folder)."""
    return ScenarioCase(
        summary.scenario,
        run_dir.name,
        True,
        report=read_report_text(run_dir),
        duration_s=summary.duration_s,
    )


def compare_cases(comparison: Comparison) -> list[ScenarioCase]:
    """One JUnit testcase per run of a compare."""
    return [
        ScenarioCase(
            record.scenario,
            record.name,
            record.ok,
            message=record.error,
            report=read_report_text(record.run_dir),
            duration_s=record.duration_s,
        )
        for scenario in comparison.scenarios
        for record in comparison.runs[scenario]
    ]


def gate_run(
    summary: Summary, thresholds: Sequence[Threshold], run_dir: Path, junit: Path | None = None
) -> None:
    """After ``harness run``: check the thresholds, print them, exit 99 on a breach."""
    if not thresholds and junit is None:
        return
    try:
        results = evaluate(thresholds, summary)
    except ThresholdError as exc:
        fail(str(exc))
    if junit is not None:
        write_junit(junit, [run_case(summary, run_dir)], results)
        typer.echo(f"junit: {junit}")
    if not print_results(results):
        raise typer.Exit(EXIT_BREACHED)


def check_matrix(
    out: Path, thresholds: Sequence[Threshold]
) -> tuple[list[ThresholdResult], list[ScenarioCase]]:
    """``harness check`` on a matrix folder: each threshold on every cell it applies to (the
    median over the cell's runs), and one JUnit testcase per run."""
    doc = read_matrix_json(out / MATRIX_JSON)
    check_matrix_scopes(thresholds, [c.id for c in doc.cells])
    results = evaluate_cells(thresholds, load_summaries(out, doc))
    return results, matrix_cases(out, doc)


def matrix_cases(out: Path, doc: MatrixDoc) -> list[ScenarioCase]:
    """One JUnit testcase per run of a matrix (the cell id as the scenario)."""
    return [
        ScenarioCase(
            cell.id,
            run.run,
            run.ok,
            message=run.error or "",
            report=read_report_text(out / run.dir),
            duration_s=run.duration_s,
        )
        for cell in doc.cells
        for run in cell.runs
    ]
