"""The CLI of thresholds and compare: `harness check`, `harness run --threshold`, and a small
real `harness compare` end to end (marker e2e)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli.app import app
from tests.harness.factories import make_run

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def flat(text: str) -> str:
    """Text without rich's error box, whitespace collapsed (a usage error is wrapped in it)."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_check_passes_with_a_line_per_threshold(tmp_path: Path) -> None:
    make_run(tmp_path, "phase3", [300, 500, 900], tracers=3)
    code, out = invoke(
        "check", str(tmp_path), "--threshold", "provider_ready.p99 < 1s", "--threshold",
        "success_ratio >= 1",
    )  # fmt: skip
    assert code == 0, out
    assert "✓ [phase3] provider_ready.p99 < 1s  (observed 900ms)" in out
    assert "✓ [phase3] success_ratio >= 1" in out


def test_check_breach_exits_99_with_the_observed_value_and_junit(tmp_path: Path) -> None:
    run = tmp_path / "run"
    make_run(run, "baseline", [5_000, 11_000, 22_000], tracers=4)
    junit = tmp_path / "junit.xml"
    code, out = invoke(
        "check", str(run), "--threshold", "provider_ready.p99 < 1s", "--threshold",
        "counts.timeout == 0", "--junit", str(junit),
    )  # fmt: skip
    assert code == 99, out
    assert "✗ [baseline] provider_ready.p99 < 1s  breached: observed 22,000ms (22.0s)" in out
    assert "✗ [baseline] counts.timeout == 0  breached: observed 1" in out
    assert "2 of 2 thresholds breached" in out
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("3", "2")


def test_check_on_a_compare_folder_checks_each_scenario(tmp_path: Path) -> None:
    for scenario, ready in (("baseline", [9_000, 12_000]), ("phase3", [400, 800])):
        make_run(tmp_path / scenario / "run-1", scenario, ready)
    runs = [
        {"scenario": s, "run": "run-1", "dir": f"{s}/run-1", "ok": True}
        for s in ("baseline", "phase3")
    ]
    (tmp_path / "compare.json").write_text(
        json.dumps({"scenarios": ["baseline", "phase3"], "repeat": 1, "runs": runs})
    )
    code, out = invoke("check", str(tmp_path), "--threshold", "phase3: provider_ready.p99 < 1s")
    assert code == 0, out
    assert "✓ phase3: provider_ready.p99 < 1s  (observed 800ms)" in out
    code, out = invoke("check", str(tmp_path), "--threshold", "provider_ready.p99 < 1s")
    assert code == 99
    assert "✗ [baseline] provider_ready.p99 < 1s  breached: observed 12,000ms" in out


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--threshold", "provider_ready.p99 < 1sec"], 2, "unknown unit 'sec'"),
        (["--threshold", "latency < 1s"], 2, "unknown metric 'latency'"),
        ([], 2, "give at least one --threshold"),
    ],
)
def test_check_usage_errors(tmp_path: Path, args: list[str], code: int, fragment: str) -> None:
    make_run(tmp_path, "phase3", [300])
    exit_code, out = invoke("check", str(tmp_path), *args)
    assert exit_code == code
    assert fragment in flat(out)


def test_check_on_a_folder_that_is_not_results(tmp_path: Path) -> None:
    code, out = invoke("check", str(tmp_path / "nowhere"), "--threshold", "success_ratio >= 1")
    assert code == 1
    assert "summary.json not found" in out


def test_run_refuses_a_bad_threshold_before_starting_anything(tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    code, out = invoke(
        "run", "--runtime", "local", "--out", str(out_dir), "--threshold", "p99 < 1s"
    )
    assert code == 2
    assert "unknown metric 'p99'" in flat(out)
    assert not out_dir.exists()
    code, out = invoke(
        "run", "--scenario", "baseline", "--runtime", "local", "--out", str(out_dir),
        "--threshold", "phase3: success_ratio >= 1",
    )  # fmt: skip
    assert code == 2
    assert "scoped to scenario 'phase3'" in flat(out)
    assert not out_dir.exists()


def test_compare_refuses_bad_input_before_running(tmp_path: Path) -> None:
    out_dir = tmp_path / "cmp"
    code, out = invoke(
        "compare", "--scenarios", "baseline,phase3", "--out", str(out_dir), "--threshold",
        "phase9: success_ratio >= 1", "--runtime", "local",
    )  # fmt: skip
    assert code == 1
    assert "'phase9', which is not compared" in out
    code, out = invoke("compare", "--scenarios", "baseline,nope", "--runtime", "local")
    assert code == 1
    assert "nope" in out
    assert not out_dir.exists()


@pytest.mark.e2e
def test_compare_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable, "-m", "harness", "compare",
            "--scenarios", "instant,phase3", "--repeat", "2", "--tracers", "6",
            "--runtime", "local", "--tracers-per-process", "6", "--timeout", "30",
            "--set", "client.poll_interval_s=1", "--set", "client.fast_lane_interval_ms=200",
            "--threshold", "success_ratio >= 1",
            "--threshold", "phase3: provider_ready.p99 < 30s",
            "--out", str(out), "--junit", str(junit),
        ],
        capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = lines.index("=== COMPARE (median of 2 runs [min-max], ratio to instant) ===")
    assert lines[header + 1].split() == ["instant", "phase3"]
    assert lines[header + 2].startswith("provider ready p50")
    assert "runs completed: instant 2/2, phase3 2/2" in done.stdout
    assert "✓ phase3: provider_ready.p99 < 30s" in done.stdout
    for scenario in ("instant", "phase3"):
        for k in (1, 2):
            run_dir = out / scenario / f"run-{k}"
            summary = json.loads((run_dir / "summary.json").read_text())
            assert summary["scenario"] == scenario
            assert sum(summary["counts"].values()) == 6
            assert (run_dir / "report.html").is_file()
    saved = json.loads((out / "compare.json").read_text())
    assert saved["scenarios"] == ["instant", "phase3"]
    assert [r["ok"] for r in saved["runs"]] == [True] * 4
    page = (out / "report.html").read_text()
    assert page.count('class="series"') == 2 + 4  # a CDF per scenario, a timeline per run
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("7", "0")  # 4 runs + 3 thresholds

    # The same folder, checked again without running: a breached threshold exits 99.
    check = subprocess.run(
        [sys.executable, "-m", "harness", "check", str(out), "--threshold",
         "instant: provider_ready.max < 1ms"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert check.returncode == 99, check.stdout + check.stderr
    assert "✗ instant: provider_ready.max < 1ms  breached: observed" in check.stdout


def test_check_refuses_a_run_that_did_not_complete(tmp_path: Path) -> None:
    make_run(tmp_path, "phase3", [300, 500], tracers=2)
    data = json.loads((tmp_path / "summary.json").read_text())
    data.update(status="interrupted", failure="interrupted (Ctrl-C, SIGTERM or SIGHUP)")
    (tmp_path / "summary.json").write_text(json.dumps(data))
    code, out = invoke("check", str(tmp_path), "--threshold", "provider_ready.p99 < 1s")
    assert code == 1
    assert "did not complete (interrupted: interrupted (Ctrl-C" in flat(out)
    assert "thresholds are not checked on partial results" in flat(out)
