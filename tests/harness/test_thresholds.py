"""Threshold expressions: parsing, clear errors, evaluation on canned summaries."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import ResultsError, ThresholdError
from harness.gates.metrics import METRICS, Unit
from harness.gates.thresholds import (
    Op,
    check_scopes,
    evaluate,
    evaluate_repeats,
    parse_threshold,
    parse_thresholds,
)
from harness.results.counters import parse_series_key
from harness.results.summary import Summary
from harness.results.validity import SPECS, Figure, judge
from harness.scenario.validity_limits import ValidityLimits
from tests.harness.factories import latency, make_summary


def summary(**overrides: Any) -> Summary:
    """A summary.json as docs/contracts.md pins it, for a 100-tracer phase3 run."""
    base: dict[str, Any] = {
        "scenario": "phase3",
        "duration_s": 12.5,
        "provider_ready_ms": latency(min=120, p50=400, p75=600, p90=700, p95=800, p99=950, max=990),
        "boot_total_ms": latency(min=150, p50=450, p75=650, p90=760, p95=840, p99=1010, max=1100),
        "agent": {
            'agent_rc_bypass_total{lane="fast",result="refreshed"}': 40.0,
            'agent_rc_bypass_total{lane="fast",result="rate_limited"}': 2.0,
            'agent_rc_bypass_total{lane="standard",result="rate_limited"}': 5.0,
            "agent_rc_lock_wait_seconds_sum": 0.25,
        },
        "backend": {'backend_rc_requests_total{endpoint="configurations",status="200"}': 12.0},
        "timeline": [[0.0, 0], [1.0, 100]],
    }
    base.update(overrides)
    return make_summary(**base)


@pytest.mark.parametrize(
    ("expression", "metric", "op", "limit", "scenario"),
    [
        ("provider_ready.p99 < 1s", "provider_ready.p99", Op.LT, 1000.0, None),
        ("boot_total.p50 <= 1500ms", "boot_total.p50", Op.LE, 1500.0, None),
        ("boot_total.p50<=1500", "boot_total.p50", Op.LE, 1500.0, None),
        ("provider_ready.max > 0.5 s", "provider_ready.max", Op.GT, 500.0, None),
        ("success_ratio >= 1", "success_ratio", Op.GE, 1.0, None),
        ("success_ratio >= 99%", "success_ratio", Op.GE, 0.99, None),
        ("counts.timeout == 0", "counts.timeout", Op.EQ, 0.0, None),
        ("provider_error_events != 3", "provider_error_events", Op.NE, 3.0, None),
        ("phase3: provider_ready.p99 < 1s", "provider_ready.p99", Op.LT, 1000.0, "phase3"),
        ("provider_ready_ms.p90 < 2e3", "provider_ready.p90", Op.LT, 2000.0, None),
        ("duration_s < 90000ms", "duration_s", Op.LT, 90.0, None),
    ],
)
def test_parses_expressions_into_typed_thresholds(
    expression: str, metric: str, op: Op, limit: float, scenario: str | None
) -> None:
    threshold = parse_threshold(expression)
    assert threshold.metric.name == metric
    assert threshold.op is op
    assert threshold.limit == pytest.approx(limit)
    assert threshold.scenario == scenario
    assert str(threshold) == expression


def test_agent_counter_with_label_matchers() -> None:
    threshold = parse_threshold('agent.agent_rc_bypass_total{lane="fast",result=rate_limited} < 5')
    assert threshold.metric.source == "agent"
    assert threshold.metric.series == "agent_rc_bypass_total"
    assert dict(threshold.metric.labels) == {"lane": "fast", "result": "rate_limited"}
    assert threshold.metric.unit is Unit.COUNT
    seconds = parse_threshold("agent.agent_rc_lock_wait_seconds_sum < 500ms")
    assert seconds.metric.unit is Unit.S
    assert seconds.limit == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("provider_ready.p98 < 1s", "unknown metric 'provider_ready.p98'"),
        ("provider_ready.p98 < 1s", "did you mean 'provider_ready.p99'"),
        ("p99 < 1s", "'provider_ready.p99' or 'boot_total.p99'"),
        ("latency < 1s", "valid metrics: provider_ready.{min,p50,p75,p90,p95,p99,max}"),
        ("provider_ready.p99 =< 1s", "'=<' is not an operator"),
        ("provider_ready.p99 = 1s", "'=' is not an operator"),
        ("provider_ready.p99 1s", "expected an operator"),
        ("provider_ready.p99 <", "expected a number after '<', found 'nothing'"),
        ("provider_ready.p99 < fast", "expected a number after '<', found 'fast'"),
        ("provider_ready.p99 < 1sec", "unknown unit 'sec'"),
        ("provider_ready.p99 < 1m", "use ms or s"),
        ("provider_ready.p99 < 1s && success_ratio >= 1", "unexpected '&& success_ratio >= 1'"),
        ("provider_ready.p99 < 1s extra", "unexpected 'extra' after the value"),
        ("success_ratio >= 1s", "'success_ratio' is a ratio: it takes no unit or %"),
        ("counts.timeout == 0ms", "'counts.timeout' is a count: it takes no unit"),
        ("agent.requests_total > 1", "agent counters are named 'agent_rc_...'"),
        ('agent.agent_rc_bypass_total{lane="fast" < 1', "unclosed '{'"),
        ("", "expected 'METRIC OP VALUE'"),
    ],
)
def test_bad_expression_names_itself_and_the_problem(expression: str, fragment: str) -> None:
    with pytest.raises(ThresholdError) as info:
        parse_threshold(expression)
    message = str(info.value)
    assert f"invalid threshold {expression!r}" in message
    assert fragment in message


def test_parse_thresholds_stops_at_the_first_bad_one() -> None:
    with pytest.raises(ThresholdError, match="'nope < 1'"):
        parse_thresholds(["success_ratio >= 1", "nope < 1"])


def test_every_listed_metric_reads_a_number_from_a_full_summary() -> None:
    every_check = judge({name: Figure(1.0) for name in SPECS}, ValidityLimits())
    view = {"calls": 40, "rejected": 3, "peak_calls_per_s": 12, "refresh_errors": 3,
            "refresh_ms": latency(min=1, p50=2, p90=30).model_dump()}  # fmt: skip
    full = summary(
        provider_mode="wait",
        buckets={"under_10s": 90, "cliff_28_32s": 10, "over_32s": 0},
        validity=every_check,
        backend_view=view,
    )
    for name, metric in METRICS.items():
        reading = metric.read(full)
        assert reading.value is not None, name


def test_evaluate_passes_and_breaches_with_observed_values() -> None:
    results = evaluate(
        parse_thresholds(
            [
                "provider_ready.p99 < 1s",
                "boot_total.p99 < 1s",
                "success_ratio >= 1",
                "counts.timeout == 0",
            ]
        ),
        summary(),
    )
    assert [r.passed for r in results] == [True, False, True, True]
    assert results[0].observed == 950.0
    assert results[1].observed == 1010.0
    assert results[0].line() == "✓ [phase3] provider_ready.p99 < 1s  (observed 950ms)"
    assert results[1].line() == "✗ [phase3] boot_total.p99 < 1s  breached: observed 1,010ms (1.0s)"


def test_boundaries_of_each_operator() -> None:
    run = summary()
    cases = {
        "provider_ready.p99 < 950": False,
        "provider_ready.p99 <= 950": True,
        "provider_ready.p99 > 950": False,
        "provider_ready.p99 >= 950": True,
        "provider_ready.p99 == 950": True,
        "provider_ready.p99 != 950": False,
        "provider_ready.p99 < 0.951s": True,
    }
    for expression, expected in cases.items():
        [result] = evaluate([parse_threshold(expression)], run)
        assert result.passed is expected, expression


def test_a_metric_with_no_value_is_an_explained_breach_not_a_crash() -> None:
    dead = summary(
        provider_ready_ms=None,
        boot_total_ms=None,
        counts={"success": 0, "timeout": 100, "error": 0, "crashed": 0},
        success_ratio=0.0,
    )
    [p99, ratio, bucket] = evaluate(
        parse_thresholds(
            ["provider_ready.p99 < 1s", "success_ratio >= 1", "buckets.over_32s == 0"]
        ),
        dead,
    )
    assert not p99.passed
    assert p99.observed is None
    assert "0 of 100 tracers succeeded" in p99.why_missing
    assert "no value" in p99.line()
    assert not ratio.passed
    assert ratio.observed == 0.0
    assert not bucket.passed
    assert "provider mode 'wait'" in bucket.why_missing


def test_buckets_null_outside_wait_mode_say_so() -> None:
    # build_summary writes "buckets": null when the provider mode is not wait.
    [bucket] = evaluate([parse_threshold("buckets.over_32s == 0")], summary(buckets=None))
    assert not bucket.passed
    assert bucket.why_missing == "buckets are only recorded in provider mode 'wait'"


def test_a_null_stat_inside_a_present_latency_block_fails_at_load() -> None:
    # A summary is typed: a malformed latency block never reaches a threshold.
    with pytest.raises(ResultsError, match=r"provider_ready_ms\.p50"):
        summary(provider_ready_ms={"min": 1, "p50": None})


def test_agent_counters_sum_matching_series() -> None:
    run = summary()
    [limited, fast_limited, granted, lock] = evaluate(
        parse_thresholds(
            [
                'agent.agent_rc_bypass_total{result="rate_limited"} == 7',
                'agent.agent_rc_bypass_total{lane="fast",result="rate_limited"} < 3',
                'agent.agent_rc_bypass_total{result="refreshed"} >= 40',
                "agent.agent_rc_lock_wait_seconds_sum < 300ms",
            ]
        ),
        run,
    )
    assert (limited.passed, limited.observed) == (True, 7.0)
    assert (fast_limited.passed, fast_limited.observed) == (True, 2.0)
    assert granted.passed
    assert lock.passed
    [missing] = evaluate([parse_threshold("backend.backend_rc_faults_injected_total > 0")], run)
    assert not missing.passed
    assert "no backend series matches backend_rc_faults_injected_total" in missing.why_missing


def test_parse_series_key_handles_escaped_quotes() -> None:
    name, labels = parse_series_key(r'm_total{a="x\"y",b="z"}')
    assert name == "m_total"
    assert labels["b"] == "z"


def test_a_threshold_scoped_to_another_scenario_is_refused_on_a_single_run() -> None:
    with pytest.raises(
        ThresholdError, match=r"scoped to scenario 'baseline'.*this run is 'phase3'"
    ):
        evaluate([parse_threshold("baseline: success_ratio >= 1")], summary())


def test_check_scopes_names_the_unknown_scenario() -> None:
    thresholds = parse_thresholds(["phase9: success_ratio >= 1"])
    with pytest.raises(ThresholdError, match="'phase9', which is not compared"):
        check_scopes(thresholds, ["baseline", "phase3"])
    check_scopes(parse_thresholds(["phase3: success_ratio >= 1"]), ["baseline", "phase3"])


def test_evaluate_repeats_uses_the_median_and_only_applicable_thresholds() -> None:
    runs = [
        summary(provider_ready_ms=latency(p99=900)),
        summary(provider_ready_ms=latency(p99=1200)),
        summary(provider_ready_ms=latency(p99=950)),
    ]
    results = evaluate_repeats(
        parse_thresholds(["phase3: provider_ready.p99 < 1s", "baseline: success_ratio >= 1"]),
        "phase3",
        runs,
    )
    assert len(results) == 1
    [result] = results
    assert result.observed == 950.0
    assert result.passed
    assert result.runs == 3
    assert "median of 3 runs" in result.line()


def test_evaluate_repeats_names_the_run_without_a_value() -> None:
    runs = [summary(), summary(provider_ready_ms=None)]
    [result] = evaluate_repeats([parse_threshold("provider_ready.p99 < 1s")], "phase3", runs)
    assert not result.passed
    assert result.why_missing.startswith("run-2: no value")


def test_backend_view_metrics_gate_a_simulation_and_say_why_a_run_has_none() -> None:
    view = {"calls": 40, "rejected": 3, "peak_calls_per_s": 12, "refresh_errors": 3,
            "refresh_ms": latency(min=1, p50=2, p90=30).model_dump()}  # fmt: skip
    results = evaluate(
        parse_thresholds(["backend_view.rejected == 0", "backend_view.refresh.p90 < 50ms"]),
        make_summary(runtime="simulate", backend_view=view),
    )
    assert [r.passed for r in results] == [False, True]
    reading = METRICS["backend_view.calls"].read(make_summary())
    assert reading.value is None and "backend_view" in reading.why_missing
