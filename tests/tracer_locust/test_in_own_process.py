"""Runs the gevent-side tests of tracer_locust in a process of their own (see conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_the_gevent_side_passes_in_its_own_process() -> None:
    env = {**os.environ, "RC_LOCUST_TEST_PROCESS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE.parent.parent,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "no tests ran" not in result.stdout
