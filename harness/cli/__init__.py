"""The ``harness`` command line (Typer); :func:`main` is the console script."""

from harness.cli.app import main

__all__ = ["main"]
