"""The ``harness`` command line (Typer). Thin: parse options, call library code, map
:class:`HarnessError` to one clear line and exit code 1 (``docs/contracts.md``: 0 completed,
1 run failed, 2 usage, 99 threshold breached, 130 interrupted). Commands take their runtime and
clock from :class:`harness.cli.options.CliDeps` in the Typer context."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from harness.cli.compare import register as register_compare_commands
from harness.cli.docker import register as register_docker_commands
from harness.cli.exit import EXIT_INTERRUPTED, describe, fail
from harness.cli.gate import gate_run
from harness.cli.matrix import register as register_matrix_command
from harness.cli.options import (
    Force,
    Image,
    Junit,
    LocustExtraWorkers,
    LocustMasterBind,
    LocustMasterPort,
    LocustUi,
    LocustUiPort,
    LocustWorkers,
    Overrides,
    PerContainer,
    PerProcess,
    ResultsDir,
    RuntimeName,
    Thresholds,
    Timeout,
    TracerKindOption,
    Tracers,
    default_out_dir,
    deps_of,
    fleet_options,
    locust_options,
)
from harness.cli.progress import make_progress
from harness.cli.review import register as register_review_commands
from harness.cli.simulate import register as register_simulate_command
from harness.cli.tracers import register as register_tracer_commands
from harness.errors import HarnessError, ThresholdError
from harness.gates.thresholds import check_scope
from harness.report.reference import comparable, versus_proposal
from harness.report.text import render_text
from harness.results.folder import load_summary
from harness.run.placement import Placement
from harness.run.preflight import preflight
from harness.run.runner import run_scenario
from harness.run.startup import new_run_id
from harness.runtime.images import DEFAULT_IMAGE
from harness.scenario.model import builtin_names, load_scenario

app = typer.Typer(
    help="Load-test harness for Remote Configuration delivery at fleet boot (legacy vs fast "
    "lane): boots N tracers against an agent and a backend and reports provider-ready "
    "percentiles in the proposal's layout.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def run(
    ctx: typer.Context,
    tracers: Tracers = None,
    tracer_kind: TracerKindOption = None,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario", help="A built-in name (see `harness scenarios`) or a .yaml/.toml path."
        ),
    ] = "baseline",
    runtime: RuntimeName = "auto",
    out: ResultsDir = None,
    timeout: Timeout = None,
    overrides: Overrides = None,
    tracers_per_process: PerProcess = None,
    tracers_per_container: PerContainer = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="Docker runtime: leave the containers and network up after the run (prints "
            "how to remove them: `harness down --run-id ID`).",
        ),
    ] = False,
    image: Image = DEFAULT_IMAGE,
    prometheus_sd: Annotated[
        Path | None,
        typer.Option(
            "--prometheus-sd",
            envvar="HARNESS_PROMETHEUS_SD_DIR",
            help="File-SD directory of a Prometheus (see `harness up`): the run's components are "
            "published there as scrape targets labelled run_id, scenario, component, role.",
        ),
    ] = None,
    thresholds: Thresholds = None,
    junit: Junit = None,
    force: Force = False,
    locust_workers: LocustWorkers = None,
    locust_extra_workers: LocustExtraWorkers = 0,
    locust_master_bind: LocustMasterBind = "127.0.0.1",
    locust_master_port: LocustMasterPort = None,
    locust_ui: LocustUi = False,
    locust_ui_port: LocustUiPort = 8089,
) -> None:
    """Boot a fleet of tracers against an agent and a backend and report provider-ready times."""
    placement = Placement(
        runtime=runtime,
        image=image,
        keep=keep,
        tracers_per_process=tracers_per_process,
        tracers_per_container=tracers_per_container,
        prometheus_sd=prometheus_sd,
        locust=locust_options(
            locust_workers,
            locust_extra_workers,
            locust_master_bind,
            locust_master_port,
            locust_ui,
            locust_ui_port,
        ),
    )
    opts = fleet_options(
        tracers=tracers,
        timeout=timeout,
        overrides=overrides,
        placement=placement,
        thresholds=thresholds,
        junit=junit,
        tracer_kind=tracer_kind,
    )
    deps = deps_of(ctx)
    kept = False  # whether the runtime leaves the components up on exit (Docker, --keep)
    out_dir: Path | None = None
    try:
        loaded = load_scenario(scenario, opts.overrides)
        try:
            check_scope(opts.thresholds, loaded.name)
        except ThresholdError as exc:
            raise typer.BadParameter(str(exc), param_hint="--threshold") from exc
        choice = deps.choose(placement.runtime, placement.image)
        kept = placement.leaves_components_up(choice)
        run_id = new_run_id()
        out_dir = out or default_out_dir(loaded.name, run_id)
        err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
        err.print(f"runtime: {choice.name} ({choice.reason})")
        err.print(f"scenario: {loaded.name}, {loaded.fleet.tracers} tracers, run id {run_id}")
        for note in preflight(placement.plan(choice, loaded), deps.host()):
            err.print(note)
        if choice.name == "locust" and locust_ui:
            err.print(f"Locust web UI: http://127.0.0.1:{locust_ui_port} (while the run lasts)")
        with make_progress(err, loaded.fleet.tracers) as progress:
            result = run_scenario(
                loaded,
                out_dir,
                deps.factory(choice, placement),
                run_id=run_id,
                clock=deps.clock,
                progress=progress,
                tracers_per_process=placement.per_process(choice),
                prometheus_sd=placement.prometheus_sd,
                force=force,
                machine=deps.machine(choice.name),
            )
    except KeyboardInterrupt:
        done = (
            "the run's containers were left up (--keep)"
            if kept
            else "every component of the run was stopped"
        )
        fail(f"interrupted: {done}{collected_note(out_dir)}", EXIT_INTERRUPTED)
    except HarnessError as exc:
        fail(f"{describe(exc)}{collected_note(out_dir)}")
    sys.stdout.write(result.report)
    if comparable(loaded):
        typer.echo("\n" + versus_proposal(result.summary))
    typer.echo(f"\nresults: {result.out_dir}")
    failed = result.summary.failure_reason()
    if failed:
        fail(f"the run failed: {failed} (its last log lines are in the report above)")
    gate_run(result.summary, opts.thresholds, result.out_dir, opts.junit)  # exit 99 on a breach


def collected_note(out_dir: Path | None) -> str:
    """Where a run that did not complete left what it collected ("" when it left nothing)."""
    if out_dir is None or not (out_dir / "summary.json").is_file():
        return ""
    return f"\nwhat the run collected until then is in {out_dir} (`harness report {out_dir}`)"


@app.command()
def scenarios() -> None:
    """List the built-in scenarios, one line each."""
    names = builtin_names()
    width = max(len(n) for n in names)
    for name in names:
        typer.echo(f"{name:<{width}}  {load_scenario(name).description}")


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="A results folder written by `harness run`.")],
    fmt: Annotated[
        str, typer.Option("--format", help="text (report.txt) or json (summary.json).")
    ] = "text",
) -> None:
    """Re-render a saved run's report without running anything."""
    if fmt not in ("text", "json"):
        raise typer.BadParameter(f"{fmt!r}: choose text or json", param_hint="--format")
    try:
        summary = load_summary(results)
    except HarnessError as exc:
        fail(str(exc))
    if not summary.completed:
        typer.echo(f"note: run {summary.run_id} did not complete ({summary.status})", err=True)
    if fmt == "json":
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(summary))


register_review_commands(app)  # harness up (the dashboards' review stack)
register_docker_commands(app)  # harness image ..., harness down
register_compare_commands(app)  # harness compare, harness check
register_matrix_command(app)  # harness matrix
register_simulate_command(app)  # harness simulate (virtual time, many agents)
register_tracer_commands(app)  # harness tracers install, harness validate


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP (a closed terminal or ssh session) take the same clean-up path as
    # Ctrl-C: the run writes what it collected and the runtime's close() runs.
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    app()
