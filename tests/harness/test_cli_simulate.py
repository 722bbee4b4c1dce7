"""``harness simulate`` through the CLI (Typer's runner, in process)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from harness.cli.app import app
from harness.results.folder import load_summary


def test_simulate_prints_the_report_and_writes_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(
        app,
        ["simulate", "--scenario", "phase3", "--agents", "3", "--tracers", "4", "--seed", "2",
         "--start-wall", "1700000030", "--out", str(out), "--threshold", "success_ratio >= 1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Success: 12/12" in result.output
    assert "=== BACKEND (/configurations" in result.output and "Peak:" in result.output
    assert f"results: {out}" in result.output
    summary = load_summary(out)
    assert summary.runtime == "simulate" and summary.agents == 3
    assert json.loads((out / "summary.json").read_text())["simulation"]["seed"] == 2


def test_simulate_threshold_breach_exits_99(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["simulate", "--tracers", "2", "--out", str(tmp_path / "s"),
         "--threshold", "provider_ready.p50 < 1ms"],
    )  # fmt: skip
    assert result.exit_code == 99, result.output


def test_simulate_bad_options_name_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--agent-boot", "sideways", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 1
    assert "--agent-boot 'sideways'" in result.output and "ramp" in result.output
    unknown = CliRunner().invoke(app, ["simulate", "--set", "agent.nope=1"])
    assert unknown.exit_code == 1 and "unknown key" in unknown.output


def test_a_scenario_simulate_cannot_run_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(
        app, ["simulate", "--scenario", "fault-tracer-kill", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "does not apply them" in result.output and "harness run" in result.output
    assert not out.exists()
