"""Clean-ups that a second Ctrl-C must not cut short: SIGINT, SIGTERM and SIGHUP held (the local
runtime) or answered with a note (the Docker runtime) while a run's components are removed."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import TextIO

HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP for the duration (main thread only), so that an
    impatient second Ctrl-C cannot cut a clean-up short; raise ``KeyboardInterrupt``
    afterwards if one came."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in HELD}
    for sig in previous:
        signal.signal(sig, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
    if received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts_noted(out: TextIO) -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP print a note instead of interrupting (main
    thread only: elsewhere signals are not delivered to Python code anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum: int, frame: object) -> None:
        print("removing the run's containers and network; one moment", file=out)

    previous = {sig: signal.signal(sig, note) for sig in HELD}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
