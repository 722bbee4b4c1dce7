"""The reaper removes a run whose harness died, and nothing when the harness disarms it
(harness.runtime.reaper); for real with local processes (marker e2e), the Docker side in
test_docker_e2e.py."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.runtime.ownership import harness_alive
from harness.runtime.procs import run_processes
from harness.runtime.reaper import RunGuard, wait_for_harness
from rc_protocol.wait import poll_until


def test_the_harness_disarms_or_is_gone() -> None:
    assert wait_for_harness(io.BytesIO(b"disarm\n")) is True
    assert wait_for_harness(io.BytesIO(b"")) is False
    assert wait_for_harness(io.BytesIO(b"dis")) is False  # cut mid-word: it died


def sleeper(run_id: str) -> subprocess.Popen[bytes]:
    """A process of the run, as the local runtime starts them (its own session)."""
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env={**os.environ, "HARNESS_RUN_ID": run_id},
        start_new_session=True,
    )


def gone_within(process: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        return False
    return True


@pytest.mark.e2e
def test_an_abandoned_guard_reaps_the_runs_processes(tmp_path: Path) -> None:
    run_id = f"reap-{os.getpid()}"
    guard = RunGuard(run_id, docker=False, directory=tmp_path)
    guard.arm()
    assert harness_alive(run_id, tmp_path)
    victim = sleeper(run_id)
    time.sleep(1.0)  # the reaper is up and waiting
    guard.abandon()  # as if the harness had died: the pipe closes without "disarm"
    assert gone_within(victim, 10)
    log = tmp_path / f"{run_id}.reaper.log"
    poll_until(lambda: "removed in" in log.read_text(), timeout=10, interval=0.1, what="reaped")
    assert not harness_alive(run_id, tmp_path) and not (tmp_path / f"{run_id}.lock").exists()


@pytest.mark.e2e
def test_a_disarmed_guard_leaves_everything(tmp_path: Path) -> None:
    run_id = f"keep-{os.getpid()}"
    guard = RunGuard(run_id, docker=False, directory=tmp_path)
    guard.arm()
    survivor = sleeper(run_id)
    try:
        guard.disarm()
        assert guard.process is None and not harness_alive(run_id, tmp_path)
        time.sleep(1.0)
        assert survivor.poll() is None and run_processes(run_id=run_id) == {run_id: [survivor.pid]}
        assert not (tmp_path / f"{run_id}.reaper.log").exists()
    finally:
        survivor.kill()
        survivor.wait()
