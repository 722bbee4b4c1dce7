"""How long does a SIGKILLed harness leave its run behind?

Starts ``harness run`` (local processes, or Docker containers), waits until collection has
begun, sends the harness SIGKILL, and measures the seconds until no process carries the run's
``HARNESS_RUN_ID`` and no container or network carries its label (what the services'
parent-death signal and the run's reaper achieve; the issue's bound is 10 s).

Usage: ``python benchmarks/kill_cleanup.py [--runtime local|docker|both] [--rounds 3]
[--tracers 10] [--image rc-fastlane:dev]``. Prints one line per round with the load average.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.runtime.docker_engine import connect, leftovers, sweep
from harness.runtime.procs import run_processes


def start(runtime: str, tracers: int, image: str, out: Path) -> tuple[subprocess.Popen[str], str]:
    argv = [sys.executable, "-m", "harness", "run", "--runtime", runtime, "--tracers",
            str(tracers), "--timeout", "300", "--set", "timeouts.startup_s=180",
            "--out", str(out)]  # fmt: skip
    if runtime == "docker":
        argv += ["--image", image, "--tracers-per-container", "2"]
    else:
        argv += ["--tracers-per-process", "5"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    run_id = ""
    for line in proc.stderr:
        if "run id " in line:
            run_id = line.rsplit("run id ", 1)[1].strip()
        if line.startswith("["):
            return proc, run_id
    raise SystemExit(f"the run ended before collecting (exit {proc.wait()})")


def left(runtime: str, run_id: str, client: object | None) -> int:
    count = len(run_processes(run_id=run_id).get(run_id, []))
    if client is not None:
        containers, networks = leftovers(client, run_id)
        count += len(containers) + len(networks)
    return count


def round_trip(runtime: str, tracers: int, image: str) -> str:
    client = connect() if runtime == "docker" else None
    with tempfile.TemporaryDirectory() as tmp:
        proc, run_id = start(runtime, tracers, image, Path(tmp) / "run")
        before = left(runtime, run_id, client)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        while left(runtime, run_id, client) and time.monotonic() - killed < 60:
            time.sleep(0.05)
        seconds = time.monotonic() - killed
        remaining = left(runtime, run_id, client)
    if remaining and client is not None:
        sweep(client, run_id)
    return (
        f"{runtime}: {before} processes/containers/networks of run {run_id}, all gone "
        f"{seconds:.2f} s after kill -9"
        + (f" ({remaining} LEFT)" if remaining else "")
        + f"; load average {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", choices=["local", "docker", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tracers", type=int, default=10)
    parser.add_argument("--image", default=os.environ.get("HARNESS_IMAGE", "rc-fastlane:dev"))
    args = parser.parse_args()
    runtimes = ["local", "docker"] if args.runtime == "both" else [args.runtime]
    for _ in range(args.rounds):
        for runtime in runtimes:
            print(round_trip(runtime, args.tracers, args.image), flush=True)


if __name__ == "__main__":
    main()
