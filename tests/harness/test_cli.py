import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli.app import app
from harness.cli.options import CliDeps
from harness.report.text import render_text
from harness.run.placement import Placement
from harness.run.runner import RuntimeFactory
from harness.runtime import RuntimeChoice
from harness.runtime.base import Runtime
from harness.runtime.fake import FakeRuntime
from rc_protocol.clock import FastForwardClock
from tests.harness.factories import make_summary

cli = CliRunner()


def saved_run(tmp_path: Path) -> Path:
    data = make_summary(run_id="abcd1234", scenario="baseline")
    (tmp_path / "summary.json").write_text(json.dumps(data.to_json(), indent=2) + "\n")
    (tmp_path / "report.txt").write_text(render_text(data))
    return tmp_path


def fake_deps(name: str = "fake") -> CliDeps:
    """The CLI on the in-memory runtime and a fast-forward clock: a whole run, no process."""
    clock = FastForwardClock()

    def factory(choice: RuntimeChoice, placement: Placement) -> RuntimeFactory:
        return lambda run_id, log_dir: FakeRuntime(run_id, clock)

    return CliDeps(choose=lambda requested, image: RuntimeChoice(name, "test"), factory=factory,
                   clock=clock)  # fmt: skip


def test_scenarios_lists_each_builtin_on_one_line() -> None:
    result = cli.invoke(app, ["scenarios"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == [
        "baseline",
        "phase1",
        "phase2",
        "phase3",
        "instant",
        "loadtest-setup",
        "late-subscription",
        "agent-only",
        "agent-any-product",
        "agent-single-flight",
        "agent-new-products",
        "agent-warm",
        "agent-short-block",
        "client-go-2.10",
    ]


def test_report_rerenders_the_saved_report_byte_for_byte(tmp_path: Path) -> None:
    folder = saved_run(tmp_path)
    result = cli.invoke(app, ["report", str(folder)])
    assert result.exit_code == 0
    assert result.stdout == (folder / "report.txt").read_text()


def test_report_json_is_the_summary(tmp_path: Path) -> None:
    folder = saved_run(tmp_path)
    result = cli.invoke(app, ["report", str(folder), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["run_id"] == "abcd1234"


def test_report_of_a_folder_without_summary_is_one_clear_line(tmp_path: Path) -> None:
    result = cli.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "summary.json not found" in result.output


def test_bad_format_is_a_usage_error(tmp_path: Path) -> None:
    assert cli.invoke(app, ["report", str(tmp_path), "--format", "xml"]).exit_code == 2


def test_run_with_an_unknown_set_key_fails_before_starting_anything(tmp_path: Path) -> None:
    result = cli.invoke(app, ["run", "--set", "client.pol=1", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "client.pol: unknown key; valid keys:" in result.output
    assert not (tmp_path / "r").exists()


def test_run_with_an_unknown_scenario_fails(tmp_path: Path) -> None:
    result = cli.invoke(app, ["run", "--scenario", "nope", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "unknown scenario 'nope'" in result.output


def test_run_prints_the_report_and_writes_the_results_folder(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["run", "--tracers", "12", "--scenario", "phase3", "--out", str(out)]
    result = cli.invoke(app, args, obj=fake_deps())
    assert result.exit_code == 0, result.output
    assert "runtime: fake (test)" in result.stderr
    assert "Success: 12/12  |  Timeout: 0  |  Error: 0" in result.stdout
    assert result.stdout == (out / "report.txt").read_text() + f"\nresults: {out}\n"
    assert (out / "report.html").is_file()


def test_run_with_a_breached_threshold_exits_99_and_writes_junit(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    args = ["run", "--tracers", "4", "--scenario", "phase3", "--out", str(tmp_path / "r"),
            "--threshold", "provider_ready.p99 < 100ms", "--junit", str(junit)]  # fmt: skip
    result = cli.invoke(app, args, obj=fake_deps())
    assert result.exit_code == 99, result.output
    assert "✗ [phase3] provider_ready.p99 < 100ms  breached: observed 330ms" in result.stdout
    assert junit.is_file()


class InterruptedRuntime(FakeRuntime):
    """A runtime whose run is interrupted at once (Ctrl-C), as Docker's would be."""

    def __enter__(self) -> "InterruptedRuntime":
        raise KeyboardInterrupt


def interrupted_deps() -> CliDeps:
    def factory(choice: RuntimeChoice, placement: Placement) -> RuntimeFactory:
        def make(run_id: str, log_dir: Path) -> Runtime:
            return InterruptedRuntime(run_id, FastForwardClock())

        return make

    return CliDeps(choose=lambda requested, image: RuntimeChoice("docker", "test"),
                   factory=factory)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "interrupted: every component of the run was stopped"),
        (["--keep"], "interrupted: the run's containers were left up (--keep)"),
    ],
)
def test_an_interrupted_run_says_whether_its_components_were_left_up(
    tmp_path: Path, args: list[str], said: str
) -> None:
    result = cli.invoke(
        app,
        ["run", "--runtime", "docker", "--out", str(tmp_path / "r"), *args],
        obj=interrupted_deps(),
    )
    assert result.exit_code == 130
    assert said in result.output


def test_run_with_an_unknown_runtime_fails_before_starting_anything(tmp_path: Path) -> None:
    result = cli.invoke(app, ["run", "--runtime", "dockr", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "unknown runtime 'dockr': choose one of auto, local, docker" in result.output
    assert "runtime: dockr" not in result.output and not (tmp_path / "r").exists()
