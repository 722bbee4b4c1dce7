"""`harness matrix` and `harness check` on a matrix folder, on the in-memory runtime."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from harness.cli.app import app
from harness.studies.matrix import MATRIX_JSON, read_matrix_json
from tests.harness.test_cli import fake_deps

cli = CliRunner()
AXES = [
    "--clients",
    "go-2.5,ddtrace-py-4.16+fastlane",
    "--agents",
    "legacy,fastlane-any+single-flight",
    "--tracers",
    "4",
    "--timeout",
    "20",
]


def invoke(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, ["matrix", *args], obj=fake_deps())
    return result.exit_code, result.output


def test_matrix_runs_prints_the_table_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "m"
    md = tmp_path / "docs" / "decision-report.md"
    code, output = invoke(*AXES, "--out", str(out), "--markdown", str(md))
    assert code == 0, output
    assert "=== MATRIX (one run per cell; 4 tracers, runtime fake)" in output
    for cell in ("go-2.5", "ddtrace-py-4.16+fastlane"):
        assert f"baseline  {cell}" in output
    assert "[4/4] baseline/ddtrace-py-4.16+fastlane/fastlane-any+single-flight run-1" in output
    doc = read_matrix_json(out / MATRIX_JSON)
    assert doc.complete and len(doc.cells) == 4
    assert doc.command.startswith("harness matrix --setups baseline --clients go-2.5,")
    assert f"--markdown {md}" in doc.command and "--tracers 4" in doc.command
    assert md.read_text().startswith("# Decision report")
    assert read_matrix_json(md.with_suffix(".json")) == doc
    assert (out / "report.html").is_file()


def test_from_rerenders_a_saved_matrix_without_running(tmp_path: Path) -> None:
    out = tmp_path / "m"
    assert invoke(*AXES, "--out", str(out))[0] == 0
    (out / "report.html").unlink()
    md = tmp_path / "again.md"
    result = cli.invoke(app, ["matrix", "--from", str(out), "--markdown", str(md)])
    assert result.exit_code == 0, result.output
    assert "=== MATRIX" in result.output and md.is_file() and (out / "report.html").is_file()


def test_thresholds_on_cells_and_check_on_a_matrix_folder(tmp_path: Path) -> None:
    out = tmp_path / "m"
    gate = "baseline/go-2.5/*: provider_ready.p99 < 10ms"
    code, output = invoke(*AXES, "--out", str(out), "--threshold", gate)
    assert code == 99, output
    assert f"✗ [baseline/go-2.5/legacy] {gate}  breached: observed 330ms" in output
    junit = tmp_path / "junit.xml"
    result = cli.invoke(
        app,
        ["check", str(out), "--threshold", "success_ratio >= 1", "--junit", str(junit)],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("✓ [baseline/") == 4
    assert ET.parse(junit).getroot().get("tests") == "8"  # 4 runs + 4 thresholds
    result = cli.invoke(app, ["check", str(out), "--threshold", gate])
    assert result.exit_code == 99


def test_bad_axes_are_named_before_anything_runs(tmp_path: Path) -> None:
    code, output = invoke("--agents", "legacy,turbo", "--out", str(tmp_path / "m"))
    assert code == 1 and "unknown agent design 'turbo'" in output
    assert not (tmp_path / "m").exists()
    code, output = invoke("--clients", "go-9", "--out", str(tmp_path / "m"))
    assert code == 1 and "unknown client profile 'go-9'" in output
    code, output = invoke("--setups", "nope", "--out", str(tmp_path / "m"))
    assert code == 1 and "unknown scenario 'nope'" in output
    code, output = invoke(*AXES, "--threshold", "elsewhere/*/*: success_ratio >= 1")
    assert code == 1 and "matches no cell" in output
