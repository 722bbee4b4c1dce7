"""End-to-end: the real services as local processes, through the CLI, with small fleets and
shortened intervals (``--set``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HARNESS = [sys.executable, "-m", "harness"]
FILES = [
    "scenario.yaml",
    "samples.csv",
    "summary.json",
    "report.txt",
    "logs/backend.log",
    "logs/agent.log",
    "logs/tracers-000.log",
]


def harness(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARNESS, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def processes_of_run(run_id: str) -> list[int]:
    """Pids of live processes whose environment carries this run id."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().split()[2]
        except OSError:
            continue
        if f"HARNESS_RUN_ID={run_id}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(proc.name))
    return found


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        ("baseline", ["client.poll_interval_s=1"]),
        ("phase3", ["client.poll_interval_s=1", "client.fast_lane_interval_ms=200"]),
        ("baseline", ["client.poll_interval_s=1", "provider.mode=wait"]),
    ],
)
def test_run_reports_counts_every_tracer_and_writes_the_results(
    tmp_path: Path, scenario: str, overrides: list[str]
) -> None:
    out = tmp_path / "run"
    sets = [arg for o in overrides for arg in ("--set", o)]
    result = harness(
        "run",
        "--tracers",
        "12",
        "--scenario",
        scenario,
        "--runtime",
        "local",
        "--tracers-per-process",
        "6",
        "--timeout",
        "30",
        "--out",
        str(out),
        *sets,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "=== PROVIDER READY TIME (ProviderReady event, i.e. actual RC delivery) ===" in (
        result.stdout
    )
    assert f"results: {out}" in result.stdout
    for name in [*FILES, "logs/tracers-001.log"]:
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tracers"] == 12 and summary["scenario"] == scenario
    assert sum(summary["counts"].values()) == 12
    assert summary["counts"]["success"] == 12, (out / "report.txt").read_text()
    assert summary["health"]["running"] == 12
    assert "Success: 12/12  |  Timeout: 0  |  Error: 0\n" in (out / "report.txt").read_text()
    assert (out / "report.txt").read_text() in result.stdout
    if "provider.mode=wait" in overrides:
        assert summary["buckets"]["under_10s"] == 12
        assert "Under 10s: 12  |  28-32s (timeout cliff): 0  |  Over 32s: 0\n" in result.stdout
    assert any(key.startswith("agent_rc_requests_total") for key in summary["agent"])
    assert any(key.startswith("backend_rc_requests_total") for key in summary["backend"])

    replay = harness("report", str(out))
    assert replay.returncode == 0
    assert replay.stdout.encode() == (out / "report.txt").read_bytes()


def start_collecting(out: Path) -> tuple[subprocess.Popen[str], str]:
    """A 10-tracer local run, returned once collection has begun, with its run id."""
    proc = subprocess.Popen(
        [
            *HARNESS,
            "run",
            "--tracers",
            "10",
            "--scenario",
            "baseline",
            "--runtime",
            "local",
            "--tracers-per-process",
            "5",
            "--timeout",
            "120",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = ""
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if "run id " in line:
            run_id = line.rsplit("run id ", 1)[1].strip()
        if line.startswith("[") or time.monotonic() > deadline:  # collection has begun
            break
    assert run_id
    assert len(processes_of_run(run_id)) == 4  # backend, agent, 2 tracer processes
    return proc, run_id


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interrupted_run_leaves_no_process_behind(tmp_path: Path, sig: signal.Signals) -> None:
    proc, run_id = start_collecting(tmp_path / "run")
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 130
    assert proc.stderr is not None and "interrupted" in proc.stderr.read()
    assert processes_of_run(run_id) == []
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and sum(summary["counts"].values()) == 10


def test_a_sigkilled_harness_leaves_no_process_within_10_s(tmp_path: Path) -> None:
    """kill -9 of the harness mid-run: the services' parent-death signal and the run's reaper
    stop every process of the run; nothing at --out looks like a finished run."""
    proc, run_id = start_collecting(tmp_path / "run")
    proc.kill()
    proc.wait()
    killed = time.monotonic()
    while processes_of_run(run_id) and time.monotonic() - killed < 10:
        time.sleep(0.1)
    left = processes_of_run(run_id)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"{len(left)} processes of run {run_id} outlived the harness by 10 s"
    assert not (tmp_path / "run").exists()
    [staged] = tmp_path.glob(f".run.partial-{run_id}")
    assert (staged / "INCOMPLETE").is_file()
    report = harness("report", str(staged))
    assert "never finished" in report.stderr or "did not complete" in report.stderr
