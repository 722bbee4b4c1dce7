"""Live progress of a run on the terminal (rich), or plain lines when stderr is not a TTY."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.run.events import Progress, ProgressFn, Tick


def tick_line(tick: Tick) -> str:
    """``[ 12.5s] ready 40/100  timeout 0  error 0  crashed 0``

    >>> tick_line(Tick(12.5, 100, 40, 0, 1, 0, 0))
    '[  12.5s] ready 40/100  timeout 0  error 1  crashed 0'
    """
    line = (
        f"[{tick.elapsed_s:6.1f}s] ready {tick.ready}/{tick.total}  timeout {tick.timeout}  "
        f"error {tick.error}  crashed {tick.crashed}"
    )
    if tick.unreachable:
        line += f"  unreachable processes {tick.unreachable}"
    return line


@contextmanager
def make_progress(console: Console, total: int) -> Iterator[ProgressFn]:
    """A progress callback for :func:`harness.run.runner.run_scenario`. Messages are printed as
    they are (no rich markup: a path or a log line may hold ``[...]``)."""
    if console.is_terminal:
        with Live(Text(""), console=console, transient=True, refresh_per_second=4) as live:

            def show(p: Progress) -> None:
                if p.tick is None:
                    live.console.print(p.message, markup=False, highlight=False)
                else:
                    live.update(Text(tick_line(p.tick)))

            yield show
        return

    last: dict[str, float] = {"t": 0.0, "ready": -1.0}

    def plain(p: Progress) -> None:
        if p.tick is None:
            console.print(p.message, markup=False, highlight=False)
            return
        now = time.monotonic()
        if p.tick.ready != last["ready"] or now - last["t"] >= 5.0:
            console.print(tick_line(p.tick), markup=False, highlight=False)
            last.update(t=now, ready=float(p.tick.ready))

    yield plain
