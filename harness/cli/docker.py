"""Docker commands of the ``harness`` CLI: ``harness image ...`` and ``harness down``.

Registered by :mod:`harness.cli.app` (``app.add_typer(image_app, name="image")`` and
``app.command("down")(down)``). Thin: parse options, call :mod:`harness.runtime.images` or
:mod:`harness.runtime.docker`, print one line per result; a :class:`HarnessError` becomes one
line on stderr and exit code 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.exit import fail
from harness.errors import HarnessError
from harness.runtime.docker import connect, sweep
from harness.runtime.images import (
    DEFAULT_BASE_TAG,
    DEFAULT_IMAGE,
    SUITE,
    bootstrap_base,
    build_image,
)
from harness.runtime.real_image import REAL_IMAGE, build_real_image

image_app = typer.Typer(
    help="Build the harness's Docker images without a registry.", no_args_is_help=True
)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A :class:`HarnessError` raised in the block becomes ``error: ...`` on stderr and exit 1."""
    try:
        yield
    except HarnessError as exc:
        fail(str(exc))


@image_app.command("bootstrap-base")
def bootstrap_base_command(
    tag: Annotated[str, typer.Option(help="Tag of the imported base image.")] = DEFAULT_BASE_TAG,
    mirror: Annotated[
        str | None,
        typer.Option(
            help="Debian mirror (default: the one apt uses, from /etc/apt/sources.list*)."
        ),
    ] = None,
    suite: Annotated[str, typer.Option(help="Debian suite.")] = SUITE,
    workdir: Annotated[
        Path | None, typer.Option(help="Where to make the root file system (default: /tmp).")
    ] = None,
) -> None:
    """Make a minimal Debian with python3 (debootstrap, as root) and `docker import` it."""
    with one_line_errors():
        result = bootstrap_base(connect(), tag=tag, mirror=mirror, suite=suite, workdir=workdir)
    typer.echo(
        f"base image {result.tag}: {result.size_bytes / 1e6:.0f} MB, made in {result.seconds:.1f} s"
    )


@image_app.command("build")
def build_command(
    base_image: Annotated[
        str,
        typer.Option(
            help="Base image with Python 3.11: rc-fastlane-base:bookworm (bootstrap-base) "
            "without a registry, or python:3.11-slim with one.",
            envvar="HARNESS_BASE_IMAGE",
        ),
    ] = DEFAULT_BASE_TAG,
    tag: Annotated[str, typer.Option(help="Tag of the harness image.")] = DEFAULT_IMAGE,
) -> None:
    """Build the project's wheelhouse on the host and the image from compose/Dockerfile."""
    with one_line_errors():
        result = build_image(connect(), tag=tag, base_image=base_image)
    typer.echo(
        f"image {result.tag} on {base_image}: {result.size_bytes / 1e6:.0f} MB, "
        f"built in {result.seconds:.1f} s"
    )


@image_app.command("build-real")
def build_real_command(
    tag: Annotated[str, typer.Option(help="Tag of the variant.")] = REAL_IMAGE,
    harness_image: Annotated[
        str, typer.Option(help="The harness image it extends (`harness image build`).")
    ] = DEFAULT_IMAGE,
) -> None:
    """Build the variant with the real tracers (ddtrace-py, dd-trace-js and Debian's Node.js)
    on the harness image, offline: packages prepared on the host."""
    with one_line_errors():
        result = build_real_image(connect(), tag=tag, harness_image=harness_image, say=typer.echo)
    typer.echo(
        f"image {result.tag} on {harness_image}: {result.size_bytes / 1e6:.0f} MB, "
        f"built in {result.seconds:.1f} s"
    )


def down(
    run_id: Annotated[
        str | None,
        typer.Option(help="Remove only this run's containers and network (default: every run)."),
    ] = None,
) -> None:
    """Remove the containers and networks left by harness runs (by the harness.run_id label)."""
    with one_line_errors():
        result = sweep(connect(), run_id)
    runs = ", ".join(result.run_ids) or "none"
    typer.echo(
        f"removed {result.containers} containers and {result.networks} networks (runs: {runs})"
    )


def register(app: typer.Typer) -> None:
    """Add ``image`` and ``down`` to the main CLI."""
    app.add_typer(image_app, name="image")
    command: Callable[..., None] = down
    app.command("down")(command)
