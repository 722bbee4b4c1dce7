"""The runner, driven on the in-memory runtime with a fast-forward clock (no process, no
socket, no sleep), and once end to end with real processes (marker e2e)."""

import csv
import json
from pathlib import Path

import pytest

from harness.errors import ComponentStartError
from harness.report.text import render_text
from harness.results.summary import Buckets, Counts, Health, Summary
from harness.run.events import Progress
from harness.run.kinds import fleet_specs
from harness.run.runner import RunResult, run_scenario
from harness.runtime.base import Runtime
from harness.runtime.fake import FakeRuntime, FakeScript
from harness.runtime.local import LocalRuntime
from harness.scenario.model import load_scenario
from rc_protocol.clock import FastForwardClock

ROOT = str(Path(__file__).resolve().parents[2])
FAKE = {role: "tests.harness.fake_service" for role in ("backend", "agent", "tracer")}
SUMMARY_KEYS = {  # every key of docs/contracts.md, "Results folder"
    "schema_version",
    "by_kind",
    "crash_logs",
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
    "status",
    "failure",
    "validity",
    "faults",
    "failures",
    "agents",
    "backend_view",
    "simulation",
}


class Fake:
    """A runtime factory that builds one :class:`FakeRuntime` and keeps it for inspection."""

    def __init__(self, script: FakeScript | None = None) -> None:
        self.clock = FastForwardClock(start_wall=1_800_000_000.0)
        self.script = script or FakeScript()
        self.runtime: FakeRuntime | None = None

    def __call__(self, run_id: str, log_dir: Path) -> Runtime:
        self.runtime = FakeRuntime(run_id, self.clock, self.script)
        return self.runtime


def run(
    tmp_path: Path, *overrides: str, fake: Fake | None = None, per_process: int = 4
) -> RunResult:
    scenario = load_scenario("baseline", ["fleet.tracers=10", "timeouts.run_s=4", *overrides])
    fake = fake or Fake()
    return run_scenario(
        scenario,
        tmp_path,
        fake,
        run_id="testrun",
        clock=fake.clock,
        boot_margin=lambda processes, start_cost_s: 1.0,
        tracers_per_process=per_process,
    )


def test_a_run_writes_every_file_and_counts_every_tracer(tmp_path: Path) -> None:
    fake = Fake()
    events: list[Progress] = []
    scenario = load_scenario("baseline", ["fleet.tracers=10", "timeouts.run_s=4"])
    result = run_scenario(
        scenario,
        tmp_path,
        fake,
        run_id="testrun",
        clock=fake.clock,
        boot_margin=lambda processes, start_cost_s: 1.0,
        progress=events.append,
        tracers_per_process=4,
    )
    s = result.summary
    assert set(s.to_json()) == SUMMARY_KEYS
    assert s.warnings == () and s.duration_s > 0
    assert s.counts == Counts(success=10, timeout=0, error=0, crashed=0)
    assert s.health == Health(running=10, exited=0, restarting=0, crashes=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min == 300
    assert s.provider_ready_ms.max == 330  # 0.3 s + 10 ms for each of the 4th process's tracers
    assert s.buckets is None and s.runtime == "fake"
    assert s.agent == {
        'agent_rc_bypass_total{lane="fast",result="refreshed"}': 3.0,
        "agent_rc_active_clients": 7.0,
    }
    assert s.timeline[-1][1] == 10
    # released once every process was ready: the clock's start plus the shortest lead (0.2 s)
    assert s.boot_at == "2027-01-15T08:00:00.200+00:00"
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
    saved = Summary.from_json(json.loads((tmp_path / "summary.json").read_text()))
    assert render_text(saved) == (tmp_path / "report.txt").read_text() == result.report
    assert load_scenario(str(tmp_path / "scenario.yaml")).fleet.tracers_per_process == 4
    assert fake.runtime is not None and fake.runtime.closed
    spec = fake.runtime.components[2].spec
    assert (spec.name, spec.first_tracer, spec.tracers) == ("tracers-000", 0, 4)
    # the deadline, a safety net: the margin (1 s here) plus timeouts.startup_s (30 s)
    assert spec.env["RC_STUB_START_AT"] == "1800000031.000"
    assert spec.env["RC_STUB_START_SIGNAL"] == "http"
    assert [c.released_at for c in fake.runtime.components[2:]] == [1_800_000_000.2] * 3
    assert any(e.tick is not None and e.tick.ready == 10 for e in events)


def test_crashed_and_pending_tracers_are_accounted(tmp_path: Path) -> None:
    script = FakeScript(crash_at_boot={"tracers-000": 3}, pending=frozenset({"tracers-002"}))
    s = run(tmp_path, "timeouts.run_s=2", fake=Fake(script)).summary
    assert s.counts == Counts(success=4, timeout=2, error=0, crashed=4)
    assert s.health.crashes == 4 and s.health.running == 6
    report = (tmp_path / "report.txt").read_text()
    assert "Crashed: 4" in report
    assert list(s.crash_logs) == ["tracers-000"]
    assert (
        "=== CRASHED: tracers-000 (last log lines) ===\nfake tracer tracers-000: started" in report
    )


def test_counters_that_cannot_be_scraped_are_a_warning(tmp_path: Path) -> None:
    s = run(tmp_path, fake=Fake(FakeScript(metrics_error=frozenset({"agent"})))).summary
    assert s.agent == {} and s.backend  # the backend's counters are still there
    [warning] = [w for w in s.warnings if "counters" in w]
    assert "the agent's counters could not be scraped from http://agent.fake.invalid" in warning
    assert warning.endswith("see logs/agent.log")


def test_wait_mode_reports_buckets(tmp_path: Path) -> None:
    s = run(tmp_path, "provider.mode=wait").summary
    assert s.buckets == Buckets(under_10s=10, cliff_28_32s=0, over_32s=0)
    assert "Under 10s: 10  |" in (tmp_path / "report.txt").read_text()


def test_a_deadline_missed_by_slow_processes_is_a_warning(tmp_path: Path) -> None:
    fake = Fake()
    overrides = ["fleet.tracers=4", "timeouts.run_s=4", "timeouts.startup_s=0.5"]
    scenario = load_scenario("baseline", overrides)
    result = run_scenario(
        scenario, tmp_path, fake, clock=fake.clock, boot_margin=lambda processes, cost: -2.0
    )
    [warning] = result.summary.warnings
    assert warning.startswith("tracer processes were ready 1.5 s after their start deadline")


def test_a_fleet_without_the_start_signal_starts_at_its_deadline(tmp_path: Path) -> None:
    fake = Fake(FakeScript(no_start_signal=frozenset({"tracers-001"})))
    s = run(tmp_path, fake=fake).summary
    assert s.boot_at == "2027-01-15T08:00:31.000+00:00" and s.warnings == ()
    assert fake.runtime is not None
    assert [c.released_at for c in fake.runtime.components[2:]] == [None] * 3
    assert s.counts.success == 10


def test_a_ramp_releases_each_process_at_its_first_tracer(tmp_path: Path) -> None:
    fake = Fake()
    run(tmp_path, "fleet.boot=ramp", "fleet.ramp_s=5", fake=fake)
    assert fake.runtime is not None
    starts = [c.released_at for c in fake.runtime.components[2:]]
    assert starts == pytest.approx([1_800_000_000.2, 1_800_000_002.2, 1_800_000_004.2])


def test_a_late_release_is_a_warning(tmp_path: Path) -> None:
    s = run(tmp_path, fake=Fake(FakeScript(release_delay_s=0.35))).summary
    [warning] = s.warnings
    assert warning.startswith("3 of 3 tracer processes got the start signal up to 150 ms after")


def test_a_component_that_does_not_start_is_named_with_its_log(tmp_path: Path) -> None:
    fake = Fake(FakeScript(exit_at_start={"agent": 4}))
    with pytest.raises(ComponentStartError) as err:
        run(tmp_path, fake=fake)
    assert err.value.component == "agent"
    assert "exited with code 4" in str(err.value) and "exiting on purpose" in str(err.value)
    assert fake.runtime is not None and fake.runtime.closed  # closed on the error path too


def test_components_that_never_answer_health_are_named_with_what_to_do(tmp_path: Path) -> None:
    fake = Fake(FakeScript(silent=frozenset({"tracers-000", "tracers-001"})))
    with pytest.raises(ComponentStartError) as err:
        run(tmp_path, "timeouts.startup_s=0.5", fake=fake, per_process=5)
    assert err.value.component == "tracers-000"
    assert "/health within 0.5 s (nor from 1 other component(s)); raise timeouts.startup_s" in (
        err.value.reason
    )


def test_tracer_specs_carry_packing_boot_instant_and_ramp() -> None:
    scenario = load_scenario("baseline", ["fleet.tracers=5", "fleet.boot=ramp", "fleet.ramp_s=10"])
    specs = fleet_specs(scenario, 2, "http://127.0.0.1:1", "rid", 1000.0)
    assert [s.tracers for s in specs] == [2, 2, 1]
    assert [s.first_tracer for s in specs] == [0, 2, 4]
    assert [s.env["RC_STUB_TRACER_INDEX_BASE"] for s in specs] == ["0", "2", "4"]
    assert [s.env["RC_STUB_START_AT"] for s in specs] == ["1000.000", "1004.000", "1008.000"]
    assert specs[0].env["RC_STUB_BOOT_STAGGER_MS"] == "2000"
    assert specs[0].env["RC_STUB_AGENT_URL"] == "http://127.0.0.1:1"


def test_as_started_boot_gives_no_barrier() -> None:
    scenario = load_scenario("baseline", ["fleet.tracers=4", "fleet.boot=as_started"])
    specs = fleet_specs(scenario, 2, "http://127.0.0.1:1", "rid", 1000.0)
    assert all("RC_STUB_START_AT" not in s.env for s in specs)
    assert all("RC_STUB_START_SIGNAL" not in s.env for s in specs)  # nothing to wait for


def test_agent_healthy_first_gates_the_fleet_on_its_health(tmp_path: Path) -> None:
    fake = Fake(FakeScript(silent=frozenset({"agent"})))
    with pytest.raises(ComponentStartError) as err:
        run(tmp_path, "timeouts.startup_s=0.5", fake=fake)
    assert err.value.component == "agent"


def test_agent_with_fleet_starts_together_without_a_health_gate(tmp_path: Path) -> None:
    fake = Fake(FakeScript(silent=frozenset({"agent"})))  # never healthy: nobody waits for it
    result = run(
        tmp_path,
        "timeouts.startup_s=0.5",
        "fleet.agent_start=with_fleet",
        "agent.rc_unavailable_s=16",
        fake=fake,
    )
    assert result.summary.counts.success == 10
    assert any("agent's counters could not be scraped" in w for w in result.summary.warnings)
    assert fake.runtime is not None
    agent, *tracers = [c for c in fake.runtime.components if c.spec.role != "backend"]
    assert agent.spec.role == "agent"
    boot = float(tracers[0].spec.env["RC_STUB_START_AT"])
    assert float(agent.spec.env["RC_AGENT_RC_AVAILABLE_AT"]) == pytest.approx(boot + 16, abs=1e-3)
    gated = Fake()
    run(tmp_path / "gated", "agent.rc_unavailable_s=16", fake=gated)
    assert gated.runtime is not None
    [gated_agent] = [c for c in gated.runtime.components if c.spec.role == "agent"]
    assert "RC_AGENT_RC_AVAILABLE_AT" not in gated_agent.spec.env  # counts from its own start
    assert gated_agent.spec.env["RC_AGENT_RC_UNAVAILABLE_S"] == "16.0"


@pytest.mark.e2e
def test_a_run_of_real_processes_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", ROOT)  # the stand-in service lives in tests/
    scenario = load_scenario("baseline", ["fleet.tracers=10", "timeouts.run_s=4"])
    result = run_scenario(
        scenario,
        tmp_path,
        lambda run_id, log_dir: LocalRuntime(run_id, log_dir=log_dir),
        boot_margin=lambda processes, start_cost_s: 1.0,
        tracers_per_process=4,
        modules=FAKE,
    )
    s = result.summary
    assert s.counts == Counts(success=10, timeout=0, error=0, crashed=0)
    assert s.runtime == "local" and s.provider_ready_ms is not None
    assert s.provider_ready_ms.min >= 300
    assert "fake tracer serving on 127.0.0.1" in (tmp_path / "logs/tracers-002.log").read_text()


def test_each_run_gets_its_own_key_and_token_and_tracers_get_neither(tmp_path: Path) -> None:
    envs = []
    for n in range(2):
        fake = Fake()
        run(tmp_path / f"run-{n}", fake=fake)
        assert fake.runtime is not None
        envs.append({c.spec.name: dict(c.spec.env) for c in fake.runtime.components})
    first, second = envs
    assert first["backend"]["DD_API_KEY"] != second["backend"]["DD_API_KEY"]
    assert first["backend"]["RC_BACKEND_ADMIN_TOKEN"] != second["backend"]["RC_BACKEND_ADMIN_TOKEN"]
    for env in envs:
        assert env["agent"]["DD_API_KEY"] == env["backend"]["DD_API_KEY"]
        assert "RC_BACKEND_ADMIN_TOKEN" not in env["agent"]
        tracer = env["tracers-000"]
        assert not {"DD_API_KEY", "RC_BACKEND_ADMIN_TOKEN"} & set(tracer)
    secrets = [env["backend"][k] for env in envs for k in ("DD_API_KEY", "RC_BACKEND_ADMIN_TOKEN")]
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert not any(secret in written for secret in secrets), "no secret in the results"
