"""The fault scheduler and the component watch (harness.run.faults), driven through whole runs
on the in-memory runtime with a fast-forward clock: no process, no socket, no sleep.

The fake tracers turn ready 1.5 s after the boot (0.01 s more per tracer of a process) unless a
fault blocks delivery then (harness.runtime.fake), so every fault shows in their ready times.
"""

import asyncio
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from harness.errors import HarnessError, ScenarioError
from harness.report.text import render_text
from harness.results.summary import Counts, FaultRecord
from harness.run.faults import FaultScheduler, backend_window
from harness.run.release import MIN_LEAD_S
from harness.run.runner import RunResult, run_scenario
from harness.runtime.base import ComponentHandle, ComponentSpec, Runtime
from harness.runtime.fake import FakeRuntime, FakeScript
from harness.scenario.faults import BackendLatency, BadPayload
from harness.scenario.model import load_scenario
from rc_protocol.clock import FastForwardClock

START = 1_800_000_000.0
BOOT = START + MIN_LEAD_S
"""The boot instant of these runs: the fleet is ready at once on the fast-forward clock and
released the shortest lead ahead (harness.run.release)."""


class Fake:
    """A runtime factory building one :class:`FakeRuntime`, kept for inspection."""

    def __init__(self, script: FakeScript | None = None, kinds: frozenset[str] | None = None):
        self.clock = FastForwardClock(start_wall=START)
        self.script = script or FakeScript(ready_after_s=1.5)
        self.kinds = kinds
        self.runtime: FakeRuntime | None = None

    def __call__(self, run_id: str, log_dir: Path) -> Runtime:
        self.runtime = FakeRuntime(run_id, self.clock, self.script)
        if self.kinds is not None:
            self.runtime.fault_kinds = self.kinds
        return self.runtime


def run(tmp_path: Path, faults: str, *overrides: str, fake: Fake | None = None) -> RunResult:
    scenario = load_scenario(
        "baseline",
        ["fleet.tracers=8", "timeouts.run_s=10", f"faults={faults}", *overrides],
    )
    fake = fake or Fake()
    return run_scenario(
        scenario,
        tmp_path,
        fake,
        run_id="faultrun",
        clock=fake.clock,
        boot_margin=lambda processes, start_cost_s: 1.0,
        tracers_per_process=2,
    )


def ready_ms(result: RunResult) -> list[int | None]:
    return [row.provider_ready_ms for row in result.samples]


def test_a_backend_window_is_armed_from_the_boot_instant(tmp_path: Path) -> None:
    fake = Fake()
    result = run(tmp_path, "[{kind: backend_outage, at_s: 0, duration_s: 3}]", fake=fake)
    assert fake.runtime is not None
    [armed] = [line for line in fake.runtime.components[0].log if "window" in line]
    assert armed == f"fake backend: outage window {BOOT:.3f}-{BOOT + 3:.3f}"
    assert set(ready_ms(result)) == {3000}  # every tracer waited for the end of the outage
    [record] = result.summary.faults
    assert (record.kind, record.applied_at_s, record.ended_at_s) == ("backend_outage", 0.0, 3.0)
    assert record.detail == f"armed in the backend {MIN_LEAD_S:.3f} s before the boot"


class ArmedWhenTracersStart(FakeRuntime):
    """Counts the backend's armed windows at the moment the tracer processes are started."""

    windows: int | None = None

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
        if specs and specs[0].role == "tracer" and self.windows is None:
            self.windows = sum("window" in line for line in self.components[0].log)
        return super().start(specs)


def test_without_the_start_signal_backend_windows_are_armed_before_the_tracers_start(
    tmp_path: Path,
) -> None:
    fake = Fake()
    made: list[ArmedWhenTracersStart] = []

    def factory(run_id: str, log_dir: Path) -> Runtime:
        made.append(ArmedWhenTracersStart(run_id, fake.clock, fake.script))
        return made[-1]

    outage = "faults=[{kind: backend_outage, at_s: 0, duration_s: 3}]"
    scenario = load_scenario("baseline", ["fleet.tracers=4", "fleet.boot=as_started", outage])
    result = run_scenario(scenario, tmp_path, factory, clock=fake.clock, tracers_per_process=2)
    assert made[0].windows == 1  # armed before any tracer process was started
    assert set(ready_ms(result)) == {3000}  # the outage held every tracer from its start
    assert result.summary.faults[0].detail == "armed in the backend 0.000 s before the boot"


def test_the_backends_window_settings_count_from_the_boot_too(tmp_path: Path) -> None:
    result = run(tmp_path, "[]", "backend.outage_windows=1-4")
    assert set(ready_ms(result)) == {4000}
    assert [f.kind for f in result.summary.faults] == ["backend_outage"]


def test_an_agent_restart_stops_then_starts_it_and_the_tracers_wait(tmp_path: Path) -> None:
    fake = Fake()
    result = run(tmp_path, "[{kind: agent_restart, at_s: 1, down_s: 2}]", fake=fake)
    assert fake.runtime is not None
    assert fake.runtime.actions[:2] == [f"{BOOT + 1:.3f} stopped agent",
                                        f"{BOOT + 3:.3f} revive agent"]  # fmt: skip
    assert set(ready_ms(result)) == {3000}
    [record] = result.summary.faults
    assert (record.applied_at_s, record.end_s, record.ended_at_s) == (1.0, 3.0, 3.0)
    assert record.detail == "healthy again at 3.000 s"
    assert result.summary.status == "complete" and result.summary.failures == ()


def test_a_planned_agent_kill_is_not_a_failure(tmp_path: Path) -> None:
    result = run(tmp_path, "[{kind: agent_kill, at_s: 0.5}]")
    s = result.summary
    assert s.counts == Counts(success=0, timeout=8, error=0, crashed=0)
    assert s.status == "complete" and s.failures == ()
    assert s.faults[0].applied_at_s == 0.5
    assert any("agent's counters could not be scraped" in w for w in s.warnings)


def test_tracer_kill_crashes_exactly_the_killed_processes_tracers(tmp_path: Path) -> None:
    fake = Fake()
    result = run(tmp_path, "[{kind: tracer_kill, at_s: 0.5, fraction: 0.25}]", fake=fake)
    s = result.summary
    assert s.counts == Counts(success=6, timeout=0, error=0, crashed=2)
    killed = {row.component for row in result.samples if row.outcome == "crashed"}
    assert len(killed) == 1
    assert s.faults[0].detail == f"killed 1 of 4 tracer processes (2 tracers): {killed.pop()}"
    assert s.health.crashes == 2


def test_tracer_kill_chooses_by_its_seed(tmp_path: Path) -> None:
    chosen = set()
    for seed in range(6):
        result = run(tmp_path / str(seed),
                     f"[{{kind: tracer_kill, at_s: 0, fraction: 0.5, seed: {seed}}}]")  # fmt: skip
        chosen.add(result.summary.faults[0].detail)
    assert len(chosen) > 1  # different seeds choose different processes
    again = run(tmp_path / "again", "[{kind: tracer_kill, at_s: 0, fraction: 0.5, seed: 5}]")
    assert again.summary.faults[0].detail in chosen


def test_a_network_cut_goes_through_the_link_the_tracers_were_given(tmp_path: Path) -> None:
    fake = Fake()
    result = run(tmp_path, "[{kind: network_cut, at_s: 1, duration_s: 1.5}]", fake=fake)
    assert fake.runtime is not None
    tracer = fake.runtime.components[2]
    assert tracer.spec.env["RC_STUB_AGENT_URL"] == "http://agent-link.fake.invalid"
    assert fake.runtime.actions[:2] == [f"{BOOT + 1:.3f} cut", f"{BOOT + 2.5:.3f} restore"]
    assert set(ready_ms(result)) == {2500}
    assert result.summary.faults[0].ended_at_s == 2.5


def test_without_network_faults_the_tracers_talk_to_the_agent_directly(tmp_path: Path) -> None:
    fake = Fake()
    run(tmp_path, "[]", fake=fake)
    assert fake.runtime is not None
    assert fake.runtime.components[2].spec.env["RC_STUB_AGENT_URL"] == "http://agent.fake.invalid"


def test_a_fault_at_the_boot_is_applied_just_before_it(tmp_path: Path) -> None:
    fake = Fake()
    result = run(tmp_path, "[{kind: network_cut, at_s: 0, duration_s: 2}]", fake=fake)
    [record] = result.summary.faults
    assert record.applied_at_s is not None and record.applied_at_s <= 0
    assert set(ready_ms(result)) == {2000}


def test_faults_after_every_tracer_is_ready_are_still_applied(tmp_path: Path) -> None:
    result = run(tmp_path, "[{kind: agent_restart, at_s: 6}]")
    assert result.summary.counts.success == 8
    assert result.summary.faults[0].applied_at_s == 6.0
    assert result.summary.duration_s >= 6.0


def test_a_fault_after_the_end_of_the_run_is_reported_as_not_applied(tmp_path: Path) -> None:
    result = run(tmp_path, "[{kind: agent_kill, at_s: 50}, {kind: backend_outage, at_s: 40, "
                 "duration_s: 5}, {kind: network_cut, at_s: 8, duration_s: 30}]")  # fmt: skip
    by_kind = {f.kind: f for f in result.summary.faults}
    assert by_kind["agent_kill"].applied_at_s is None
    assert by_kind["agent_kill"].detail.startswith("not applied: the run ended at 10.")
    assert by_kind["backend_outage"].applied_at_s is None
    cut = by_kind["network_cut"]
    assert cut.applied_at_s == 8.0 and cut.ended_at_s is None  # still cut when the run ended
    assert "agent_kill  50 s -> not applied: the run ended at 10." in result.report
    assert "network_cut  8-38 s -> 8.000-(still on) s" in result.report


def test_an_unplanned_agent_death_fails_the_run_with_its_code_and_log(tmp_path: Path) -> None:
    # the agent starts at the clock's start; it dies 1 s after the boot, on a scrape tick
    fake = Fake(FakeScript(ready_after_s=5.0, die_after_s={"agent": (MIN_LEAD_S + 1, -9)}))
    result = run(tmp_path, "[]", fake=fake)
    s = result.summary
    assert s.status == "failed"
    [failure] = s.failures
    assert (failure.component, failure.exit_code, failure.at_s) == ("agent", -9, 1.0)
    assert "fake agent agent: started" in failure.log_tail
    assert s.duration_s < 2.0  # collection stopped at once, not at timeouts.run_s
    assert s.counts.total == 8
    assert s.failure_reason() == (
        "agent exited with code -9 at 1.0 s after the boot without the scenario asking for it"
    )
    assert "=== FAILED: agent exited with code -9 at 1.0 s (not planned) ===" in result.report
    assert "--- last log lines of agent ---\nfake agent agent: started" in result.report
    assert render_text(s) == (tmp_path / "report.txt").read_text()


def test_a_backend_death_fails_the_run_too(tmp_path: Path) -> None:
    fake = Fake(FakeScript(ready_after_s=5.0, die_after_s={"backend": (3.0, 1)}))
    s = run(tmp_path, "[]", fake=fake).summary
    assert s.status == "failed" and [f.component for f in s.failures] == ["backend"]


def test_an_agent_restart_is_not_taken_for_a_death(tmp_path: Path) -> None:
    s = run(tmp_path, "[{kind: agent_restart, at_s: 0.5, down_s: 3}]").summary
    assert s.status == "complete"


def test_a_runtime_that_cannot_apply_a_fault_refuses_the_scenario_first(tmp_path: Path) -> None:
    fake = Fake(kinds=frozenset({"backend_outage"}))
    with pytest.raises(ScenarioError, match="cannot apply network_latency") as err:
        run(tmp_path, "[{kind: network_latency, at_s: 0, duration_s: 1, latency_ms: 100}]",
            fake=fake)  # fmt: skip
    assert "--runtime local" in str(err.value)
    assert fake.runtime is not None and fake.runtime.components == []
    # nothing was collected, so nothing is left: no results folder, no staged one beside it
    assert list(tmp_path.iterdir()) == []
    assert [p.name for p in tmp_path.parent.iterdir() if tmp_path.name in p.name] == [tmp_path.name]


def test_faults_are_logged_with_their_real_time(tmp_path: Path) -> None:
    run(tmp_path, "[{kind: network_cut, at_s: 1, duration_s: 1}]")
    lines = (tmp_path / "logs" / "faults.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "network_cut applied at 1.000 s",
        "network_cut ended at 2.000 s",
    ]


@pytest.mark.parametrize(
    ("event", "body"),
    [
        (BackendLatency(kind="backend_latency", at_s=2, duration_s=1, latency_ms=800, spread_ms=50),
         {"kind": "latency", "start_s": 2.5, "end_s": 3.5, "latency_ms": 800,
          "latency_spread_ms": 50}),
        (BadPayload(kind="bad_payload", at_s=0, duration_s=4, corruption="signature"),
         {"kind": "bad_payload", "start_s": 0.5, "end_s": 4.5, "corruption": "signature"}),
    ],
)  # fmt: skip
def test_backend_window_bodies(event: BackendLatency | BadPayload, body: dict[str, object]) -> None:
    assert backend_window(event, boot_in_s=0.5) == body


def test_fault_records_load_from_older_summaries() -> None:
    assert FaultRecord(kind="agent_kill", at_s=1).applied_at_s is None


def test_a_window_the_backend_refuses_is_a_clear_error() -> None:
    clock = FastForwardClock(start_wall=BOOT - 2)
    runtime = FakeRuntime("r", clock)
    [backend, agent] = runtime.start([ComponentSpec("backend", "backend", "m"),
                                      ComponentSpec("agent", "agent", "m")])  # fmt: skip
    refuse = httpx.MockTransport(lambda request: httpx.Response(400, json={"error": "nope"}))
    event = load_scenario("baseline", ["faults=[{kind: backend_outage, at_s: 1, duration_s: 2}]"])

    async def arm() -> None:
        async with httpx.AsyncClient(transport=refuse) as client:
            scheduler = FaultScheduler(
                event.faults, runtime, client, clock, BOOT, backend, agent, []
            )
            await scheduler.arm_backend()

    with pytest.raises(HarnessError, match=r"the backend refused backend_outage at 1-3 s .*400"):
        asyncio.run(arm())
