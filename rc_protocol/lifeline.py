"""A service process dies with the harness that started it, however the harness ends.

The harness's local runtime starts every service as its direct child with ``HARNESS_PARENT_PID``
set to its own pid. :func:`tie_to_parent`, called first thing in each service's ``main``:

- asks the kernel for SIGTERM when the parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``, through
  ctypes), which covers a SIGKILLed harness (the OOM killer included);
- checks that the parent is still the one named, in case it died before that request;
- watches the parent from a daemon thread (every ``poll_s``), which covers systems without
  ``prctl`` (macOS), and SIGKILLs the process if it is still alive ``grace_s`` after the parent
  is gone (a service stuck in its clean shutdown).

It also makes SIGHUP (a closed terminal or ssh session) stop the service like SIGTERM. Without
``HARNESS_PARENT_PID`` (a service run by hand, or in a container, whose lifetime the container
runtime owns) only the SIGHUP handling applies.

The kernel's parent-death signal follows the *thread* that forked the child: the harness starts
components from its main thread, which lives as long as the run.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

PARENT_PID_ENV = "HARNESS_PARENT_PID"
"""The pid of the harness that started this process (set by the harness's local runtime)."""
PR_SET_PDEATHSIG = 1
"""``<linux/prctl.h>``."""

Kill = Callable[[int, int], None]


@dataclass(frozen=True)
class Lifeline:
    """What :func:`tie_to_parent` set up (for logs and tests)."""

    parent: int | None
    """The harness's pid, or None when this process has no harness to die with."""
    death_signal: bool
    """Whether the kernel sends SIGTERM when the parent dies (Linux)."""


def tie_to_parent(
    environ: Mapping[str, str] | None = None,
    *,
    poll_s: float = 0.5,
    grace_s: float = 4.0,
    kill: Kill = os.kill,
    getppid: Callable[[], int] = os.getppid,
    watch: bool = True,
) -> Lifeline:
    """Tie this process to the harness named by ``HARNESS_PARENT_PID`` (see the module
    docstring) and make SIGHUP terminate it; main thread only (it installs a signal handler).

    ``kill`` and ``getppid`` are seams for tests; ``watch=False`` skips the watcher thread.
    """
    signal.signal(signal.SIGHUP, _terminate_on_hangup)
    raw = (os.environ if environ is None else environ).get(PARENT_PID_ENV, "")
    if not raw.isdigit():
        return Lifeline(None, False)
    parent = int(raw)
    death_signal = _set_death_signal(signal.SIGTERM)
    if getppid() != parent:  # the harness died before the kernel could be told
        kill(os.getpid(), signal.SIGTERM)
    if watch:
        threading.Thread(
            target=watch_parent,
            args=(parent,),
            kwargs={
                "poll_s": poll_s,
                "grace_s": grace_s,
                "signalled": death_signal,
                "kill": kill,
                "getppid": getppid,
            },
            name="parent-watch",
            daemon=True,
        ).start()
    return Lifeline(parent, death_signal)


def watch_parent(
    parent: int,
    *,
    poll_s: float,
    grace_s: float,
    signalled: bool,
    kill: Kill = os.kill,
    getppid: Callable[[], int] = os.getppid,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait until ``parent`` is no longer this process's parent; then SIGTERM this process
    (unless the kernel already did), and SIGKILL it if it is still alive ``grace_s`` later."""
    while getppid() == parent:
        sleep(poll_s)
    me = os.getpid()
    if not signalled:
        kill(me, signal.SIGTERM)
    sleep(grace_s)
    kill(me, signal.SIGKILL)


def _set_death_signal(sig: signal.Signals) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _terminate_on_hangup(signum: int, frame: object) -> None:
    # Whatever stops the service on SIGTERM (uvicorn's handler, the stub's loop) runs next.
    os.kill(os.getpid(), signal.SIGTERM)
