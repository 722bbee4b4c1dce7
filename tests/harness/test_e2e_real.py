"""End-to-end: a small mixed fleet (stubs, real ddtrace-py, real dd-trace-js) as local
processes through the CLI. The real tracers' packages are installed on first use (the CI
script installs them first: ``harness tracers install``); nothing falls back to stubs."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

MIXED = (
    "fleet.members=[{kind: stub, tracers: 4}, {kind: ddtrace-py, tracers: 3}, "
    "{kind: dd-trace-js, tracers: 3}]"
)


def test_a_mixed_fleet_reports_every_kind_like_a_stub_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--runtime", "local", "--scenario", "baseline",
         "--set", MIXED, "--set", "client.poll_interval_s=1", "--timeout", "60",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tracers"] == 10 and summary["counts"]["success"] == 10
    by_kind = summary["by_kind"]
    assert list(by_kind) == ["stub", "ddtrace-py", "dd-trace-js"]
    assert [by_kind[k]["tracers"] for k in by_kind] == [4, 3, 3]
    assert all(by_kind[k]["provider_ready_ms"] is not None for k in by_kind)
    rows = list(csv.DictReader((out / "samples.csv").open()))
    kinds = {r["tracer"]: r["kind"] for r in rows}
    assert [kinds[str(i)] for i in range(10)] == ["stub"] * 4 + ["ddtrace-py"] * 3 + [
        "dd-trace-js"
    ] * 3
    real = [r for r in rows if r["kind"] != "stub"]
    assert all(float(r["start_wall"]) > 0 and r["provider_ready_ms"] for r in real)
    assert "=== PROVIDER READY BY TRACER KIND ===" in (out / "report.txt").read_text()
    for name in ("ddtrace-py-000", "dd-trace-js-002"):
        assert "PROVIDER_READY" in (out / "logs" / f"{name}.log").read_text()
