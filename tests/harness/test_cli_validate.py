"""``harness validate`` through the CLI: bad kinds, and comparing saved runs (no process)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from harness.cli.app import app
from harness.results.samples import read_samples, write_samples
from harness.run.runner import run_scenario
from harness.run.validate import start_offsets_ms
from harness.runtime.fake import FakeRuntime
from harness.scenario.model import load_scenario
from rc_protocol.clock import FastForwardClock
from tests.harness.test_cli import fake_deps

cli = CliRunner()


def saved_pair(tmp_path: Path) -> Path:
    """Two saved runs of 10 in-memory stubs, as validate leaves them in real/ and stub/."""
    for side in ("real", "stub"):
        clock = FastForwardClock()
        run_scenario(
            load_scenario("baseline", ["fleet.tracers=10", "timeouts.run_s=30"]),
            tmp_path / side,
            lambda rid, logs, c=clock: FakeRuntime(rid, c),
            clock=clock,
        )
    return tmp_path


def test_validate_needs_a_real_kind() -> None:
    result = cli.invoke(app, ["validate", "--tracer-kind", "stub"], obj=fake_deps())
    assert result.exit_code == 1
    assert "choose one of ddtrace-py, dd-trace-js" in result.output


def test_compare_only_needs_the_folder() -> None:
    result = cli.invoke(app, ["validate", "--tracer-kind", "ddtrace-py", "--compare-only"])
    assert result.exit_code == 2


def test_compare_only_passes_alike_runs_and_writes_validate_json(tmp_path: Path) -> None:
    folder = saved_pair(tmp_path)
    args = ["validate", "--tracer-kind", "ddtrace-py", "--compare-only", "--out", str(folder)]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "Kolmogorov-Smirnov statistic: 0.000" in result.output
    data = json.loads((folder / "validate.json").read_text())
    assert data["passed"] and data["profile"] == "ddtrace-py-4.16" and len(data["rows"]) == 9
    assert "<svg" in (folder / "validate.html").read_text()


def test_a_stub_5_s_late_exits_99(tmp_path: Path) -> None:
    folder = saved_pair(tmp_path)
    csv_path = folder / "stub" / "samples.csv"
    rows = read_samples(csv_path)
    write_samples(
        csv_path,
        [replace(r, provider_ready_ms=(r.provider_ready_ms or 0) + 5000) for r in rows],
    )
    args = ["validate", "--tracer-kind", "dd-trace-js", "--compare-only", "--out", str(folder)]
    result = cli.invoke(app, args)
    assert result.exit_code == 99, result.output
    assert "FAIL" in result.output and "+5,000" in result.output


def test_the_stub_run_replays_the_real_start_instants() -> None:
    from datetime import datetime

    from harness.results.samples import TracerSample
    from harness.run.kinds import fleet_specs
    from harness.run.runner import RunResult
    from tests.harness.factories import make_summary

    summary = make_summary(tracers=3)
    boot = datetime.fromisoformat(summary.boot_at).timestamp()
    rows = [
        TracerSample(1, "c", "ready", start_ms=300, start_wall=boot + 0.05, kind="ddtrace-py"),
        TracerSample(0, "c", "ready", start_ms=200, start_wall=boot + 0.01, kind="ddtrace-py"),
        TracerSample(2, "c", "crashed", kind="ddtrace-py"),
    ]
    offsets = start_offsets_ms(RunResult("r", Path("x"), summary, "", rows))
    assert offsets == [210.0, 350.0, 0.0]
    stub = load_scenario("baseline", ["fleet.tracers=3", f"fleet.start_offsets_ms={offsets}"])
    specs = fleet_specs(stub, 25, "http://a:1", "r", 100.0)
    assert [(s.name, s.env["RC_STUB_START_AT"]) for s in specs] == [
        ("tracers-000", "100.210"),
        ("tracers-001", "100.350"),
        ("tracers-002", "100.000"),
    ]
