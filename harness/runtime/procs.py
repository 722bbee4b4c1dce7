"""Local processes of a run, found by the ``HARNESS_RUN_ID`` in their environment, and stopped.

Every process the local runtime starts carries ``HARNESS_RUN_ID=<run id>``: whatever a dead
harness left behind is found by reading ``/proc/<pid>/environ`` (Linux; only the processes of
the user running this are readable, which is what may be stopped anyway). Elsewhere nothing is
found: the services' own parent watch (``rc_protocol.lifeline``) is what stops them there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from harness.runtime.base import RUN_ID_ENV

PROC = Path("/proc")
_KEY = RUN_ID_ENV.encode() + b"="


def run_processes(proc: Path = PROC, run_id: str | None = None) -> dict[str, list[int]]:
    """Live processes carrying ``HARNESS_RUN_ID``, by run id (only ``run_id`` when given);
    never this process."""
    found: dict[str, list[int]] = {}
    if not proc.is_dir():
        return found
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # gone meanwhile, or not ours to read
        if state == "Z":
            continue
        for item in environ.split(b"\0"):
            if item.startswith(_KEY):
                rid = item[len(_KEY) :].decode(errors="replace")
                if run_id is None or rid == run_id:
                    found.setdefault(rid, []).append(int(entry.name))
                break
    return found


def stop_processes(
    pids: Iterable[int],
    *,
    grace_s: float = 3.0,
    alive: Callable[[int], bool] | None = None,
    kill: Callable[[int, int], None] = os.kill,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """SIGTERM every pid, SIGKILL those still alive after ``grace_s``; return how many were
    signalled. ``alive``, ``kill``, ``sleep`` and ``clock`` are seams for tests."""
    is_alive = alive or _alive
    targets = [pid for pid in pids if is_alive(pid)]
    for pid in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGTERM)
    deadline = clock() + grace_s
    while clock() < deadline and any(is_alive(pid) for pid in targets):
        sleep(0.1)
    for pid in targets:
        if is_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
    return len(targets)


def _alive(pid: int) -> bool:
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state != "Z"
