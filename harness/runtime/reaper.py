"""The reaper: a small process that removes a run's components if its harness dies first.

testcontainers' Ryuk idea, as a process on this machine instead of a container: when a run
starts its first component, the runtime arms a :class:`RunGuard`, which takes the run's lock
(:mod:`harness.runtime.ownership`) and starts ``python -m harness.runtime.reaper`` in a session
of its own, holding the read end of a pipe whose write end only the harness has. The kernel
closes that pipe when the harness ends, however it ends (SIGKILL and the OOM killer included):

- after a clean close the harness first writes ``disarm``, and the reaper exits;
- otherwise the reaper sees the end of the pipe without it, and removes the run: its local
  processes (by ``HARNESS_RUN_ID``, :mod:`harness.runtime.procs`) and, for a Docker run, every
  container and network labelled with the run id (connected before the harness died, so that
  nothing is left to import or dial then).

The reaper carries neither ``HARNESS_RUN_ID`` nor ``HARNESS_PARENT_PID``; it logs to
``<state dir>/<run id>.reaper.log``, kept when it had to reap.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from harness.runtime.base import RUN_ID_ENV
from harness.runtime.ownership import RunLock, forget, state_dir
from harness.runtime.procs import run_processes, stop_processes
from rc_protocol.lifeline import PARENT_PID_ENV

DISARM = b"disarm\n"


class RunGuard:
    """What outlives a harness that dies without cleaning up: the run's lock, held while the
    harness lives, and the reaper process (see the module docstring)."""

    def __init__(
        self, run_id: str, *, docker: bool, directory: Path | None = None, reaper: bool = True
    ) -> None:
        """``reaper=False`` takes the lock only (tests of a runtime that start no reaper)."""
        self.run_id = run_id
        self.docker = docker
        self.directory = directory or state_dir()
        self.lock = RunLock(run_id, self.directory)
        self.with_reaper = reaper
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def armed(self) -> bool:
        return self.lock.held

    def arm(self) -> None:
        """Take the lock and start the reaper (idempotent)."""
        if self.armed:
            return
        self.lock.acquire()
        if not self.with_reaper:
            return
        log = self.directory / f"{self.run_id}.reaper.log"
        env = {k: v for k, v in os.environ.items() if k not in (RUN_ID_ENV, PARENT_PID_ENV)}
        argv = [sys.executable, "-m", "harness.runtime.reaper", "--run-id", self.run_id]
        argv += ["--state-dir", str(self.directory)]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*argv, "--docker"] if self.docker else argv,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # no terminal signal reaches it
            )

    def disarm(self) -> None:
        """The run was cleaned up (or is left up on purpose): stop the reaper, drop the lock."""
        if self.process is not None and self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.write(DISARM)
                self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
            forget(self.run_id, self.directory)
        self.process = None
        self.lock.release()

    def abandon(self) -> None:
        """Cleaning up failed: let the reaper remove the run now, and drop the lock."""
        if self.process is not None and self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self.process = None
        self.lock.release()


def wait_for_harness(stream: IO[bytes]) -> bool:
    """Block until the harness disarms (True) or is gone (False)."""
    data = b""
    while True:
        chunk = stream.read(64)
        if not chunk:
            return DISARM.strip() in data
        data = (data + chunk)[-64:]
        if DISARM in data:
            return True


def reap(run_id: str, client: Any | None, say: Any = print) -> None:
    """Remove what the run left: its processes, then its containers and network."""
    pids = run_processes(run_id=run_id).get(run_id, [])
    if pids:
        say(f"stopping {len(pids)} process(es) of run {run_id}: {pids}")
        stop_processes(pids)
    if client is not None:
        from harness.runtime.docker_engine import sweep

        result = sweep(client, run_id)
        say(f"removed {result.containers} container(s) and {result.networks} network(s)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.runtime.reaper")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--docker", action="store_true", help="also remove the run's containers")
    parser.add_argument("--state-dir", type=Path, default=None, help="where the run's lock is")
    args = parser.parse_args(argv)
    client = None
    if args.docker:
        from harness.runtime.docker_engine import connect

        try:
            client = connect(pool_size=16)
        except Exception as exc:  # no engine: there will be no container to remove
            print(f"reaper {args.run_id}: no Docker engine ({exc}); processes only", flush=True)
    if wait_for_harness(sys.stdin.buffer):
        return 0
    started = time.monotonic()
    print(f"reaper: the harness of run {args.run_id} ended without cleaning up", flush=True)
    try:
        reap(args.run_id, client, lambda line: print(f"reaper: {line}", flush=True))
    except Exception as exc:
        print(f"reaper: {exc}; run `harness down --run-id {args.run_id}`", flush=True)
        return 1
    print(f"reaper: run {args.run_id} removed in {time.monotonic() - started:.1f} s", flush=True)
    with contextlib.suppress(OSError):
        (args.state_dir or state_dir()).joinpath(f"{args.run_id}.lock").unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
