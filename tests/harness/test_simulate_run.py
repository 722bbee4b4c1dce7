"""Whole simulations, small: the results folder, the same rules as the real-time runtimes
(first poll, block budgets), determinism, quiet fleets, and a backend below the peak demand."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness.errors import SimulationError
from harness.report.text import render_text
from harness.results.folder import load_summary
from harness.results.samples import READY, read_samples
from harness.scenario.model import load_scenario
from harness.simulate.engine import SimProgress
from harness.simulate.fleet import SimOptions, tracer_offsets
from harness.simulate.loop import VirtualTimeLoop
from harness.simulate.run import SimResult, simulate, stop_every_task

T0 = 1_700_000_030.0  # 30 s into a minute: the agents' 60 s limiter windows do not turn over


def run(tmp_path: Path, name: str, *sets: str, agents: int = 1, **options: object) -> SimResult:
    scenario = load_scenario(name, ["fleet.tracers=10", *sets])
    keep = bool(options.pop("keep_polling", False))
    opts = SimOptions(agents=agents, **options)  # type: ignore[arg-type]
    out = tmp_path / f"{name}-{agents}-{len(list(tmp_path.iterdir()))}"
    return simulate(scenario, opts, out, run_id="r1", start_wall=T0, keep_polling=keep)


def ready_ms(result: SimResult) -> list[int]:
    return sorted(r.provider_ready_ms for r in result.samples if r.provider_ready_ms is not None)


def test_baseline_writes_a_results_folder_every_reader_reads(tmp_path: Path) -> None:
    result = run(tmp_path, "baseline")
    out = result.out_dir
    for name in ("scenario.yaml", "samples.csv", "summary.json", "report.txt", "report.html"):
        assert (out / name).is_file(), name
    summary = load_summary(out)
    assert summary == result.summary
    assert summary.runtime == "simulate" and summary.tracers == 10 and summary.agents == 1
    assert summary.counts.success == 10 and summary.success_ratio == 1.0
    assert render_text(summary) == (out / "report.txt").read_text()
    assert "=== BACKEND (/configurations" in result.report
    html = (out / "report.html").read_text()
    assert "Backend: calls per second" in html and "simulated in virtual time" in html
    assert [r.outcome for r in read_samples(out / "samples.csv")] == [READY] * 10
    assert summary.simulation is not None and summary.simulation.virtual_s > 5
    assert summary.agent['agent_rc_bypass_total{lane="standard",result="refreshed"}'] >= 1


def test_baseline_first_poll_after_one_interval_and_the_2s_budget(tmp_path: Path) -> None:
    times = ready_ms(run(tmp_path, "baseline"))
    # go-2.5: first poll 5 s after start; a new client waits at most its 2 s block budget.
    assert times[0] == 5000 and times[-1] == 7000


def test_phase3_fast_lane_within_its_500ms_budget(tmp_path: Path) -> None:
    times = ready_ms(run(tmp_path, "phase3"))
    assert len(times) == 10 and times[-1] == 500 and times[0] < 500


def test_same_seed_same_simulation(tmp_path: Path) -> None:
    a = run(tmp_path, "phase1", agents=3, seed=7)
    b = run(tmp_path, "phase1", agents=3, seed=7)
    assert a.samples == b.samples
    assert a.summary.backend_view == b.summary.backend_view


def test_quiet_fleets_change_no_tracer_measurement(tmp_path: Path) -> None:
    spread = {"agents": 3, "agent_boot": "ramp", "boot_spread_s": 20.0}
    quiet = run(tmp_path, "phase3", **spread)  # type: ignore[arg-type]
    polling = run(tmp_path, "phase3", keep_polling=True, **spread)  # type: ignore[arg-type]
    assert [r.provider_ready_ms for r in quiet.samples] == [
        r.provider_ready_ms for r in polling.samples
    ]
    key = 'agent_rc_requests_total{lane="fast",outcome="no_update"}'
    assert polling.summary.agent[key] > quiet.summary.agent.get(key, 0.0)


def test_agents_share_one_backend_and_boot_spread(tmp_path: Path) -> None:
    result = run(tmp_path, "baseline", agents=4, agent_boot="ramp", boot_spread_s=20.0)
    summary = result.summary
    assert summary.tracers == 40 and summary.counts.success == 40
    assert {r.component for r in result.samples} == {f"agent-{i:05d}" for i in range(4)}
    view = summary.backend_view
    assert view is not None and view.calls >= 4 * 2  # each agent: start-up and a bypass
    starts = sorted({round(r.start_wall or 0.0) for r in result.samples})
    assert [s - starts[0] for s in starts] == [0, 5, 10, 15]


def test_a_backend_below_peak_demand_rate_limits_and_delays_readiness(tmp_path: Path) -> None:
    free = run(tmp_path, "baseline", agents=20, agent_boot="all_at_once")
    capped = run(
        tmp_path,
        "baseline",
        "backend.capacity_calls_per_s=2",
        agents=20,
        agent_boot="all_at_once",
    )
    assert free.summary.backend_view is not None and capped.summary.backend_view is not None
    assert free.summary.backend_view.rejected == 0
    assert capped.summary.backend_view.rejected > 0
    assert "Rejected (429): 0" not in capped.report
    # A refused bypass refresh is a refresh error: the agent backs off (30 s * 2^n) while its
    # tracers, now active clients, get no other bypass: most wait past the run.
    assert free.summary.counts.success == 200
    assert capped.summary.counts.success < 100
    assert (capped.out_dir / "logs" / "simulate.log").read_text().count("429") > 0


def test_progress_reports_the_whole_fleet(tmp_path: Path) -> None:
    seen: list[SimProgress] = []
    scenario = load_scenario("phase3", ["fleet.tracers=5"])
    simulate(
        scenario,
        SimOptions(agents=2),
        tmp_path / "p",
        run_id="r",
        start_wall=T0,
        progress=seen.append,
        write_html=False,
    )
    assert seen and seen[-1].total == 10 and seen[-1].ready == 10


def test_ramp_spreads_tracers_of_an_agent() -> None:
    scenario = load_scenario("baseline", ["fleet.tracers=4", "fleet.boot=ramp", "fleet.ramp_s=2"])
    assert tracer_offsets(scenario) == [0.0, 0.5, 1.0, 1.5]


def test_an_interrupted_simulation_raises_the_interrupt(tmp_path: Path) -> None:
    calls = {"n": 0}

    def interrupt(p: SimProgress) -> None:
        calls["n"] += 1
        if p.virtual_s >= 3.0:
            raise KeyboardInterrupt

    scenario = load_scenario("baseline", ["fleet.tracers=5"])
    try:
        simulate(
            scenario,
            SimOptions(agents=4, agent_boot="ramp", boot_spread_s=20.0),
            tmp_path / "i",
            run_id="r",
            start_wall=T0,
            progress=interrupt,
            write_html=False,
        )
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    assert calls["n"] >= 1


def test_stop_every_task_leaves_none_pending() -> None:
    loop = VirtualTimeLoop()
    tasks = [loop.create_task(asyncio.sleep(60.0 * i)) for i in range(1, 4)]
    loop.run_until_complete(asyncio.sleep(1.0))
    stop_every_task(loop)
    assert all(t.cancelled() for t in tasks) and not asyncio.all_tasks(loop)
    loop.close()


def test_real_tracers_cannot_be_simulated_and_offsets_are_replayed() -> None:
    real = load_scenario("baseline", ["fleet.tracers=2", "fleet.kind=ddtrace-py"])
    with pytest.raises(SimulationError, match="stub tracers only"):
        tracer_offsets(real)
    replay = load_scenario("baseline", ["fleet.tracers=2", "fleet.start_offsets_ms=[0, 250]"])
    assert tracer_offsets(replay) == [0.0, 0.25]


@pytest.mark.parametrize(
    "override",
    ["faults=[{kind: agent_kill, at_s: 1}]", "backend.outage_windows=0-5"],
)
def test_a_scenario_with_faults_is_refused_naming_them(override: str) -> None:
    faulty = load_scenario("baseline", ["fleet.tracers=2", override])
    with pytest.raises(
        SimulationError, match=r"faults \((agent_kill|backend_outage)\).*harness run"
    ):
        tracer_offsets(faulty)


UNAVAILABLE = 'agent_rc_requests_total{lane="standard",outcome="error_unavailable"}'


def test_with_fleet_rc_serves_rc_unavailable_s_after_the_boot_instant(tmp_path: Path) -> None:
    # loadtest-setup (fleet.agent_start: with_fleet): harness run passes the agent
    # RC_AGENT_RC_AVAILABLE_AT = boot instant + agent.rc_unavailable_s (runner.py), so RC serves
    # 16 s after the boot, not 16 s after the agent's own start (agent_lead_s before the boot).
    result = run(tmp_path, "loadtest-setup", "fleet.tracers=1", "fleet.ramp_s=0")
    summary = result.summary
    # go-2.5 polls 5, 10 and 15 s after its start (500 each: RC not serving yet), then 20 s:
    # a new client, whose bypass refresh runs at once (the start-up refresh was at 16 s).
    assert summary.agent[UNAVAILABLE] == 3
    assert ready_ms(result) == [20000]
    view = summary.backend_view
    assert view is not None and view.calls_per_s[0][0] == 16  # the start-up refresh's second


def test_with_fleet_a_poll_due_when_rc_starts_serving_is_served(tmp_path: Path) -> None:
    # RC serves from boot + 15 s on: the poll due at that very instant is served, as in real
    # time, where it arrives a moment after it (no float noise of a wall-clock instant).
    sets = ("fleet.tracers=1", "fleet.ramp_s=0", "agent.rc_unavailable_s=15")
    result = run(tmp_path, "loadtest-setup", *sets)
    assert result.summary.agent[UNAVAILABLE] == 2  # the polls at 5 and 10 s
