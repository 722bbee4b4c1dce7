"""A run's lock tells a live harness from a dead one (harness.runtime.ownership)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.errors import RuntimeErrorBase
from harness.runtime.ownership import RunLock, harness_alive, owner, state_dir


def test_a_held_lock_is_a_live_harness_and_a_released_one_is_gone(tmp_path: Path) -> None:
    lock = RunLock("r1", tmp_path)
    assert not harness_alive("r1", tmp_path), "no lock file: nobody"
    lock.acquire()
    lock.acquire()  # idempotent
    assert harness_alive("r1", tmp_path)
    with pytest.raises(RuntimeErrorBase, match="already held by another harness"):
        RunLock("r1", tmp_path).acquire()
    lock.release()
    assert not harness_alive("r1", tmp_path) and not lock.path.exists()


@pytest.mark.e2e
def test_the_lock_of_a_sigkilled_harness_is_free(tmp_path: Path) -> None:
    holder = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from harness.runtime.ownership import RunLock
        lock = RunLock("r2", Path({str(tmp_path)!r}))
        lock.acquire()
        print("held", flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    assert harness_alive("r2", tmp_path)
    process.kill()
    process.wait()
    assert (tmp_path / "r2.lock").exists() and not harness_alive("r2", tmp_path)


def test_the_state_dir_and_owner() -> None:
    assert state_dir({"HARNESS_STATE_DIR": "/x"}) == Path("/x")
    assert state_dir({"XDG_RUNTIME_DIR": "/run/user/5"}) == Path("/run/user/5/rc-fastlane")
    assert state_dir({}).name.startswith("rc-fastlane-")
    assert "@" in owner()
