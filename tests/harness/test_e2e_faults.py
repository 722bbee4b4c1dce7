"""End-to-end faults: the real services as local processes, 12 tracers in 4 processes, one run
per fault kind, each asserting the outcome counts exactly (and the fault's mark on the times).

Shared shape: tracers poll at once and every second (``go-2.10`` profile, 1 s interval), the
backend recommends a 1 s refresh interval (so the agent refreshes every second and its bypass
limiter window is 1 s). Backend faults use a ramp (tracer i starts i x 0.5 s after the boot):
the tracers that started during the fault get their config only after it, from the bypass
refresh of a tracer that starts after it, as the real agent would do it (a failed refresh adds
to the backoff of the periodic one, never to a bypass).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results.summary import Counts, Summary
from harness.run.runner import RunResult, run_scenario
from harness.runtime.local import LocalRuntime
from harness.scenario.model import load_scenario
from tests.harness.test_e2e_local import processes_of_run

pytestmark = pytest.mark.e2e

FAST = [
    "fleet.tracers=12",
    "client.profile=go-2.10",
    "client.poll_interval_s=1",
    "backend.agent_refresh_interval_s=1",
    "timeouts.run_s=20",
]
RAMP = ["fleet.boot=ramp", "fleet.ramp_s=6"]  # tracer i starts at i x 0.5 s


def run(tmp_path: Path, faults: str, *overrides: str) -> RunResult:
    scenario = load_scenario("baseline", [*FAST, *overrides, f"faults={faults}"])
    return run_scenario(
        scenario,
        tmp_path,
        lambda run_id, log_dir: LocalRuntime(run_id, log_dir=log_dir),
        tracers_per_process=3,
    )


def ready_after_boot_s(result: RunResult) -> list[float]:
    """Per tracer, when it turned ready, in seconds from the boot instant."""
    out = []
    for i, row in enumerate(result.samples):
        assert row.provider_ready_ms is not None, f"tracer {i} is not ready"
        out.append(i * 0.5 + row.provider_ready_ms / 1000.0)
    return out


def injected(summary: Summary, kind: str) -> float:
    return summary.backend.get(f'backend_rc_faults_injected_total{{kind="{kind}"}}', 0.0)


@pytest.mark.parametrize(
    ("fault", "counter"),
    [
        ("{kind: backend_outage, at_s: 0, duration_s: 3}", "outage"),
        ("{kind: backend_errors, at_s: 0, duration_s: 3, rate: 1, status: 503}", "error"),
        ("{kind: backend_429, at_s: 0, duration_s: 3}", "rate_limit"),
        ("{kind: bad_payload, at_s: 0, duration_s: 3, corruption: hash}", "bad_payload"),
        ("{kind: bad_payload, at_s: 0, duration_s: 3, corruption: signature}", "bad_payload"),
        ("{kind: bad_payload, at_s: 0, duration_s: 3, corruption: ufc}", "bad_payload"),
    ],
)
def test_a_backend_fault_holds_back_every_tracer_that_boots_during_it(
    tmp_path: Path, fault: str, counter: str
) -> None:
    result = run(tmp_path, f"[{fault}]", *RAMP)
    s = result.summary
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert injected(s, counter) >= 1
    during = ready_after_boot_s(result)[:6]  # started at 0 .. 2.5 s, inside the window
    assert min(during) >= 3.0, during
    assert s.faults[0].applied_at_s == 0.0 and s.faults[0].ended_at_s == 3.0


def test_backend_latency_delays_every_first_config(tmp_path: Path) -> None:
    result = run(tmp_path, "[{kind: backend_latency, at_s: 0, duration_s: 10, latency_ms: 2500}]")
    s = result.summary
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min >= 2500
    assert injected(s, "latency") >= 1


def test_an_agent_restart_makes_the_fleet_wait_for_the_new_agent(tmp_path: Path) -> None:
    s = run(tmp_path, "[{kind: agent_restart, at_s: 0, down_s: 3}]").summary
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min >= 3000
    [record] = s.faults
    assert record.ended_at_s is not None and record.ended_at_s >= 3.0
    assert "healthy again at" in record.detail
    assert s.status == "complete"


def test_an_agent_kill_leaves_every_tracer_waiting(tmp_path: Path) -> None:
    s = run(tmp_path, "[{kind: agent_kill, at_s: 0}]", "timeouts.run_s=5").summary
    assert s.counts == Counts(success=0, timeout=12, error=0, crashed=0)
    assert s.status == "complete" and s.failures == ()


def test_tracer_kill_crashes_exactly_the_killed_processes_tracers(tmp_path: Path) -> None:
    result = run(tmp_path, "[{kind: tracer_kill, at_s: 0, fraction: 0.25}]")
    s = result.summary
    assert s.counts == Counts(success=9, timeout=0, error=0, crashed=3)
    killed = {row.component for row in result.samples if row.outcome == "crashed"}
    assert len(killed) == 1 and killed.pop() in s.faults[0].detail
    assert s.health.crashes == 3


def test_a_network_cut_holds_the_fleet_back_until_it_ends(tmp_path: Path) -> None:
    # requests sent during the cut hang until the client's HTTP timeout (2 s here)
    cut = "[{kind: network_cut, at_s: 0, duration_s: 3}]"
    s = run(tmp_path, cut, "client.request_timeout_s=2").summary
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min >= 3000
    assert (tmp_path / "logs" / "fault-proxy.log").is_file()


def test_network_latency_delays_every_answer_of_the_agent(tmp_path: Path) -> None:
    fault = "[{kind: network_latency, at_s: 0, duration_s: 15, latency_ms: 1500}]"
    s = run(tmp_path, fault).summary
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min >= 1500


def test_kill_9_of_the_agent_mid_run_fails_the_run_with_its_code_and_log(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--runtime", "local", "--tracers", "12",
         "--tracers-per-process", "6", "--timeout", "60", "--out", str(out),
         "--set", "client.poll_interval_s=30"],  # nobody ready before the kill
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    run_id = ""
    for line in proc.stderr:  # "scenario: baseline, 12 tracers, run id <id>"
        if "run id" in line:
            run_id = line.split("run id")[1].strip()
        if line.startswith("[") and "ready 0/12" in line:  # collecting: past the boot
            break
    agent = [pid for pid in processes_of_run(run_id)
             if b"agent" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]  # fmt: skip
    assert len(agent) == 1
    time.sleep(1)  # a second into the collection
    os.kill(agent[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr[-2000:]
    assert "=== FAILED: agent exited with code -9" in stdout
    assert "--- last log lines of agent ---" in stdout
    assert "agent model (legacy policy) serving on" in stdout  # the agent's own log lines
    assert "error: the run failed: agent exited with code -9" in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["failures"][0]["component"] == "agent"
    assert summary["failures"][0]["exit_code"] == -9
    assert summary["duration_s"] < 30  # it stopped at once instead of waiting out the 60 s
    assert processes_of_run(run_id) == []
