"""``harness compare``, ``harness check`` and the ``--threshold`` gate of ``harness run``.

Registered by :mod:`harness.cli.app` (``register(app)``). Thin like the rest of the CLI: parse the
options, call :mod:`harness.studies.comparison`, :mod:`harness.gates.thresholds`,
:mod:`harness.gates.junit` and :mod:`harness.report.html.run_page`, map errors to one line. Exit
codes (docs/contracts.md): 0 all runs completed and every threshold passed, 1 a run failed or
bad input, 2 usage (a threshold that does not parse is a usage error of ``--threshold``), 99 a
threshold was breached, 130 interrupted.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from harness.cli.exit import EXIT_BREACHED, EXIT_INTERRUPTED, fail
from harness.errors import HarnessError, Interrupted, ThresholdError
from harness.gates.junit import ScenarioCase, write_junit
from harness.gates.thresholds import (
    Threshold,
    ThresholdResult,
    check_scope,
    evaluate,
    metric_names,
    parse_thresholds,
)
from harness.report.html.run_page import write_compare_html
from harness.studies.comparison import (
    COMPARE_JSON,
    Comparison,
    load_comparison,
    render_table,
    run_compare,
    write_compare_json,
)

THRESHOLD_HELP = (
    "A pass/fail gate, k6-style: 'METRIC OP VALUE[ms|s]', optionally scoped to one scenario "
    "with 'SCENARIO: ...' (repeatable), e.g. --threshold 'provider_ready.p99 < 1s' "
    "--threshold 'phase3: success_ratio >= 1'. A breach exits 99. Metrics: "
    + ", ".join(metric_names())
    + "."
)

ThresholdOption = Annotated[list[str] | None, typer.Option("--threshold", help=THRESHOLD_HELP)]
JunitOption = Annotated[
    Path | None,
    typer.Option("--junit", help="Also write JUnit XML here (one testcase per run and threshold)."),
]


def parse_threshold_options(expressions: Iterable[str] | None) -> list[Threshold]:
    """Parse ``--threshold`` values; a bad one is a usage error (exit 2) naming it."""
    try:
        return parse_thresholds(expressions or [])
    except ThresholdError as exc:
        raise typer.BadParameter(str(exc), param_hint="--threshold") from exc


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


def gate_run(
    summary: Mapping[str, Any],
    thresholds: Sequence[Threshold],
    run_dir: Path,
    junit: Path | None = None,
) -> None:
    """After ``harness run``: check the thresholds, print them, exit 99 on a breach."""
    if not thresholds and junit is None:
        return
    try:
        results = evaluate(thresholds, summary)
    except ThresholdError as exc:
        fail(str(exc))
    if junit is not None:
        write_junit(junit, [_run_case(summary, run_dir)], results)
        typer.echo(f"junit: {junit}")
    if not print_results(results):
        raise typer.Exit(EXIT_BREACHED)


def check_scope_for_run(thresholds: Sequence[Threshold], scenario: str) -> None:
    """Before ``harness run`` starts: refuse a threshold scoped to another scenario."""
    try:
        check_scope(thresholds, scenario)
    except ThresholdError as exc:
        raise typer.BadParameter(str(exc), param_hint="--threshold") from exc


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _run_case(summary: Mapping[str, Any], run_dir: Path) -> ScenarioCase:
    """The JUnit testcase of one completed ``harness run`` (its results folder)."""
    return ScenarioCase(
        str(summary.get("scenario", "")),
        run_dir.name,
        True,
        report=_read_text(run_dir / "report.txt"),
        duration_s=float(summary.get("duration_s") or 0.0),
    )


def _cases(comparison: Comparison) -> list[ScenarioCase]:
    return [
        ScenarioCase(
            record.scenario,
            record.name,
            record.ok,
            message=record.error,
            report=_read_text(record.run_dir / "report.txt"),
            duration_s=record.duration_s,
        )
        for scenario in comparison.scenarios
        for record in comparison.runs[scenario]
    ]


def _run_line(scenario: str, index: int, summary: Mapping[str, Any], run_dir: Path) -> str:
    ready = summary.get("provider_ready_ms") or {}
    counts = summary.get("counts") or {}

    def ms(key: str) -> str:
        value = ready.get(key) if isinstance(ready, Mapping) else None
        return "n/a" if value is None else f"{value:,}ms"

    return (
        f"{scenario} run-{index}: provider ready p50 {ms('p50')}, p99 {ms('p99')}, "
        f"success {counts.get('success', '?')}/{summary.get('tracers', '?')}  ({run_dir})"
    )


def compare(
    scenarios: Annotated[
        str,
        typer.Option(
            "--scenarios",
            help="Comma-separated built-in names or scenario files, run in this order; ratios "
            "are to the first.",
        ),
    ] = "baseline,phase1,phase2,phase3",
    tracers: Annotated[
        int | None, typer.Option("--tracers", min=1, help="Fleet size of every scenario.")
    ] = None,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            min=1,
            help="Runs per scenario; the table shows the median and the spread (min-max).",
        ),
    ] = 1,
    runtime: Annotated[
        str,
        typer.Option("--runtime", help="auto|local|docker, chosen once for every run."),
    ] = "auto",
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a key in every scenario, e.g. --set client.poll_interval_s=1 "
            "(repeatable).",
        ),
    ] = None,
    thresholds: ThresholdOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Compare folder: <out>/<scenario>/run-<k>/, compare.json, report.html "
            "[default: results/<UTC time>-compare-<id>].",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Seconds of collection per run (timeouts.run_s)."),
    ] = None,
    tracers_per_process: Annotated[
        int | None,
        typer.Option("--tracers-per-process", min=1, help="Local runtime: tracers per process."),
    ] = None,
    tracers_per_container: Annotated[
        int,
        typer.Option(
            "--tracers-per-container", min=1, help="Docker runtime: tracers per container."
        ),
    ] = 1,
    image: Annotated[
        str | None,
        typer.Option("--image", envvar="HARNESS_IMAGE", help="Docker runtime: the harness image."),
    ] = None,
    junit: JunitOption = None,
) -> None:
    """Run several scenarios on the same fleet and runtime and compare them side by side."""
    from harness.cli.progress import make_progress
    from harness.run.runner import run_scenario
    from harness.runtime import choose_runtime, make_runtime
    from harness.runtime.images import DEFAULT_IMAGE
    from harness.scenario.model import Scenario, load_scenario

    names = [s.strip() for s in scenarios.split(",") if s.strip()]
    if not names:
        raise typer.BadParameter("give at least one scenario", param_hint="--scenarios")
    gates = parse_threshold_options(thresholds)
    assignments = list(overrides or [])
    if tracers is not None:
        assignments.append(f"fleet.tracers={tracers}")
    if timeout is not None:
        assignments.append(f"timeouts.run_s={timeout}")
    image_tag = image or DEFAULT_IMAGE
    err = Console(stderr=True, highlight=False)
    try:
        loaded: dict[str, Scenario] = {}
        for name in names:
            scenario = load_scenario(name, assignments)
            if scenario.name in loaded:
                raise HarnessError(f"scenario {scenario.name!r} is listed twice in --scenarios")
            loaded[scenario.name] = scenario
        choice = choose_runtime(runtime, image=image_tag)
        compare_id = secrets.token_hex(4)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out_dir = out or Path("results") / f"{stamp}-compare-{compare_id}"
        err.print(f"runtime: {choice.name} ({choice.reason})")
        err.print(f"compare {compare_id}: {', '.join(loaded)} x {repeat} run(s) into {out_dir}")
        per_process = tracers_per_process
        options: dict[str, object] = {}
        if choice.name == "docker":
            options = {"image": image_tag}
            per_process = tracers_per_container

        def run_one(name: str, index: int, run_dir: Path) -> Mapping[str, Any]:
            scenario = loaded[name]
            run_id = secrets.token_hex(4)
            with (
                make_progress(err, scenario.fleet.tracers) as progress,
                make_runtime(choice.name, run_id, log_dir=run_dir / "logs", **options) as rt,
            ):
                result = run_scenario(
                    scenario, rt, run_dir, progress=progress, tracers_per_process=per_process
                )
            err.print(_run_line(name, index, result.summary, run_dir))
            return result.summary

        fleet = {s.fleet.tracers for s in loaded.values()}
        info = {
            "compare_id": compare_id,
            "tracers": fleet.pop() if len(fleet) == 1 else sorted(fleet),
            "runtime": choice.name,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "overrides": assignments,
        }
        comparison = run_compare(
            list(loaded), repeat, out_dir, run_one, gates, info, notify=err.print
        )
        write_compare_json(out_dir, comparison)
        html = write_compare_html(out_dir, comparison)
    except (KeyboardInterrupt, Interrupted):
        fail("interrupted: every component of the current run was stopped", EXIT_INTERRUPTED)
    except HarnessError as exc:
        fail(str(exc))
    sys.stdout.write("\n" + render_table(comparison))
    passed = print_results(comparison.thresholds)
    if junit is not None:
        write_junit(junit, _cases(comparison), comparison.thresholds)
    typer.echo(f"\nresults: {out_dir}  ({COMPARE_JSON}, {html.name})")
    if junit is not None:
        typer.echo(f"junit: {junit}")
    if comparison.failed_runs:
        failed = ", ".join(f"{r.scenario} {r.name}" for r in comparison.failed_runs)
        fail(f"{len(comparison.failed_runs)} run(s) failed: {failed}")
    if not passed:
        raise typer.Exit(EXIT_BREACHED)


def check(
    results: Annotated[
        Path,
        typer.Argument(help="A results folder of `harness run`, or a folder of `harness compare`."),
    ],
    thresholds: ThresholdOption = None,
    junit: JunitOption = None,
) -> None:
    """Check thresholds on saved results without running anything (exit 99 on a breach)."""
    from harness.run.runner import load_summary

    gates = parse_threshold_options(thresholds)
    if not gates:
        raise typer.BadParameter("give at least one --threshold", param_hint="--threshold")
    try:
        if (results / COMPARE_JSON).exists():
            comparison = load_comparison(results, gates)
            outcomes = list(comparison.thresholds)
            cases = _cases(comparison)
        else:
            summary = load_summary(results)
            outcomes = evaluate(gates, summary)
            cases = [_run_case(summary, results)]
    except HarnessError as exc:
        fail(str(exc))
    passed = print_results(outcomes)
    if junit is not None:
        write_junit(junit, cases, outcomes)
        typer.echo(f"junit: {junit}")
    if not passed:
        raise typer.Exit(EXIT_BREACHED)


def register(app: typer.Typer) -> None:
    """Add ``compare`` and ``check`` to the main CLI."""
    app.command("compare")(compare)
    app.command("check")(check)
