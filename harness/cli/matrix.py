"""``harness matrix``: client variants x agent designs (x set-ups), with repeats. Thin: parse the
axes and the shared options, call :func:`harness.run.matrix.run_matrix`, print the table, write
the decision report when asked. ``--from DIR`` re-renders a saved matrix without running.

Exit codes as ``harness compare``: 0 every run completed and every threshold passed, 1 a run
failed or bad input, 2 usage, 99 a threshold was breached, 130 interrupted (what ran is saved).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.cli.exit import EXIT_BREACHED, EXIT_INTERRUPTED, fail
from harness.cli.gate import matrix_cases, print_results
from harness.cli.options import (
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
from harness.gates.thresholds import Threshold, ThresholdResult
from harness.report.decision import write_decision_report
from harness.report.html.matrix_page import write_matrix_html
from harness.report.matrix_table import render_matrix_table
from harness.results.summary import Summary
from harness.run.matrix import plan_matrix, run_matrix
from harness.run.placement import Placement
from harness.run.startup import new_run_id
from harness.runtime.images import DEFAULT_IMAGE
from harness.scenario.designs import AGENT_DESIGNS, agent_design, client_variant
from harness.studies.matrix import (
    MATRIX_JSON,
    MatrixDoc,
    check_matrix_scopes,
    evaluate_cells,
    load_summaries,
    read_matrix_json,
)

DEFAULT_CLIENTS = "go-2.5,go-2.10,ddtrace-py-4.16"
DEFAULT_AGENTS = ",".join(AGENT_DESIGNS)


def _names(text: str, option: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise typer.BadParameter("give at least one name", param_hint=option)
    return names


def canonical_command(
    *,
    setups: Sequence[str],
    clients: Sequence[str],
    agents: Sequence[str],
    repeat: int,
    runtime: str,
    overrides: Sequence[str],
    per_process: int | None,
    thresholds: Sequence[Threshold],
    markdown: Path | None,
) -> str:
    """The ``harness matrix`` command line that runs this matrix again (recorded in
    ``matrix.json`` and printed at the top of the decision report).

    >>> cmd = canonical_command(setups=["baseline"], clients=["go-2.5"], agents=["legacy"],
    ...     repeat=1, runtime="local", overrides=["fleet.tracers=100", "agent.seed=1"],
    ...     per_process=None, thresholds=[], markdown=Path("docs/decision-report.md"))
    >>> cmd.split(" --")[:5]
    ['harness matrix', 'setups baseline', 'clients go-2.5', 'agents legacy', 'repeat 1']
    >>> cmd.split(" --")[5:]
    ['runtime local', 'tracers 100', 'set agent.seed=1', 'markdown docs/decision-report.md']
    """
    parts = [
        "harness",
        "matrix",
        "--setups",
        ",".join(setups),
        "--clients",
        ",".join(clients),
        "--agents",
        ",".join(agents),
        "--repeat",
        str(repeat),
        "--runtime",
        runtime,
    ]
    if per_process is not None:
        parts += ["--tracers-per-process", str(per_process)]
    shorthands = {"fleet.tracers": "--tracers", "timeouts.run_s": "--timeout"}
    for assignment in overrides:
        key, _, value = assignment.partition("=")
        parts += [shorthands[key], value] if key in shorthands else ["--set", assignment]
    for threshold in thresholds:
        parts += ["--threshold", threshold.expression]
    if markdown is not None:
        parts += ["--markdown", str(markdown)]
    return shlex.join(parts)


def _finish(
    out: Path,
    doc: MatrixDoc,
    results: Sequence[ThresholdResult],
    markdown: Path | None,
    junit: Path | None,
) -> None:
    """Print the table and thresholds, write the report files, exit as the contract says."""
    sys.stdout.write("\n" + render_matrix_table(doc))
    passed = print_results(results)
    if markdown is not None:
        md, source = write_decision_report(doc, markdown)
        typer.echo(f"decision report: {md} (from {source})")
    if junit is not None:
        write_junit(junit, matrix_cases(out, doc), results)
        typer.echo(f"junit: {junit}")
    typer.echo(f"\nresults: {out}  ({MATRIX_JSON}, report.html)")
    if doc.failed_runs:
        failed = ", ".join(f"{cell} {run.run}" for cell, run in doc.failed_runs)
        fail(f"{len(doc.failed_runs)} run(s) failed: {failed}")
    if not passed:
        raise typer.Exit(EXIT_BREACHED)


def _from_saved(
    saved: Path, thresholds: Sequence[Threshold], markdown: Path | None, junit: Path | None
) -> None:
    try:
        doc = read_matrix_json(saved / MATRIX_JSON)
        check_matrix_scopes(thresholds, [c.id for c in doc.cells])
        summaries: dict[str, list[Summary]] = load_summaries(saved, doc) if thresholds else {}
        results = evaluate_cells(thresholds, summaries)
        write_matrix_html(saved, doc)
    except HarnessError as exc:
        fail(str(exc))
    _finish(saved, doc, results, markdown, junit)


def matrix(
    ctx: typer.Context,
    clients: Annotated[
        str,
        typer.Option(
            "--clients",
            help="Comma-separated client profiles (tracer_stub/profiles.py), each optionally "
            "+phase1 or +fastlane for the proposal's client policies: go-2.5+fastlane.",
        ),
    ] = DEFAULT_CLIENTS,
    agents: Annotated[
        str,
        typer.Option(
            "--agents",
            help=f"Comma-separated agent designs ({', '.join(AGENT_DESIGNS)}), a+b to combine "
            "them, or .yaml files with an agent section (docs/design-space.md).",
        ),
    ] = DEFAULT_AGENTS,
    setups: Annotated[
        str,
        typer.Option(
            "--setups",
            help="Comma-separated set-ups: built-in scenarios or files giving the fleet, boot, "
            "backend and timeouts (e.g. baseline,loadtest-setup,late-subscription).",
        ),
    ] = "baseline",
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, help="Runs per cell; the table shows medians.")
    ] = 1,
    tracers: Tracers = None,
    runtime: RuntimeName = "auto",
    overrides: Overrides = None,
    thresholds: Thresholds = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Matrix folder: <out>/<setup>/<client>/<agent>/run-<k>/, matrix.json, "
            "report.html [default: results/<UTC time>-matrix-<id>].",
        ),
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option(
            "--markdown",
            help="Also write the decision report here (e.g. docs/decision-report.md), and the "
            "matrix.json it is made from beside it (.json).",
        ),
    ] = None,
    saved: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Re-render a saved matrix folder (table, report.html, --markdown, "
            "thresholds) without running anything.",
        ),
    ] = None,
    timeout: Timeout = None,
    tracers_per_process: PerProcess = None,
    tracers_per_container: PerContainer = 1,
    image: Image = DEFAULT_IMAGE,
    junit: Junit = None,
) -> None:
    """Run client profiles x agent designs (x set-ups) and print one table; optionally write
    the decision report (--markdown)."""
    if saved is not None:
        _from_saved(saved, parse_threshold_options(thresholds), markdown, junit)
        return
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
    err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    deps = deps_of(ctx)
    setup_names = _names(setups, "--setups")
    client_names = _names(clients, "--clients")
    agent_names = _names(agents, "--agents")
    try:
        plan = plan_matrix(
            setup_names,
            [client_variant(c) for c in client_names],
            [agent_design(a) for a in agent_names],
            repeat=repeat,
            overrides=opts.overrides,
        )
        choice = deps.choose(placement.runtime, placement.image)
        matrix_id = new_run_id()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out_dir = out or Path("results") / f"{stamp}-matrix-{matrix_id}"
        cells = len(plan.cells)
        err.print(f"runtime: {choice.name} ({choice.reason})")
        err.print(
            f"matrix {matrix_id}: {len(setup_names)} set-up(s) x {len(client_names)} client(s) "
            f"x {len(agent_names)} agent design(s) = {cells} cells x {repeat} run(s) into {out_dir}"
        )
        command = canonical_command(
            setups=setup_names,
            clients=client_names,
            agents=agent_names,
            repeat=repeat,
            runtime=choice.name if runtime == "auto" else runtime,
            overrides=opts.overrides,
            per_process=tracers_per_process,
            thresholds=opts.thresholds,
            markdown=markdown,
        )
        outcome = run_matrix(
            plan,
            out_dir=out_dir,
            runtime_factory=deps.factory(choice, placement),
            runtime_name=choice.name,
            per_process=placement.per_process(choice),
            command=command,
            matrix_id=matrix_id,
            thresholds=opts.thresholds,
            clock=deps.clock,
            notify=err.print,
            progress_for=lambda s: make_progress(err, s.fleet.tracers),
        )
        results = evaluate_cells(opts.thresholds, outcome.summaries)
    except (KeyboardInterrupt, Interrupted):
        fail(
            "interrupted: every component of the current run was stopped; the runs that ended "
            "are in matrix.json (re-render them with --from)",
            EXIT_INTERRUPTED,
        )
    except HarnessError as exc:
        fail(str(exc))
    _finish(out_dir, outcome.doc, results, markdown, opts.junit)


def register(app: typer.Typer) -> None:
    """Add ``matrix`` to the main CLI."""
    app.command("matrix")(matrix)
