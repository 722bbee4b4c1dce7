"""tests/conftest.py: ``docker`` tests skip without an engine, unless HARNESS_REQUIRE_DOCKER is
set; then they fail, saying how to start one. Checked by running a docker-marked test in a
pytest subprocess pointed at an address where no engine answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER_TEST = "tests/harness/test_docker_runtime.py::test_missing_image_is_a_clear_error"


def run_docker_test(tmp_path: Path, require: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_REQUIRE_DOCKER"}
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-engine.sock"
    if require:
        env["HARNESS_REQUIRE_DOCKER"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", DOCKER_TEST, "-rsf", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("require", [False, True])
def test_docker_tests_skip_or_fail_without_an_engine(tmp_path: Path, require: bool) -> None:
    result = run_docker_test(tmp_path, require)
    if require:
        assert result.returncode == 1, result.stdout[-2000:]
        assert "1 error" in result.stdout  # failed in set-up: an error, never a skip
        assert "HARNESS_REQUIRE_DOCKER is set but no Docker engine answers" in result.stdout
        assert "compose/start-dockerd.sh" in result.stdout
    else:
        assert result.returncode == 0, result.stdout[-2000:]
        assert "1 skipped" in result.stdout
        assert "no Docker engine answers" in result.stdout
