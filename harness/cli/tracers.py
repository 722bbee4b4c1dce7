"""``harness tracers install`` (the real tracers' pinned packages) and ``harness validate``
(a real tracer against the stub's profile of it). Thin: parse, call library code, print, map
errors to one line; validate exits 99 when a percentile is beyond the tolerance."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.cli.exit import EXIT_BREACHED, EXIT_INTERRUPTED, fail
from harness.cli.options import Image, Overrides, PerContainer, PerProcess, RuntimeName, deps_of
from harness.cli.progress import make_progress
from harness.errors import HarnessError
from harness.run.placement import Placement
from harness.run.validate import (
    VALIDATE_HTML,
    VALIDATE_JSON,
    ValidateRequest,
    compare_saved,
    validate_kind,
)
from harness.runtime.images import DEFAULT_IMAGE
from harness.runtime.tracer_apps import REAL_KINDS, cache_root, ensure_installed
from harness.studies.validate import Tolerance, Validation, render_table

tracers_app = typer.Typer(help="The real tracers (ddtrace-py, dd-trace-js) fleets can hold.")


@tracers_app.command("install")
def install(
    kinds: Annotated[
        list[str] | None,
        typer.Argument(help=f"Kinds to install: {', '.join(REAL_KINDS)} [default: both]."),
    ] = None,
) -> None:
    """Install the pinned packages of real tracers into the cache folder (once; runs reuse it)."""
    chosen = kinds or list(REAL_KINDS)
    for kind in chosen:
        if kind not in REAL_KINDS:
            raise typer.BadParameter(f"{kind!r}: choose from {', '.join(REAL_KINDS)}")
    try:
        for kind in chosen:
            launch = ensure_installed(kind, say=typer.echo)
            typer.echo(f"{kind}: ready ({' '.join(launch.command)})")
    except HarnessError as exc:
        fail(str(exc))
    typer.echo(f"cache: {cache_root()}")


def validate(
    ctx: typer.Context,
    tracer_kind: Annotated[
        str, typer.Option("--tracer-kind", help=f"The real tracer: {'|'.join(REAL_KINDS)}.")
    ],
    tracers: Annotated[int, typer.Option("--tracers", min=1, help="Fleet size of each run.")] = 50,
    scenario: Annotated[
        str, typer.Option("--scenario", help="A built-in name or a scenario file.")
    ] = "baseline",
    runtime: RuntimeName = "auto",
    tolerance: Annotated[
        str,
        typer.Option(
            "--tolerance",
            help="Allowed difference of each percentile p10..p90: a share of the real value "
            "and a floor, whichever is larger.",
        ),
    ] = "15%,300ms",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Validate folder: real/, stub/, validate.json, validate.html (default: "
            "results/<UTC time>-validate-<kind>).",
        ),
    ] = None,
    overrides: Overrides = None,
    tracers_per_process: PerProcess = None,
    tracers_per_container: PerContainer = 1,
    image: Image = DEFAULT_IMAGE,
    compare_only: Annotated[
        bool,
        typer.Option(
            "--compare-only",
            help="Run nothing: compare the runs already in --out (real/, stub/) again.",
        ),
    ] = False,
) -> None:
    """Run a scenario with real tracers, then with stubs of their client profile (booting at the
    real tracers' start instants) on the same runtime; compare the RC delays, provider ready
    minus each tracer's own start cost (exit 99 beyond the tolerance)."""
    deps = deps_of(ctx)
    placement = Placement(
        runtime=runtime,
        image=image,
        tracers_per_process=tracers_per_process,
        tracers_per_container=tracers_per_container,
    )
    if compare_only and out is None:
        raise typer.BadParameter("--compare-only needs --out (a validate folder)")
    try:
        if compare_only and out is not None:
            request = ValidateRequest(tracer_kind, tracers, tolerance=Tolerance.parse(tolerance))
            validation = compare_saved(request, out)
            _finish(validation, out)
            return
        choice = deps.choose(placement.runtime, placement.image)
        request = ValidateRequest(
            kind=tracer_kind,
            tracers=tracers,
            scenario=scenario,
            overrides=tuple(overrides or ()),
            tolerance=Tolerance.parse(tolerance),
            tracers_per_process=placement.per_process(choice),
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out_dir = out or Path("results") / f"{stamp}-validate-{tracer_kind}"
        err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
        err.print(f"runtime: {choice.name} ({choice.reason})")
        with make_progress(err, tracers) as progress:
            validation = validate_kind(
                request,
                out_dir,
                deps.factory(choice, placement),
                choice.name,
                clock=deps.clock,
                progress=progress,
            )
    except KeyboardInterrupt:
        fail("interrupted: every component of the run was stopped", EXIT_INTERRUPTED)
    except HarnessError as exc:
        fail(str(exc))
    _finish(validation, out_dir)


def _finish(validation: Validation, out_dir: Path) -> None:
    typer.echo(render_table(validation), nl=False)
    typer.echo(f"\nresults: {out_dir / VALIDATE_JSON}, {out_dir / VALIDATE_HTML}")
    if not validation.passed:
        raise typer.Exit(EXIT_BREACHED)


def register(app: typer.Typer) -> None:
    """Add ``harness tracers ...`` and ``harness validate`` to ``app``."""
    app.add_typer(tracers_app, name="tracers")
    app.command()(validate)
