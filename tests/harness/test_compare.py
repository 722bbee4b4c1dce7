"""harness compare: table, ratios, medians and spread over repeats, compare.json, run order.

Results folders are made by hand (``make_run``), as ``harness run`` writes them
(docs/contracts.md "Results folder"); the runner is a fake that writes canned summaries.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.errors import (
    CompareError,
    ComponentStartError,
    Interrupted,
    ResultsError,
    ThresholdError,
)
from harness.gates.thresholds import parse_thresholds
from harness.report.tables import render_table
from harness.results.summary import Summary
from harness.studies.comparison import (
    COMPARE_JSON,
    CompareInfo,
    RunRecord,
    compare_runs,
    load_comparison,
    run_compare,
    write_compare_json,
)
from tests.harness.factories import make_run, make_summary, summary_with


def spread(rng: random.Random, n: int, low: int, high: int) -> list[int]:
    return sorted(rng.randint(low, high) for _ in range(n))


def record(scenario: str, k: int, summary: Summary | None, error: str = "") -> RunRecord:
    return RunRecord(scenario, k, Path(f"/r/{scenario}/run-{k}"), summary, error)


def test_table_with_one_run_each_shows_ratios_to_the_first() -> None:
    runs = {
        "baseline": [record("baseline", 1, summary_with("baseline", 11_268, 22_396))],
        "phase3": [record("phase3", 1, summary_with("phase3", 563, 1_120))],
    }
    comparison = compare_runs(["baseline", "phase3"], runs)
    p50 = comparison.rows[0]
    assert p50.label == "provider ready p50"
    assert [c.median for c in p50.cells] == [11_268, 563]
    assert p50.cells[0].ratio == 1.0
    assert p50.cells[1].ratio == pytest.approx(563 / 11_268)
    table = render_table(comparison)
    lines = table.splitlines()
    assert lines[0] == "=== COMPARE (ratio to baseline) ==="
    assert lines[1].split() == ["baseline", "phase3"]
    assert lines[2].split() == ["provider", "ready", "p50", "11,268ms", "1.00x", "563ms", "0.05x"]
    assert lines[4].split()[-2:] == ["1,120ms", "0.05x"]
    assert "[" not in table
    assert lines[6].split() == ["success", "100.0%", "1.00x", "100.0%", "1.00x"]


def test_repeats_show_median_and_spread() -> None:
    runs = {
        "baseline": [
            record("baseline", k, summary_with("baseline", p50, 20_000))
            for k, p50 in enumerate((10_000, 12_000, 11_000), start=1)
        ],
        "phase2": [
            record("phase2", k, summary_with("phase2", p50, 3_000, success))
            for k, (p50, success) in enumerate(
                ((2_000, 1.0), (2_600, 0.98), (2_200, 0.99)), start=1
            )
        ],
    }
    comparison = compare_runs(["baseline", "phase2"], runs)
    assert comparison.repeat == 3
    p50 = comparison.rows[0].cells
    assert (p50[0].median, p50[0].low, p50[0].high) == (11_000, 10_000, 12_000)
    assert (p50[1].median, p50[1].low, p50[1].high) == (2_200, 2_000, 2_600)
    assert p50[1].ratio == pytest.approx(0.2)
    success = comparison.rows[-1].cells[1]
    assert success.median == pytest.approx(0.99)
    table = render_table(comparison)
    assert "median of 3 runs [min-max], ratio to baseline" in table
    lines = table.splitlines()
    assert lines[2].split() == ["provider", "ready", "p50", "11,000ms", "1.00x", "2,200ms", "0.20x"]
    assert lines[3].split() == ["[10,000-12,000]", "[2,000-2,600]"]
    assert lines[-3].split() == ["success", "100.0%", "1.00x", "99.0%", "0.99x"]
    assert lines[-2].split() == ["[100.0-100.0%]", "[98.0-100.0%]"]
    assert lines[-1] == "runs completed: baseline 3/3, phase2 3/3"


def test_a_failed_run_and_a_scenario_with_no_value_read_as_na() -> None:
    runs = {
        "baseline": [
            record("baseline", 1, make_summary(scenario="baseline", provider_ready_ms=None))
        ],
        "phase1": [
            record("phase1", 1, None, "agent failed to start: boom"),
            record("phase1", 2, summary_with("phase1", 900, 1_500)),
        ],
    }
    comparison = compare_runs(["baseline", "phase1"], runs)
    p50 = comparison.rows[0].cells
    assert p50[0].median is None
    assert p50[1].median == 900
    assert p50[1].ratio is None  # nothing to divide by
    assert [r.name for r in comparison.failed_runs] == ["run-1"]
    table = render_table(comparison)
    assert "n/a" in table
    assert table.splitlines()[-1] == "runs completed: baseline 1/1, phase1 1/2"


def test_thresholds_are_checked_per_scenario_on_the_median() -> None:
    runs = {
        "baseline": [record("baseline", 1, summary_with("baseline", 11_000, 22_000))],
        "phase3": [
            record("phase3", 1, summary_with("phase3", 500, 900)),
            record("phase3", 2, summary_with("phase3", 500, 1_300)),
            record("phase3", 3, summary_with("phase3", 500, 950)),
        ],
    }
    thresholds = parse_thresholds(["phase3: provider_ready.p99 < 1s", "success_ratio >= 1"])
    comparison = compare_runs(["baseline", "phase3"], runs, thresholds)
    summary = [(r.scenario, r.threshold.expression, r.passed) for r in comparison.thresholds]
    assert summary == [
        ("baseline", "success_ratio >= 1", True),
        ("phase3", "phase3: provider_ready.p99 < 1s", True),
        ("phase3", "success_ratio >= 1", True),
    ]
    assert comparison.thresholds[1].observed == 950


def test_a_threshold_scoped_to_a_scenario_not_compared_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ThresholdError, match="phase9"):
        run_compare(
            ["baseline"],
            1,
            tmp_path,
            lambda s, k, d: make_summary(),
            parse_thresholds(["phase9: success_ratio >= 1"]),
        )


class FakeRunner:
    """Writes canned results folders and records the order it was called in."""

    def __init__(
        self,
        ready: Mapping[str, Sequence[Sequence[int]]],
        fail: frozenset[tuple[str, int]] = frozenset(),
    ) -> None:
        self.ready = ready
        self.fail = fail
        self.calls: list[tuple[str, int, Path]] = []

    def __call__(self, scenario: str, index: int, run_dir: Path) -> Summary:
        self.calls.append((scenario, index, run_dir))
        if (scenario, index) in self.fail:
            raise ComponentStartError("agent", "exited with code 1", "Traceback ...")
        return make_run(run_dir, scenario, self.ready[scenario][index - 1], tracers=20)


def test_run_compare_interleaves_rounds_and_writes_a_folder_per_run(tmp_path: Path) -> None:
    rng = random.Random(7)
    fake = FakeRunner(
        {
            "baseline": [spread(rng, 20, 5_000, 22_000) for _ in range(2)],
            "phase3": [spread(rng, 20, 200, 900) for _ in range(2)],
        }
    )
    messages: list[str] = []
    comparison = run_compare(
        ["baseline", "phase3"],
        2,
        tmp_path / "cmp",
        fake,
        info=CompareInfo(tracers=20, runtime="local"),
        notify=messages.append,
    )
    assert [(s, k) for s, k, _ in fake.calls] == [
        ("baseline", 1),
        ("phase3", 1),
        ("baseline", 2),
        ("phase3", 2),
    ]
    assert fake.calls[3][2] == tmp_path / "cmp" / "phase3" / "run-2"
    assert messages[0].startswith("[1/4] baseline run-1")
    assert all(
        (tmp_path / "cmp" / s / f"run-{k}" / "summary.json").exists() for s, k, _ in fake.calls
    )
    ratio = comparison.rows[2].cells[1].ratio  # p99
    assert ratio is not None and ratio < 0.1

    path = write_compare_json(tmp_path / "cmp", comparison)
    saved = json.loads(path.read_text())
    assert path.name == COMPARE_JSON
    assert saved["scenarios"] == ["baseline", "phase3"]
    assert saved["repeat"] == 2
    assert saved["tracers"] == 20
    assert saved["runs"][3] == {
        "scenario": "phase3",
        "run": "run-2",
        "dir": "phase3/run-2",
        "ok": True,
        "error": None,
        "run_id": saved["runs"][3]["run_id"],
        "duration_s": saved["runs"][3]["duration_s"],
    }
    p99 = saved["table"][2]
    assert p99["metric"] == "provider_ready.p99"
    assert p99["cells"]["phase3"]["ratio_to_first"] == pytest.approx(ratio)

    again = load_comparison(tmp_path / "cmp")
    assert render_table(again) == render_table(comparison)


def test_a_failed_run_is_recorded_and_the_compare_goes_on(tmp_path: Path) -> None:
    fake = FakeRunner(
        {"baseline": [[5_000] * 20], "phase1": [[3_000] * 20]}, fail=frozenset({("baseline", 1)})
    )
    comparison = run_compare(["baseline", "phase1"], 1, tmp_path, fake)
    assert len(fake.calls) == 2
    [failed] = comparison.failed_runs
    assert "agent failed to start" in failed.error
    saved = json.loads(write_compare_json(tmp_path, comparison).read_text())
    assert saved["runs"][0]["ok"] is False
    assert "agent failed to start" in saved["runs"][0]["error"]
    assert load_comparison(tmp_path).failed_runs[0].scenario == "baseline"


def test_an_interrupt_stops_the_compare(tmp_path: Path) -> None:
    def interrupted(scenario: str, index: int, run_dir: Path) -> Summary:
        raise Interrupted("SIGINT")

    with pytest.raises(Interrupted):
        run_compare(["baseline", "phase1"], 1, tmp_path, interrupted)


@pytest.mark.parametrize(
    ("scenarios", "repeat", "message"),
    [([], 1, "at least one scenario"), (["a", "a"], 1, "listed twice"), (["a"], 0, "at least 1")],
)
def test_bad_requests_are_clear_errors(
    tmp_path: Path, scenarios: list[str], repeat: int, message: str
) -> None:
    with pytest.raises(CompareError, match=message):
        run_compare(scenarios, repeat, tmp_path, lambda s, k, d: make_summary())


@pytest.mark.parametrize(
    "saved",
    [
        [],  # not an object
        {"scenarios": ["baseline"], "runs": [{"dir": "baseline/run-1", "ok": False}]},
        {"scenarios": ["baseline"], "runs": [{"scenario": "baseline", "run": "x", "dir": "d"}]},
    ],
)
def test_a_malformed_compare_json_is_a_results_error_naming_it(tmp_path: Path, saved: Any) -> None:
    (tmp_path / COMPARE_JSON).write_text(json.dumps(saved))
    with pytest.raises(ResultsError, match=r"compare\.json is not a compare\.json written by"):
        load_comparison(tmp_path)
