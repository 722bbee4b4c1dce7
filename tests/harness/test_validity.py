"""The self-checks: gathering them (harness.run.validity) from canned scrapes, judging them
against the scenario's limits (harness.results.validity), the report's block and the gates."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.gates.thresholds import evaluate, parse_threshold
from harness.report.text import render_text
from harness.results.samples import TracerSample
from harness.results.validity import SPECS, Figure, judge, warnings_of
from harness.run.promtext import parse
from harness.run.release import Release
from harness.run.validity import (
    CpuTimes,
    ValidityProbe,
    histogram,
    intended_offsets,
    minus,
    quantile_ms,
    read_proc_stat,
    start_spread_ms,
)
from harness.runtime.base import ComponentSpec
from harness.runtime.fake import FakeRuntime, FakeScript
from harness.scenario.model import load_scenario
from harness.scenario.validity_limits import ValidityLimits
from rc_protocol.clock import FastForwardClock
from tests.harness.factories import make_summary

T0 = 1_800_000_000.0

# ---- judging ----------------------------------------------------------------------------------


def test_every_figure_is_judged_against_its_limit_and_a_missing_one_is_not() -> None:
    figures = {
        "poll_lateness_p99_ms": Figure(20.0),
        "agent_loop_lag_p99_ms": Figure(5000.0, above=True),
        "agent_cpu_ratio": Figure(0.95),
        "scrape_failures": Figure(0.0),
    }
    v = judge(figures, ValidityLimits(max_agent_cpu_ratio=None))
    assert [c.name for c in v.checks] == list(SPECS)
    by = {c.name: c for c in v.checks}
    assert by["poll_lateness_p99_ms"].ok is True
    assert by["agent_loop_lag_p99_ms"].ok is False and by["agent_loop_lag_p99_ms"].above
    assert by["agent_cpu_ratio"].ok is None and by["agent_cpu_ratio"].limit is None  # off
    assert by["machine_cpu_ratio"].ok is None and by["machine_cpu_ratio"].value is None
    assert [c.name for c in v.failed] == ["agent_loop_lag_p99_ms"]


def test_a_warning_names_the_figure_the_limit_its_key_and_what_helps() -> None:
    v = judge({"release_spread_ms": Figure(180.0)}, ValidityLimits())
    [warning] = warnings_of(v, "container (--tracers-per-container)")
    assert warning.startswith(
        "measurement validity: start spread of the fleet was 180 ms (limit 50 ms, "
        "validity.max_release_spread_ms): the tracers did not start together: more tracers "
        "per container (--tracers-per-container)"
    )


def test_the_report_shows_the_block_and_the_gates_read_it() -> None:
    v = judge({"agent_cpu_ratio": Figure(0.93), "poll_lateness_p99_ms": Figure(2.0)},
              ValidityLimits())  # fmt: skip
    summary = make_summary(validity=v)
    text = render_text(summary)
    assert "=== MEASUREMENT VALIDITY (the harness's own distortion, docs/validity.md) ===" in text
    assert "NOT VALID: 1 of 2 limits exceeded" in text
    assert "tracer polls sent late (p99)                    2 ms  limit 50 ms\n" in text
    assert "93%  limit 80%  EXCEEDED" in text
    failed, lag = evaluate(
        [parse_threshold("validity.failed == 0"),
         parse_threshold("validity.poll_lateness_p99_ms < 10ms")], summary
    )  # fmt: skip
    assert (failed.passed, lag.passed, lag.observed) == (False, True, 2.0)
    old = make_summary()
    assert "MEASUREMENT VALIDITY" not in render_text(old)
    [missing] = evaluate([parse_threshold("validity.failed == 0")], old)
    assert missing.observed is None and "no validity" in missing.why_missing


# ---- gathering --------------------------------------------------------------------------------


def test_histogram_quantiles_are_bucket_upper_bounds_summed_over_series() -> None:
    samples = parse(
        'x_bucket{lane="fast",le="0.001"} 50.0\nx_bucket{lane="fast",le="0.01"} 99.0\n'
        'x_bucket{lane="fast",le="+Inf"} 100.0\nx_bucket{lane="standard",le="0.001"} 100.0\n'
        'x_bucket{lane="standard",le="0.01"} 100.0\nx_bucket{lane="standard",le="+Inf"} 100.0\n'
    )
    buckets = histogram(samples, "x")
    assert buckets == {0.001: 150.0, 0.01: 199.0, float("inf"): 200.0}
    assert quantile_ms(buckets, 0.99) == Figure(10.0)
    assert quantile_ms(minus(buckets, {0.001: 150.0, 0.01: 150.0, float("inf"): 150.0}),
                       0.5) == Figure(10.0)  # fmt: skip
    assert quantile_ms({float("inf"): 0.0}, 0.99) == Figure(None)


def test_the_start_spread_discounts_the_ramp_and_replayed_offsets() -> None:
    rows = [TracerSample(i, "p", start_wall=T0 + i * 0.2) for i in range(5)]
    ramp = load_scenario("baseline", ["fleet.tracers=5", "fleet.boot=ramp", "fleet.ramp_s=1"])
    assert start_spread_ms(rows, intended_offsets(ramp)) == 0
    at_once = load_scenario("baseline", ["fleet.tracers=5"])
    assert start_spread_ms(rows, intended_offsets(at_once)) == 800
    replay = load_scenario(
        "baseline", ["fleet.tracers=5", "fleet.start_offsets_ms=[0,200,400,600,790]"]
    )
    assert start_spread_ms(rows, intended_offsets(replay)) == 10
    assert start_spread_ms([TracerSample(0, "p")], intended_offsets(at_once)) is None


def test_machine_cpu_from_proc_stat(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  100 0 50 800 40 5 5 0 0 0\ncpu0 50 0 25 400 20 2 3 0 0 0\n"
        "cpu1 50 0 25 400 20 3 2 0 0 0\nintr 1\n"
    )
    times = read_proc_stat(stat)
    assert times is not None and times.cores == 2
    assert times.busy_s * 100 == pytest.approx(160) and times.total_s * 100 == pytest.approx(1000)
    assert read_proc_stat(tmp_path / "absent") is None


AGENT_BEFORE = {
    'agent_rc_event_loop_lag_seconds_bucket{le="0.001"}': 10.0,
    'agent_rc_event_loop_lag_seconds_bucket{le="0.1"}': 10.0,
    'agent_rc_event_loop_lag_seconds_bucket{le="+Inf"}': 10.0,
    "agent_rc_process_cpu_seconds_total": 2.0,
    'agent_rc_requests_total{lane="fast",outcome="update"}': 0.0,
}
AGENT_AFTER = {
    'agent_rc_event_loop_lag_seconds_bucket{le="0.001"}': 20.0,
    'agent_rc_event_loop_lag_seconds_bucket{le="0.1"}': 110.0,
    'agent_rc_event_loop_lag_seconds_bucket{le="+Inf"}': 110.0,
    "agent_rc_process_cpu_seconds_total": 10.0,
    'agent_rc_requests_total{lane="fast",outcome="update"}': 30.0,
    'agent_rc_requests_total{lane="fast",outcome="no_update"}': 60.0,
}


def tracer_scrape(cpu: float, requests: float, late_ms: float, starts: int) -> list:  # type: ignore[type-arg]
    le = "0.005" if late_ms <= 5 else "0.2"
    return parse(
        f"tracer_process_cpu_seconds_total {cpu}\n"
        f'tracer_rc_requests_total{{lane="fast",outcome="update"}} {requests}\n'
        f'tracer_rc_poll_lateness_seconds_bucket{{lane="fast",le="{le}"}} {starts}\n'
        f'tracer_rc_poll_lateness_seconds_bucket{{lane="fast",le="+Inf"}} {starts}\n'
    )


async def test_the_probe_turns_two_snapshots_and_the_scrapes_into_figures() -> None:
    clock = FastForwardClock(start_wall=T0)
    counters = dict(AGENT_BEFORE)
    runtime = FakeRuntime("r", clock, FakeScript(agent_counters=counters))
    agent, backend = runtime.start([ComponentSpec("agent", "agent", "agent"),
                                    ComponentSpec("backend", "backend", "b")])  # fmt: skip
    machine = iter([CpuTimes(100.0, 400.0, 2), CpuTimes(118.0, 420.0, 2)])
    probe = ValidityProbe(clock, lambda: next(machine))
    async with runtime.http_client(timeout=2) as client:
        await probe.begin(client, agent, backend)
        probe.on_scrape("tracers-000", tracer_scrape(1.0, 0, 0, 0))
        probe.on_scrape("tracers-000", None)
        probe.on_scrape("tracers-000", tracer_scrape(3.5, 95, 200, 40))
        probe.on_scrape("tracers-001", tracer_scrape(0.5, 0, 0, 0))
        probe.on_scrape("tracers-001", tracer_scrape(2.0, 0, 2, 60))
        await clock.sleep(10.0)
        counters.clear()
        counters.update(AGENT_AFTER)
        await probe.end(client, agent, backend)
    scenario = load_scenario("baseline", ["fleet.tracers=2"])
    rows = [TracerSample(0, "tracers-000", start_wall=T0 + 0.2),
            TracerSample(1, "tracers-001", start_wall=T0 + 0.23)]  # fmt: skip
    release = Release(T0 + 0.2, 0.2, 2, signalled=True, late_s=(0.0, 0.03))
    v = probe.judge(scenario, release, rows)
    value = {c.name: c.value for c in v.checks}
    assert value["poll_lateness_p99_ms"] == 200.0  # 40 of 100 polls in the 200 ms bucket
    assert value["agent_loop_lag_p99_ms"] == 100.0  # of the 100 lags since the release
    assert value["agent_cpu_ratio"] == pytest.approx(0.8)
    assert value["machine_cpu_ratio"] == pytest.approx(0.9)
    assert value["requests_lost"] == 5.0  # the tracers counted 95, the agent 90
    assert value["scrape_failures"] == 1.0
    assert value["release_spread_ms"] == 30.0
    assert v.cpu is not None and (v.cpu.agent_s, v.cpu.tracers_s, v.cpu.cores) == (8.0, 4.0, 2)
    assert v.release is not None and (v.release.late_processes, v.release.max_late_ms) == (1, 30)
    assert {c.name for c in v.failed} == {  # the machine at 90 % is at its limit, not over
        "poll_lateness_p99_ms", "agent_loop_lag_p99_ms", "requests_lost", "scrape_failures",
    }  # fmt: skip


async def test_a_modelled_serve_cost_turns_the_lock_wait_check_off() -> None:
    clock = FastForwardClock(start_wall=T0)
    runtime = FakeRuntime("r", clock, FakeScript())
    agent, backend = runtime.start([ComponentSpec("agent", "agent", "agent"),
                                    ComponentSpec("backend", "backend", "b")])  # fmt: skip
    probe = ValidityProbe(clock)
    async with runtime.http_client(timeout=2) as client:
        await probe.begin(client, agent, backend)
        await probe.end(client, agent, backend)
    scenario = load_scenario("baseline", ["agent.serve_cost_ms=5"])
    v = probe.judge(scenario, Release(T0, 0.2, 1, signalled=True), [])
    lock = v.check("agent_lock_wait_p99_ms")
    assert lock is not None and lock.limit is None and lock.ok is None


def test_the_machine_line_splits_the_busy_cpu_only_when_every_component_is_known() -> None:
    from harness.report.validity import cpu_lines
    from harness.results.validity import Cpu, Validity

    known = Cpu(window_s=10, agent_s=2, backend_s=0.5, tracers_s=6, harness_s=1.5, cores=2,
                machine_busy_s=16)  # fmt: skip
    assert cpu_lines(Validity(cpu=known))[1] == (
        "Machine: 80% busy on 2 cores (this run 50%, other processes 30%)"
    )
    unknown = known.model_copy(update={"agent_s": None})
    assert cpu_lines(Validity(cpu=unknown))[1] == (
        "Machine: 80% busy on 2 cores (this run at least 40%)"
    )
