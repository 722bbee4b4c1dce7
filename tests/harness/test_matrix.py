"""The matrix: its figures and matrix.json (harness.studies.matrix), and running it on the
in-memory runtime with a fast-forward clock (harness.run.matrix): cells, interleaved repeats,
matrix.json after every run, failed runs, interrupts, thresholds on cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ResultsError, ScenarioError, ThresholdError
from harness.gates.thresholds import parse_threshold
from harness.run.matrix import MatrixPlan, plan_matrix, run_matrix
from harness.runtime.base import Runtime
from harness.runtime.fake import FakeRuntime, FakeScript
from harness.scenario.designs import AGENT_DESIGNS, agent_design, client_variant
from harness.studies.matrix import (
    MATRIX_JSON,
    MatrixDoc,
    evaluate_cells,
    read_matrix_json,
    run_figures,
    scope_matches,
    stat,
)
from rc_protocol.clock import FastForwardClock
from tests.harness.factories import latency, make_summary

AGENT_COUNTERS = {
    'agent_rc_requests_total{lane="standard",outcome="update"}': 150.0,
    'agent_rc_requests_total{lane="standard",outcome="error_unavailable"}': 50.0,
    'agent_rc_bypass_total{lane="standard",result="refreshed"}': 3.0,
    'agent_rc_bypass_total{lane="fast",result="refreshed"}': 1.0,
    'agent_rc_bypass_total{lane="standard",result="timed_out"}': 97.0,
}
BACKEND_COUNTERS = {
    'backend_rc_requests_total{endpoint="configurations",status="200"}': 4.0,
    'backend_rc_requests_total{endpoint="configurations",status="503"}': 1.0,
    'backend_rc_requests_total{endpoint="org",status="200"}': 1.0,
}


def test_run_figures_read_latency_success_and_the_cost_of_the_boot() -> None:
    summary = make_summary(
        provider_ready_ms=latency(min=500, p50=7000, p90=7100, max=7200),
        agent=AGENT_COUNTERS,
        backend=BACKEND_COUNTERS,
    )
    f = run_figures(summary)
    assert (f.ready_min_ms, f.ready_p50_ms, f.ready_p90_ms, f.ready_max_ms) == (
        500.0,
        7000.0,
        7100.0,
        7200.0,
    )
    assert f.backend_calls == 5.0  # /configurations only, every status
    assert f.agent_requests_per_tracer == 2.0  # 200 requests / 100 tracers
    assert (f.bypass_refreshed, f.bypass_timed_out, f.bypass_rate_limited) == (4.0, 97.0, None)
    assert f.refused_unavailable == 50.0


def test_run_figures_of_a_run_without_counters_or_ready_tracers() -> None:
    f = run_figures(make_summary(provider_ready_ms=None, success_ratio=0.0))
    assert (
        f.ready_p50_ms is None and f.backend_calls is None and f.agent_requests_per_tracer is None
    )


def test_stat_is_the_median_and_the_spread() -> None:
    assert stat([]).median is None and stat([None]).runs == 0
    s = stat([4.0, 2.0, 9.0])
    assert (s.median, s.low, s.high, s.runs) == (4.0, 2.0, 9.0, 3)


def test_scopes_are_globs_over_cell_ids() -> None:
    t = parse_threshold("baseline/*/fastlane: provider_ready.p99 < 1s")
    assert scope_matches(t, "baseline/go-2.5/fastlane")
    assert not scope_matches(t, "baseline/go-2.5/fastlane-any")
    assert scope_matches(parse_threshold("success_ratio >= 1"), "anything/at/all")


# ---- running -------------------------------------------------------------------------------


class Factories:
    """A runtime factory per run, in run order, each a FakeRuntime with its own script (so that
    cells differ); ``interrupt_at`` raises Ctrl-C when that run starts (1-based)."""

    def __init__(self, scripts: list[FakeScript], interrupt_at: int | None = None) -> None:
        self.clock = FastForwardClock(start_wall=1_800_000_000.0)
        self.scripts = scripts
        self.interrupt_at = interrupt_at
        self.made = 0

    def __call__(self, run_id: str, log_dir: Path) -> Runtime:
        self.made += 1
        if self.made == self.interrupt_at:
            raise KeyboardInterrupt
        return FakeRuntime(run_id, self.clock, self.scripts[(self.made - 1) % len(self.scripts)])


def small_plan(repeat: int = 1, agents: tuple[str, ...] = ("legacy", "fastlane")) -> MatrixPlan:
    return plan_matrix(
        ["baseline"],
        [client_variant("go-2.5"), client_variant("ddtrace-py-4.16")],
        [agent_design(a) for a in agents],
        repeat=repeat,
        overrides=["fleet.tracers=4", "timeouts.run_s=20"],
    )


def run(plan: MatrixPlan, out: Path, factories: Factories, **kw: object) -> MatrixDoc:
    lines: list[str] = []
    outcome = run_matrix(
        plan,
        out_dir=out,
        runtime_factory=factories,
        runtime_name="fake",
        per_process=2,
        command="harness matrix --test",
        matrix_id="m1",
        clock=factories.clock,
        notify=lines.append,
        load_average=lambda: (1.5, 1.0, 0.5),
        **kw,  # type: ignore[arg-type]
    )
    assert outcome.html is not None and outcome.html.is_file()
    return outcome.doc


def test_plan_builds_every_cell_in_order_and_refuses_bad_axes() -> None:
    plan = small_plan()
    assert [c.id for c in plan.cells] == [
        "baseline/go-2.5/legacy",
        "baseline/go-2.5/fastlane",
        "baseline/ddtrace-py-4.16/legacy",
        "baseline/ddtrace-py-4.16/fastlane",
    ]
    assert plan.cells[3].scenario.client.request_timeout_s == 2.0
    assert plan.cells[3].scenario.agent.policy == "fastlane"
    assert [c.language for c in plan.clients] == ["go", "python"]
    with pytest.raises(ScenarioError, match="listed twice"):
        plan_matrix(["baseline"], [client_variant("go-2.5")] * 2, [AGENT_DESIGNS["legacy"]],
                    repeat=1)  # fmt: skip
    with pytest.raises(ScenarioError, match="unknown key"):
        plan_matrix(["baseline"], [client_variant("go-2.5")], [AGENT_DESIGNS["legacy"]],
                    repeat=1, overrides=["fleet.tracerz=3"])  # fmt: skip


def test_a_matrix_runs_every_cell_and_saves_its_figures(tmp_path: Path) -> None:
    scripts = [FakeScript(ready_after_s=s) for s in (7.0, 6.0, 2.0, 0.5)]
    doc = run(small_plan(), tmp_path, Factories(scripts))
    assert doc.complete and doc.finished_at is not None
    assert doc.load_average == {"before": (1.5, 1.0, 0.5), "after": (1.5, 1.0, 0.5)}
    p50 = {c.id: c.median("ready_p50_ms") for c in doc.cells}
    assert p50["baseline/go-2.5/legacy"] == pytest.approx(7010.0)  # 7 s + 10 ms per tracer
    assert p50["baseline/ddtrace-py-4.16/fastlane"] == pytest.approx(510.0)
    cell = doc.cells[0]
    assert cell.runs[0].dir == "baseline/go-2.5/legacy/run-1"
    assert (tmp_path / cell.runs[0].dir / "summary.json").is_file()
    assert cell.median("backend_calls") == 4.0  # the fake backend's counters
    assert read_matrix_json(tmp_path / MATRIX_JSON) == doc


def test_repeats_are_interleaved_and_medians_taken(tmp_path: Path) -> None:
    scripts = [FakeScript(ready_after_s=s) for s in (1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0, 8.0)]
    plan = small_plan(repeat=2)
    doc = run(plan, tmp_path, Factories(scripts))
    first = doc.cells[0]
    assert [r.run for r in first.runs] == ["run-1", "run-2"]
    # round 1 ran every cell once (1, 2, 3, 4 s), then round 2 (3, 2, 1, 8 s)
    stats = first.figures["ready_p50_ms"]
    assert (stats.low, stats.high, stats.runs) == (pytest.approx(1010.0), pytest.approx(3010.0), 2)
    assert stats.median == pytest.approx(2010.0)


def test_matrix_json_is_rewritten_after_every_run(tmp_path: Path) -> None:
    seen: list[int] = []

    def note(line: str) -> None:
        if ": provider ready" in line:
            saved = json.loads((tmp_path / MATRIX_JSON).read_text())
            seen.append(sum(len(c["runs"]) for c in saved["cells"]))
            assert saved["complete"] is False

    factories = Factories([FakeScript()])  # the runs' clock is the fake components' clock
    run_matrix(small_plan(), out_dir=tmp_path, runtime_factory=factories,
               runtime_name="fake", per_process=2, command="x", matrix_id="m",
               clock=factories.clock, notify=note)  # fmt: skip
    assert seen == [1, 2, 3, 4]


def test_a_failed_run_is_recorded_and_the_matrix_goes_on(tmp_path: Path) -> None:
    scripts = [FakeScript(), FakeScript(exit_at_start={"agent": 3}), FakeScript(), FakeScript()]
    doc = run(small_plan(), tmp_path, Factories(scripts))
    [(cell, failed)] = doc.failed_runs
    assert cell == "baseline/go-2.5/fastlane"
    assert failed.error is not None and "agent failed to start" in failed.error
    assert doc.cells[1].median("ready_p50_ms") is None
    assert all(c.median("ready_p50_ms") is not None for c in doc.cells if c.id != cell)


def test_an_interrupt_keeps_what_ran(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run(small_plan(), tmp_path, Factories([FakeScript()], interrupt_at=3))
    doc = read_matrix_json(tmp_path / MATRIX_JSON)
    assert not doc.complete and doc.finished_at is None
    assert [len(c.runs) for c in doc.cells] == [1, 1, 0, 0]
    assert (tmp_path / "report.html").is_file()


def test_thresholds_apply_to_the_cells_their_scope_matches(tmp_path: Path) -> None:
    scripts = [FakeScript(ready_after_s=s) for s in (7.0, 0.4, 7.0, 0.4)]
    gates = [parse_threshold("baseline/*/fastlane: provider_ready.p99 < 1s")]
    doc = run(small_plan(), tmp_path, Factories(scripts), thresholds=gates)
    assert [(t.cell, t.passed) for t in doc.thresholds] == [
        ("baseline/go-2.5/fastlane", True),
        ("baseline/ddtrace-py-4.16/fastlane", True),
    ]
    with pytest.raises(ThresholdError, match="matches no cell"):
        run(small_plan(), tmp_path / "again", Factories(scripts),
            thresholds=[parse_threshold("loadtest-setup/*/*: success_ratio >= 1")])  # fmt: skip


def test_evaluate_cells_uses_the_median_of_each_cells_runs() -> None:
    fast = make_summary(provider_ready_ms=latency(min=1, p50=400, max=900))
    slow = make_summary(provider_ready_ms=latency(min=1, p50=9000, max=9900))
    gate = parse_threshold("provider_ready.p50 < 1s")
    results = evaluate_cells([gate], {"a/b/c": [fast, fast, slow], "a/b/d": [slow]})
    assert [(r.scenario, r.passed, r.observed, r.runs) for r in results] == [
        ("a/b/c", True, 400.0, 3),
        ("a/b/d", False, 9000.0, 1),
    ]


def test_a_bad_matrix_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / MATRIX_JSON
    path.write_text('{"kind": "harness-matrix"}')
    with pytest.raises(ResultsError, match=r"is not a matrix\.json written by harness matrix"):
        read_matrix_json(path)
    with pytest.raises(ResultsError, match="not found"):
        read_matrix_json(tmp_path / "nowhere" / MATRIX_JSON)
