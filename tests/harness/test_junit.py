"""JUnit XML: parses with xml.etree, right counts, failures carry the observed value."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.gates.junit import ScenarioCase, build_junit, write_junit
from harness.gates.thresholds import evaluate, evaluate_repeats, parse_thresholds
from harness.results.summary import Summary
from tests.harness.factories import latency, make_summary


def summary(scenario: str, p99: int | None, ratio: float) -> Summary:
    ready = None if p99 is None else latency(min=1, p50=p99 // 2, p99=p99)
    success = round(ratio * 10)
    return make_summary(
        scenario=scenario,
        tracers=10,
        provider_ready_ms=ready,
        counts={"success": success, "timeout": 10 - success, "error": 0, "crashed": 0},
        success_ratio=ratio,
    )


def test_counts_and_failure_messages(tmp_path: Path) -> None:
    thresholds = parse_thresholds(["provider_ready.p99 < 1s", "success_ratio >= 1"])
    results = [
        *evaluate(thresholds, summary("baseline", 12_000, 0.9)),
        *evaluate(thresholds, summary("phase3", 800, 1.0)),
    ]
    cases = [
        ScenarioCase("baseline", "run-1", True, report="=== PROVIDER READY ===", duration_s=31.5),
        ScenarioCase("phase3", "run-1", False, message="agent failed to start: port in use"),
    ]
    path = write_junit(tmp_path / "out" / "junit.xml", cases, results)

    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "3", "0")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"harness.scenarios", "harness.thresholds"}
    runs = suites["harness.scenarios"]
    assert (runs.get("tests"), runs.get("failures")) == ("2", "1")
    assert runs.get("time") == "31.500"  # the sum of its testcases' times
    assert root.get("time") == "31.500"
    [ok, failed] = runs.findall("testcase")
    assert ok.get("classname") == "harness.scenarios.baseline"
    assert ok.get("time") == "31.500"
    assert ok.findtext("system-out") == "=== PROVIDER READY ==="
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("message") == "agent failed to start: port in use"

    checks = suites["harness.thresholds"]
    assert (checks.get("tests"), checks.get("failures")) == ("4", "2")
    failures = {
        (c.get("classname"), c.get("name")): c.find("failure") for c in checks.findall("testcase")
    }
    p99 = failures[("harness.thresholds.baseline", "provider_ready.p99 < 1s")]
    assert p99 is not None
    assert p99.get("message") == "provider_ready.p99 < 1s: observed 12,000ms (12.0s)"
    ratio = failures[("harness.thresholds.baseline", "success_ratio >= 1")]
    assert ratio is not None
    assert "observed 0.9 (90.0%)" in (ratio.get("message") or "")
    assert failures[("harness.thresholds.phase3", "provider_ready.p99 < 1s")] is None


def test_missing_values_and_medians_are_explained() -> None:
    thresholds = parse_thresholds(["phase3: provider_ready.p99 < 1s"])
    dead = evaluate_repeats(thresholds, "phase3", [summary("phase3", None, 0.0)])
    slow = evaluate_repeats(
        thresholds, "phase3", [summary("phase3", 1500, 1.0), summary("phase3", 1700, 1.0)]
    )
    root = build_junit([], [*dead, *slow]).getroot()
    messages = [f.get("message") for f in root.iter("failure")]
    assert messages[0] is not None and "run-1: no value" in messages[0]
    assert (
        messages[1] == "phase3: provider_ready.p99 < 1s: observed 1,600ms (1.6s) (median of 2 runs)"
    )


def test_empty_document_is_valid_with_zero_counts(tmp_path: Path) -> None:
    path = write_junit(tmp_path / "j.xml", [], [])
    root = ET.parse(path).getroot()
    assert root.get("tests") == "0"
    assert len(root.findall("testsuite")) == 2
