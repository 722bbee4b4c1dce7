"""End-to-end on Docker: the real services in containers of the harness image, through the CLI.

A 20-tracer run per scenario (one container per tracer), with shortened intervals (``--set``),
must report every tracer; and no container or network of the run may be left after a normal
run, a failed run, or a SIGINT in the middle of a run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.runtime.docker import connect, leftovers

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

HARNESS = [sys.executable, "-c", "from harness.cli.app import main; main()"]
TRACERS = 20


@pytest.fixture
def client(harness_image: str) -> Iterator[Any]:
    client = connect()
    yield client
    client.close()


def docker_run(image: str, *args: str) -> list[str]:
    return [*HARNESS, "run", "--runtime", "docker", "--image", image, *args]


def run_id_of(stderr: str) -> str:
    for line in stderr.splitlines():
        if "run id " in line:
            return line.rsplit("run id ", 1)[1].strip()
    raise AssertionError(f"no run id in:\n{stderr[-2000:]}")


def assert_nothing_left(client: Any, run_id: str) -> None:
    containers, networks = leftovers(client, run_id)
    assert [c.name for c in containers] == [] and [n.name for n in networks] == []


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        ("baseline", ["client.poll_interval_s=1"]),
        ("phase3", ["client.poll_interval_s=1", "client.fast_lane_interval_ms=200"]),
    ],
)
def test_twenty_tracer_run_reports_every_tracer_and_leaves_nothing(
    harness_image: str, client: Any, tmp_path: Path, scenario: str, overrides: list[str]
) -> None:
    out = tmp_path / "run"
    sets = [arg for o in overrides for arg in ("--set", o)]
    result = subprocess.run(
        docker_run(
            harness_image,
            "--tracers",
            str(TRACERS),
            "--scenario",
            scenario,
            "--timeout",
            "60",
            "--set",
            "timeouts.startup_s=120",
            "--out",
            str(out),
            *sets,
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "runtime: docker" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runtime"] == "docker" and summary["tracers"] == TRACERS
    assert sum(summary["counts"].values()) == TRACERS
    assert summary["counts"]["success"] == TRACERS, (out / "report.txt").read_text()
    assert summary["health"] == {"running": TRACERS, "exited": 0, "restarting": 0, "crashes": 0}
    assert f"Success: {TRACERS}/{TRACERS}" in (out / "report.txt").read_text()
    assert any(key.startswith("agent_rc_requests_total") for key in summary["agent"])
    for name in ("backend", "agent", "tracers-000", f"tracers-{TRACERS - 1:03d}"):
        assert (out / "logs" / f"{name}.log").is_file(), name
    assert "tracer_stub" in (out / "logs" / "tracers-000.log").read_text()
    assert_nothing_left(client, summary["run_id"])


def test_failed_run_leaves_nothing(harness_image: str, client: Any, tmp_path: Path) -> None:
    # No container answers /health within 10 ms: the run fails at its first component (a bad
    # setting is refused when the scenario loads, before anything starts).
    result = subprocess.run(
        docker_run(
            harness_image,
            "--tracers",
            "3",
            "--set",
            "timeouts.startup_s=0.01",
            "--out",
            str(tmp_path / "run"),
        ),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "backend failed to start: no healthy answer" in result.stderr, result.stderr[-3000:]
    assert "raise timeouts.startup_s" in result.stderr, "the message says what to do"
    assert (tmp_path / "run" / "logs" / "backend.log").is_file(), "logs saved on failure"
    assert_nothing_left(client, run_id_of(result.stderr))


@pytest.mark.parametrize(
    ("stage", "interrupts"), [("starting", 1), ("collecting", 1), ("starting", 2)]
)
def test_sigint_mid_run_leaves_nothing(
    harness_image: str, client: Any, tmp_path: Path, stage: str, interrupts: int
) -> None:
    proc = subprocess.Popen(
        docker_run(harness_image, "--tracers", "12", "--timeout", "120", "--out", str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        seen.append(line)
        text = " ".join("".join(seen).split())  # rich may wrap long progress lines
        if stage == "starting" and "starting 12 tracers" in text:
            time.sleep(0.5)  # inside the parallel start of the tracer containers
            break
        if stage == "collecting" and line.startswith("["):
            break
        assert time.monotonic() < deadline, "".join(seen)
    run_id = run_id_of("".join(seen))
    assert leftovers(client, run_id)[0], "the run had containers when interrupted"
    for _ in range(interrupts):  # an impatient second Ctrl-C must not cut the clean-up short
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    assert proc.wait(timeout=90) == 130, "".join(seen) + proc.stderr.read()
    assert "interrupted" in proc.stderr.read()
    assert_nothing_left(client, run_id)


def test_a_mixed_fleet_with_real_tracers_runs_on_docker(
    harness_image: str, client: Any, tmp_path: Path
) -> None:
    """4 stubs, 3 ddtrace-py and 3 dd-trace-js, one container each, from the image variant
    with the real tracers (``harness image build-real``)."""
    from harness.runtime.real_image import REAL_IMAGE

    try:
        client.images.get(REAL_IMAGE)
    except Exception:
        pytest.fail(f"image {REAL_IMAGE} not found: `harness image build-real`", pytrace=False)
    out = tmp_path / "run"
    members = (
        "fleet.members=[{kind: stub, tracers: 4}, {kind: ddtrace-py, tracers: 3}, "
        "{kind: dd-trace-js, tracers: 3}]"
    )
    result = subprocess.run(
        docker_run(harness_image, "--set", members, "--set", "client.poll_interval_s=1",
                   "--set", "timeouts.startup_s=120", "--timeout", "60", "--out", str(out)),
        capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runtime"] == "docker" and summary["counts"]["success"] == 10
    assert [summary["by_kind"][k]["counts"]["success"] for k in summary["by_kind"]] == [4, 3, 3]
    assert "PROVIDER_READY" in (out / "logs" / "ddtrace-py-000.log").read_text()
    assert "PROVIDER_READY" in (out / "logs" / "dd-trace-js-000.log").read_text()
    assert_nothing_left(client, summary["run_id"])
