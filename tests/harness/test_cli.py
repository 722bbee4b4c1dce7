import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli.app import app
from harness.cli.options import CliDeps
from harness.report.text import render_text
from harness.run.placement import Placement
from harness.run.runner import RuntimeFactory
from harness.runtime import RuntimeChoice
from harness.runtime.base import ComponentHandle, ComponentSpec, Runtime
from harness.runtime.fake import FakeRuntime, FakeScript
from rc_protocol.clock import FastForwardClock
from tests.harness.factories import make_summary

cli = CliRunner()


def saved_run(tmp_path: Path) -> Path:
    data = make_summary(run_id="abcd1234", scenario="baseline")
    (tmp_path / "summary.json").write_text(json.dumps(data.to_json(), indent=2) + "\n")
    (tmp_path / "report.txt").write_text(render_text(data))
    return tmp_path


def fake_deps(name: str = "fake", script: FakeScript | None = None) -> CliDeps:
    """The CLI on the in-memory runtime and a fast-forward clock: a whole run, no process."""
    clock = FastForwardClock()

    def factory(choice: RuntimeChoice, placement: Placement) -> RuntimeFactory:
        return lambda run_id, log_dir: FakeRuntime(run_id, clock, script)

    return CliDeps(choose=lambda requested, image: RuntimeChoice(name, "test"), factory=factory,
                   clock=clock)  # fmt: skip


FAULT_BUILTINS = [
    "fault-agent-restart",
    "fault-backend-outage",
    "fault-bad-payload",
    "fault-network-cut",
    "fault-tracer-kill",
]


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
        *FAULT_BUILTINS,
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


def test_a_run_whose_agent_dies_prints_the_report_then_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "r"
    script = FakeScript(ready_after_s=60.0, die_after_s={"agent": (20.0, -9)})
    args = ["run", "--tracers", "4", "--out", str(out), "--timeout", "60"]
    result = cli.invoke(app, args, obj=fake_deps(script=script))
    assert result.exit_code == 1, result.output
    assert "=== FAILED: agent exited with code -9" in result.stdout
    assert "--- last log lines of agent ---" in result.stdout
    assert "error: the run failed: agent exited with code -9" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["failures"][0]["exit_code"] == -9


class InterruptedRuntime(FakeRuntime):
    """A runtime whose run is interrupted (Ctrl-C) as its first component starts."""

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
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


def test_a_scenario_name_that_would_escape_results_fails_before_anything_starts(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "escape.yaml"
    scenario.write_text("name: ../../x\n")
    started: list[str] = []

    def factory(choice: RuntimeChoice, placement: Placement) -> RuntimeFactory:
        def build(run_id: str, log_dir: Path) -> Runtime:
            started.append(run_id)
            return FakeRuntime(run_id, FastForwardClock())

        return build

    deps = CliDeps(choose=lambda requested, image: RuntimeChoice("fake", "test"), factory=factory)
    result = cli.invoke(app, ["run", "--scenario", str(scenario)], obj=deps)
    assert result.exit_code == 1
    assert "'../../x' is not a scenario name" in result.output
    assert started == [] and not (tmp_path.parent / "x").exists()


def test_run_refuses_a_non_empty_out_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert (
        cli.invoke(app, ["run", "--tracers", "4", "--out", str(out)], obj=fake_deps()).exit_code
        == 0
    )
    again = cli.invoke(app, ["run", "--tracers", "4", "--out", str(out)], obj=fake_deps())
    assert again.exit_code == 1
    assert f"--out {out} is not empty" in again.output and "--force" in again.output
    forced = cli.invoke(
        app, ["run", "--tracers", "4", "--out", str(out), "--force"], obj=fake_deps()
    )
    assert forced.exit_code == 0, forced.output


def test_a_failed_run_says_where_its_partial_results_are_and_report_says_so(
    tmp_path: Path,
) -> None:
    clock = FastForwardClock()

    def factory(choice: RuntimeChoice, placement: Placement) -> RuntimeFactory:
        script = FakeScript(exit_at_start={"agent": 3})
        return lambda run_id, log_dir: FakeRuntime(run_id, clock, script)

    deps = CliDeps(choose=lambda r, i: RuntimeChoice("fake", "test"), factory=factory, clock=clock)
    out = tmp_path / "r"
    result = cli.invoke(app, ["run", "--tracers", "4", "--out", str(out)], obj=deps)
    assert result.exit_code == 1
    assert "agent failed to start" in result.output
    assert f"what the run collected until then is in {out}" in result.output
    report = cli.invoke(app, ["report", str(out)])
    assert report.exit_code == 0
    assert report.stdout.startswith("=== RUN DID NOT COMPLETE (FAILED) ===\n")
    assert "did not complete (failed)" in report.stderr


def test_a_docker_fleet_past_the_bridge_limit_fails_before_anything_starts(
    tmp_path: Path,
) -> None:
    built: list[str] = []

    def factory(choice: RuntimeChoice, placement: Placement) -> RuntimeFactory:
        def build(run_id: str, log_dir: Path) -> Runtime:
            built.append(run_id)
            return FakeRuntime(run_id, FastForwardClock())

        return build

    deps = CliDeps(choose=lambda r, i: RuntimeChoice("docker", "test"), factory=factory)
    out = tmp_path / "r"
    # One tracer per container (Docker packs tracers by default since the scale work).
    argv = ["run", "--tracers", "1100", "--tracers-per-container", "1", "--out", str(out)]
    result = cli.invoke(app, argv, obj=deps)
    assert result.exit_code == 1
    assert "1023 ports of a Linux bridge" in result.output
    assert "--tracers-per-container" in result.output
    assert built == [] and not out.exists() and list(tmp_path.iterdir()) == []
