"""What a run tells its caller while it goes: phase messages and collection ticks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Tick:
    """Collection progress after one scrape round."""

    elapsed_s: float
    total: int
    ready: int
    timeout: int
    error: int
    crashed: int
    unreachable: int


@dataclass(frozen=True)
class Progress:
    """A progress event: a phase message, or a collection tick (``tick`` set)."""

    message: str
    tick: Tick | None = None


ProgressFn = Callable[[Progress], None]
"""Receives every :class:`Progress` event of a run (the CLI draws them on stderr)."""


def ignore_progress(_event: Progress) -> None:
    """The progress callback of a run nobody watches."""
