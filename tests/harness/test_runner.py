import csv
import json
from pathlib import Path

import pytest

from harness.errors import ComponentStartError
from harness.report.text import render_text
from harness.run import runner
from harness.run.runner import run_scenario
from harness.runtime.base import ComponentSpec
from harness.runtime.local import LocalRuntime
from harness.scenario.model import load_scenario

ROOT = str(Path(__file__).resolve().parents[2])
FAKE = {role: "tests.harness.fake_service" for role in ("backend", "agent", "tracer")}
SUMMARY_KEYS = {  # every key of docs/contracts.md, "Results folder"
    "run_id",
    "scenario",
    "runtime",
    "tracers",
    "started_at",
    "duration_s",
    "provider_mode",
    "provider_ready_ms",
    "boot_total_ms",
    "counts",
    "success_ratio",
    "provider_error_events",
    "buckets",
    "health",
    "agent",
    "backend",
    "timeline",
    "boot_at",
    "warnings",
}


@pytest.fixture(autouse=True)
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", ROOT)
    monkeypatch.setattr(runner, "boot_margin_s", lambda processes, start_cost_s=0.0: 1.0)


def run(tmp_path: Path, *overrides: str, per_process: int = 4) -> runner.RunResult:
    scenario = load_scenario("baseline", ["fleet.tracers=10", "timeouts.run_s=4", *overrides])
    with LocalRuntime("testrun", log_dir=tmp_path / "logs") as rt:
        return run_scenario(scenario, rt, tmp_path, tracers_per_process=per_process, modules=FAKE)


def test_a_run_writes_every_file_and_counts_every_tracer(tmp_path: Path) -> None:
    result = run(tmp_path)
    s = result.summary
    assert set(s) == SUMMARY_KEYS
    assert isinstance(s["warnings"], list) and s["duration_s"] > 0
    assert s["counts"] == {"success": 10, "timeout": 0, "error": 0, "crashed": 0}
    assert s["health"] == {"running": 10, "exited": 0, "restarting": 0, "crashes": 0}
    assert s["provider_ready_ms"]["min"] >= 300 and s["buckets"] is None
    assert s["agent"] == {
        'agent_rc_bypass_total{lane="fast",result="refreshed"}': 3.0,
        "agent_rc_active_clients": 7.0,
    }
    assert s["timeline"][-1][1] == 10
    for name in (
        "scenario.yaml",
        "report.html",
        "samples.csv",
        "summary.json",
        "report.txt",
        "logs/backend.log",
        "logs/agent.log",
        "logs/tracers-000.log",
        "logs/tracers-002.log",
    ):
        assert (tmp_path / name).is_file(), name
    rows = list(csv.DictReader((tmp_path / "samples.csv").open()))
    assert [int(r["tracer"]) for r in rows] == list(range(10))
    assert rows[9]["component"] == "tracers-002"
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert render_text(saved) == (tmp_path / "report.txt").read_text() == result.report
    assert load_scenario(str(tmp_path / "scenario.yaml")).fleet.tracers_per_process == 4


def test_crashed_and_pending_tracers_are_accounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_CRASH_BASE", "0")
    monkeypatch.setenv("FAKE_PENDING_BASE", "8")
    s = run(tmp_path, "timeouts.run_s=2").summary
    assert s["counts"] == {"success": 4, "timeout": 2, "error": 0, "crashed": 4}
    assert s["health"]["crashes"] == 4 and s["health"]["running"] == 6
    assert "Crashed: 4" in (tmp_path / "report.txt").read_text()


def test_counters_that_cannot_be_scraped_are_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_METRICS_ERROR", "agent")
    s = run(tmp_path).summary
    assert s["agent"] == {} and s["backend"]  # the backend's counters are still there
    [warning] = [w for w in s["warnings"] if "counters" in w]
    assert "the agent's counters could not be scraped from http://127.0.0.1:" in warning
    assert warning.endswith("see logs/agent.log")


def test_wait_mode_reports_buckets(tmp_path: Path) -> None:
    s = run(tmp_path, "provider.mode=wait").summary
    assert s["buckets"] == {"under_10s": 10, "cliff_28_32s": 0, "over_32s": 0}
    assert "Under 10s: 10  |" in (tmp_path / "report.txt").read_text()


def test_a_component_that_does_not_start_is_named_with_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXIT_AT_START", "agent")
    with pytest.raises(ComponentStartError) as err:
        run(tmp_path)
    assert err.value.component == "agent"
    assert "exited with code 4" in str(err.value) and "exiting on purpose" in str(err.value)


def test_components_that_never_answer_health_are_named_with_what_to_do(tmp_path: Path) -> None:
    silent = [
        ComponentSpec(f"tracers-00{n}", "tracer", "tests.harness.stubborn", tracers=1)
        for n in range(2)
    ]
    with LocalRuntime("testrun", log_dir=tmp_path) as rt:
        handles = rt.start(silent)
        with pytest.raises(ComponentStartError) as err:
            runner._wait_healthy(handles, timeout_s=0.5)
        rt.stop(handles, timeout=0.1)  # they ignore SIGTERM: do not wait close()'s 5 s
    assert err.value.component == "tracers-000"
    assert "/health within 0.5 s (nor from 1 other component(s)); raise timeouts.startup_s" in (
        err.value.reason
    )


def test_tracer_specs_carry_packing_boot_instant_and_ramp() -> None:
    scenario = load_scenario("baseline", ["fleet.tracers=5", "fleet.boot=ramp", "fleet.ramp_s=10"])
    specs = runner.tracer_specs(scenario, 2, "http://127.0.0.1:1", "rid", 1000.0)
    assert [s.tracers for s in specs] == [2, 2, 1]
    assert [s.env["RC_STUB_TRACER_INDEX_BASE"] for s in specs] == ["0", "2", "4"]
    assert [s.env["RC_STUB_START_AT"] for s in specs] == ["1000.000", "1004.000", "1008.000"]
    assert specs[0].env["RC_STUB_BOOT_STAGGER_MS"] == "2000"
    assert specs[0].env["RC_STUB_AGENT_URL"] == "http://127.0.0.1:1"
