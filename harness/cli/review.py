"""``harness up``: the review stack (backend, agent, Prometheus, Grafana) for interactive review.

Registered by :mod:`harness.cli.app` (``register(app)``). Thin: parse options, call
:func:`harness.review.stack.up`, print where to look and how to feed and remove the stack. ``harness
down`` (the Docker commands) removes it like any run: every container carries its run id label.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.docker import one_line_errors
from harness.review.stack import (
    DEFAULT_GRAFANA_IMAGE,
    GRAFANA_PORT,
    LOCAL_PROMETHEUS_IMAGE,
    PROMETHEUS_PORT,
    UpOptions,
)
from harness.runtime.images import DEFAULT_BASE_TAG, DEFAULT_IMAGE


def up_command(
    scenario: Annotated[
        str,
        typer.Option(help="Scenario whose backend and agent settings the stack's services use."),
    ] = "baseline",
    image: Annotated[
        str, typer.Option(help="Harness image (`harness image build`).", envvar="HARNESS_IMAGE")
    ] = DEFAULT_IMAGE,
    prometheus_image: Annotated[
        str,
        typer.Option(
            help=f"Prometheus image; {LOCAL_PROMETHEUS_IMAGE} is built from Debian's prometheus "
            "binary when missing, or use prom/prometheus with a registry."
        ),
    ] = LOCAL_PROMETHEUS_IMAGE,
    grafana_image: Annotated[
        str, typer.Option(help="Grafana image (pulled by you: no registry here).")
    ] = DEFAULT_GRAFANA_IMAGE,
    no_grafana: Annotated[
        bool, typer.Option("--no-grafana", help="Prometheus only (no Grafana image at hand).")
    ] = False,
    base_image: Annotated[
        str, typer.Option(help="Base of the local Prometheus image.", envvar="HARNESS_BASE_IMAGE")
    ] = DEFAULT_BASE_TAG,
    prometheus_port: Annotated[
        int, typer.Option(help="Prometheus listens on 127.0.0.1:<port>.")
    ] = PROMETHEUS_PORT,
    grafana_port: Annotated[int, typer.Option(help="Grafana listens on 127.0.0.1:<port>.")] = (
        GRAFANA_PORT
    ),
    sd_dir: Annotated[
        Path | None,
        typer.Option(
            "--sd-dir",
            help="File-SD directory Prometheus watches (default: results/review-<run id>/file_sd).",
        ),
    ] = None,
) -> None:
    """Bring up backend, agent, Prometheus and Grafana; `harness run --prometheus-sd` feeds it."""
    from harness.review.stack import up
    from harness.runtime.docker import connect
    from harness.scenario.model import load_scenario

    run_id = secrets.token_hex(4)
    directory = (sd_dir or Path("results") / f"review-{run_id}" / "file_sd").resolve()
    if not no_grafana and prometheus_port != PROMETHEUS_PORT:
        typer.echo(
            f"warning: the provisioned Grafana data source expects Prometheus on port "
            f"{PROMETHEUS_PORT}, not {prometheus_port}",
            err=True,
        )
    with one_line_errors():
        options = UpOptions(
            run_id=run_id,
            scenario=load_scenario(scenario),
            sd_dir=directory,
            image=image,
            prometheus_image=prometheus_image,
            grafana_image=None if no_grafana else grafana_image,
            base_image=base_image,
            prometheus_port=prometheus_port,
            grafana_port=grafana_port,
        )
        stack = up(options, connect(), say=lambda line: typer.echo(line, err=True))
    if stack.dashboard_url:
        typer.echo(f"Grafana:    {stack.dashboard_url}")
    else:
        typer.echo("Grafana:    not started (--no-grafana)")
    typer.echo(f"Prometheus: {stack.prometheus_url}")
    for name, url in stack.components.items():
        typer.echo(f"{name + ':':<11} {url}")
    typer.echo(f"run id:     {stack.run_id}")
    if "backend" in stack.components:
        typer.echo(
            f"admin API:  {stack.components['backend']}/admin/state "
            f"(header 'Authorization: Bearer {stack.admin_token}')"
        )
    typer.echo("")
    typer.echo("Feed it a run (its components become Prometheus targets while it runs):")
    typer.echo(f"  harness run --prometheus-sd {stack.sd_dir} --tracers 100")
    typer.echo(f"  (or export HARNESS_PROMETHEUS_SD_DIR={stack.sd_dir})")
    typer.echo(f"Remove it: harness down --run-id {stack.run_id}")


def register(app: typer.Typer) -> None:
    """Add ``up`` to the main CLI."""
    command: Callable[..., None] = up_command
    app.command("up")(command)
