"""End-to-end: ``harness run --runtime locust`` with a real Locust master and two workers."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.test_e2e_local import processes_of_run

pytestmark = pytest.mark.e2e

HARNESS = [sys.executable, "-m", "harness"]


def test_a_two_worker_fleet_accounts_for_every_tracer(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [
            *HARNESS,
            "run",
            "--runtime",
            "locust",
            "--locust-workers",
            "2",
            "--tracers",
            "100",
            "--scenario",
            "phase3",
            "--timeout",
            "60",
            "--set",
            "client.poll_interval_s=1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runtime"] == "locust"
    assert summary["counts"] == {"success": 100, "timeout": 0, "error": 0, "crashed": 0}
    rows = list(csv.DictReader((out / "samples.csv").open()))
    assert sorted(int(r["tracer"]) for r in rows) == list(range(100))
    hosts = {r["component"] for r in rows}
    assert hosts == {"locust-worker-00", "locust-worker-01"}
    assert all(r["provider_ready_ms"] for r in rows)
    for name in ("locust-master", "locust-worker-00", "locust-worker-01"):
        assert (out / "logs" / f"{name}.log").is_file(), name
    stats = list(csv.DictReader((out / "locust" / "locust_stats.csv").open()))
    by_name = {(s["Type"], s["Name"]): s for s in stats}
    assert by_name[("RC", "provider_ready")]["Request Count"] == "100"
    assert int(by_name[("POST", "/v0.7/config [fast]")]["Request Count"]) >= 100
    assert (out / "locust" / "locust_report.html").is_file()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_locust_run_leaves_no_locust_process(
    tmp_path: Path, sig: signal.Signals
) -> None:
    proc = subprocess.Popen(
        [
            *HARNESS,
            "run",
            "--runtime",
            "locust",
            "--locust-workers",
            "2",
            "--tracers",
            "10",
            "--scenario",
            "baseline",
            "--timeout",
            "120",
            "--out",
            str(tmp_path / "run"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = ""
    assert proc.stderr is not None
    deadline = time.monotonic() + 90
    for line in proc.stderr:
        if "run id " in line:
            run_id = line.rsplit("run id ", 1)[1].strip()
        if line.startswith("[") or time.monotonic() > deadline:  # collection has begun
            break
    assert run_id
    # backend, agent, the Locust master and its two workers
    assert len(processes_of_run(run_id)) == 5
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 130
    assert "interrupted" in proc.stderr.read()
    assert processes_of_run(run_id) == []
