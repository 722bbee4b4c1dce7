"""``harness compare`` and ``harness check``. Thin: parse the options, call
:func:`harness.run.compare.compare_scenarios` or the thresholds, print, map errors to one line.
Exit codes (docs/contracts.md): 0 all runs completed and every threshold passed, 1 a run failed
or bad input, 2 usage (a threshold that does not parse is a usage error of ``--threshold``), 99
a threshold was breached, 130 interrupted.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.cli.exit import EXIT_BREACHED, EXIT_INTERRUPTED, fail
from harness.cli.gate import check_matrix, compare_cases, print_results, run_case
from harness.cli.options import (
    Force,
    Image,
    Junit,
    Overrides,
    PerContainer,
    PerProcess,
    RuntimeName,
    Thresholds,
    Timeout,
    Tracers,
    deps_of,
    fleet_options,
    parse_threshold_options,
)
from harness.cli.progress import make_progress
from harness.errors import HarnessError, Interrupted
from harness.gates.junit import write_junit
from harness.gates.thresholds import evaluate
from harness.report.tables import render_table
from harness.results.folder import load_summary
from harness.run.compare import compare_scenarios
from harness.run.placement import Placement
from harness.run.preflight import preflight
from harness.run.startup import new_run_id
from harness.runtime.images import DEFAULT_IMAGE
from harness.scenario.model import load_scenario
from harness.studies.comparison import COMPARE_JSON, load_comparison
from harness.studies.matrix import MATRIX_JSON


def compare(
    ctx: typer.Context,
    scenarios: Annotated[
        str,
        typer.Option(
            "--scenarios",
            help="Comma-separated built-in names or scenario files, run in this order; ratios "
            "are to the first.",
        ),
    ] = "baseline,phase1,phase2,phase3",
    tracers: Tracers = None,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            min=1,
            help="Runs per scenario; the table shows the median and the spread (min-max).",
        ),
    ] = 1,
    runtime: RuntimeName = "auto",
    overrides: Overrides = None,
    thresholds: Thresholds = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Compare folder: <out>/<scenario>/run-<k>/, compare.json, report.html "
            "[default: results/<UTC time>-compare-<id>].",
        ),
    ] = None,
    timeout: Timeout = None,
    tracers_per_process: PerProcess = None,
    tracers_per_container: PerContainer = None,
    image: Image = DEFAULT_IMAGE,
    junit: Junit = None,
    force: Force = False,
) -> None:
    """Run several scenarios on the same fleet and runtime and compare them side by side."""
    names = [s.strip() for s in scenarios.split(",") if s.strip()]
    if not names:
        raise typer.BadParameter("give at least one scenario", param_hint="--scenarios")
    placement = Placement(
        runtime=runtime,
        image=image,
        tracers_per_process=tracers_per_process,
        tracers_per_container=tracers_per_container,
    )
    opts = fleet_options(
        tracers=tracers,
        timeout=timeout,
        overrides=overrides,
        placement=placement,
        thresholds=thresholds,
        junit=junit,
    )
    deps = deps_of(ctx)
    err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    try:
        loaded = [load_scenario(name, opts.overrides) for name in names]
        choice = deps.choose(placement.runtime, placement.image)
        host = deps.host()
        for scenario in loaded:
            for note in preflight(placement.plan(choice, scenario), host):
                err.print(note)
        compare_id = new_run_id()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out_dir = out or Path("results") / f"{stamp}-compare-{compare_id}"
        err.print(f"runtime: {choice.name} ({choice.reason})")
        err.print(
            f"compare {compare_id}: {', '.join(s.name for s in loaded)} x {repeat} run(s) "
            f"into {out_dir}"
        )
        outcome = compare_scenarios(
            loaded,
            repeat=repeat,
            out_dir=out_dir,
            runtime_factory=deps.factory(choice, placement),
            runtime_name=choice.name,
            per_process=placement.per_process(choice),
            thresholds=opts.thresholds,
            overrides=opts.overrides,
            compare_id=compare_id,
            clock=deps.clock,
            machine=deps.machine(choice.name),
            notify=err.print,
            progress_for=lambda s: make_progress(err, s.fleet.tracers),
            force=force,
        )
    except (KeyboardInterrupt, Interrupted):
        fail("interrupted: every component of the current run was stopped", EXIT_INTERRUPTED)
    except HarnessError as exc:
        fail(str(exc))
    comparison = outcome.comparison
    sys.stdout.write("\n" + render_table(comparison))
    passed = print_results(comparison.thresholds)
    if opts.junit is not None:
        write_junit(opts.junit, compare_cases(comparison), comparison.thresholds)
    typer.echo(f"\nresults: {out_dir}  ({COMPARE_JSON}, {outcome.html.name})")
    if opts.junit is not None:
        typer.echo(f"junit: {opts.junit}")
    if comparison.failed_runs:
        failed = ", ".join(f"{r.scenario} {r.name}" for r in comparison.failed_runs)
        fail(f"{len(comparison.failed_runs)} run(s) failed: {failed}")
    if not passed:
        raise typer.Exit(EXIT_BREACHED)


def check(
    results: Annotated[
        Path,
        typer.Argument(
            help="A results folder of `harness run`, or a folder of `harness compare` or "
            "`harness matrix`."
        ),
    ],
    thresholds: Thresholds = None,
    junit: Junit = None,
) -> None:
    """Check thresholds on saved results without running anything (exit 99 on a breach)."""
    gates = parse_threshold_options(thresholds)
    if not gates:
        raise typer.BadParameter("give at least one --threshold", param_hint="--threshold")
    try:
        if (results / COMPARE_JSON).exists():
            comparison = load_comparison(results, gates)
            outcomes = list(comparison.thresholds)
            cases = compare_cases(comparison)
        elif (results / MATRIX_JSON).exists():
            outcomes, cases = check_matrix(results, gates)
        else:
            summary = load_summary(results)
            if not summary.completed:
                fail(
                    f"run {summary.run_id} in {results} did not complete ({summary.status}: "
                    f"{(summary.failure or '').splitlines()[0] if summary.failure else 'no reason'}"
                    "): thresholds are not checked on partial results"
                )
            outcomes = evaluate(gates, summary)
            cases = [run_case(summary, results)]
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
