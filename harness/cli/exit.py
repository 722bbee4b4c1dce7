"""Exit codes of every `harness` command (docs/contracts.md) and the one way to fail with one."""

from __future__ import annotations

from typing import NoReturn

import typer

EXIT_FAILED = 1
"""The run or command failed (a component did not start, bad input)."""
EXIT_BREACHED = 99
"""A threshold was breached."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C or SIGTERM)."""


def fail(message: str | BaseException, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``error: <message>`` (its detail lines included; an exception's notes too, such as
    a clean-up that failed after it) to stderr and exit with ``code``."""
    text = describe(message) if isinstance(message, BaseException) else message
    typer.echo(f"error: {text}", err=True)
    raise typer.Exit(code)


def describe(exc: BaseException) -> str:
    """An exception's message and its notes (such as a clean-up that failed after it)."""
    return "\n".join([str(exc), *getattr(exc, "__notes__", ())])
