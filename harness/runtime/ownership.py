"""Whose run is it, and is its harness still alive?

A harness holds an exclusive ``flock`` on ``<state dir>/<run id>.lock`` for as long as the
components of the run may be running (:class:`RunLock`). The kernel drops the lock when the
process dies, however it dies (SIGKILL included), so ``harness down`` without a run id can tell
a live run from leftovers (:func:`harness_alive`) without trusting pids, which are reused.

The state directory is ``$HARNESS_STATE_DIR``, else ``$XDG_RUNTIME_DIR/rc-fastlane``, else
``<tmp>/rc-fastlane-<uid>``: per user, like the processes ``harness down`` may stop. Docker
objects also carry ``harness.owner=<user>@<host>`` (:func:`owner`), so that leftovers of another
user's or another machine's harness (a shared engine) are never taken for ours.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import os
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from harness.errors import RuntimeErrorBase

STATE_DIR_ENV = "HARNESS_STATE_DIR"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where run locks (and reaper logs) live (see the module docstring)."""
    env = os.environ if environ is None else environ
    if env.get(STATE_DIR_ENV):
        return Path(env[STATE_DIR_ENV])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "rc-fastlane"
    return Path(tempfile.gettempdir()) / f"rc-fastlane-{os.getuid()}"


def owner() -> str:
    """``<user>@<host>``: the ``harness.owner`` label of this harness's Docker objects."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def lock_path(run_id: str, directory: Path | None = None) -> Path:
    return (directory or state_dir()) / f"{run_id}.lock"


class RunLock:
    """The lock a harness holds while a run's components may run (see the module docstring)."""

    def __init__(self, run_id: str, directory: Path | None = None) -> None:
        self.path = lock_path(run_id, directory)
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        """Take the lock (idempotent); the file's descriptor is not inherited by children."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise RuntimeErrorBase(
                f"run id {self.path.stem} is already held by another harness ({self.path}: "
                f"{exc.strerror or exc}): use another run id"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Drop the lock and its file (idempotent)."""
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._file.close()
        self._file = None


def harness_alive(run_id: str, directory: Path | None = None) -> bool:
    """Whether a harness still holds the run's lock: a missing or free lock means its harness
    is gone (a live one takes it before it starts anything)."""
    path = lock_path(run_id, directory)
    try:
        handle = path.open("r", encoding="utf-8")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def forget(run_id: str, directory: Path | None = None) -> None:
    """Remove what is left of a gone run's state (its lock and reaper log)."""
    base = directory or state_dir()
    for name in (f"{run_id}.lock", f"{run_id}.reaper.log"):
        with contextlib.suppress(OSError):
            (base / name).unlink()
