"""JUnit XML for CI systems: one testcase per scenario run and one per threshold.

The format is the de-facto one every CI reader accepts (Jenkins' and Surefire's schema, as read
by GitHub check publishers and GitLab): ``<testsuites>`` with one ``<testsuite>`` per kind
(``harness.scenarios``, ``harness.thresholds``), each with ``tests``/``failures``/``errors``/
``skipped`` counts; a failed threshold's ``<failure message=...>`` carries the observed value.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.gates.thresholds import ThresholdResult


@dataclass(frozen=True)
class ScenarioCase:
    """One run of one scenario, as a JUnit testcase: passed when the run completed."""

    scenario: str
    run: str
    """The run's name inside its scenario (``run-1``) or its results folder name."""
    passed: bool
    message: str = ""
    """Why the run failed (the one-line error), empty when it passed."""
    report: str = ""
    """The run's text report, attached as ``system-out``."""
    duration_s: float = 0.0


def build_junit(
    scenarios: Sequence[ScenarioCase],
    thresholds: Sequence[ThresholdResult],
    name: str = "harness",
) -> ET.ElementTree[ET.Element]:
    """Build the JUnit document (not yet written)."""
    root = ET.Element("testsuites", name=name)
    runs = _suite(root, f"{name}.scenarios")
    for case in scenarios:
        element = ET.SubElement(
            runs,
            "testcase",
            classname=f"{name}.scenarios.{case.scenario}",
            name=case.run,
            time=f"{case.duration_s:.3f}",
        )
        if not case.passed:
            failure = ET.SubElement(element, "failure", message=case.message, type="RunFailed")
            failure.text = case.message
        if case.report:
            ET.SubElement(element, "system-out").text = case.report
    checks = _suite(root, f"{name}.thresholds")
    for result in thresholds:
        scope = result.scenario or "run"
        element = ET.SubElement(
            checks,
            "testcase",
            classname=f"{name}.thresholds.{scope}",
            name=result.threshold.expression,
            time="0",
        )
        if not result.passed:
            reason = result.why_missing or f"observed {result.observed_text}"
            if result.runs > 1 and not result.why_missing:
                reason += f" (median of {result.runs} runs)"
            failure = ET.SubElement(
                element,
                "failure",
                message=f"{result.threshold.expression}: {reason}",
                type="ThresholdBreached",
            )
            failure.text = result.line()
        else:
            ET.SubElement(element, "system-out").text = result.line()
    _count(root)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(
    path: Path,
    scenarios: Sequence[ScenarioCase],
    thresholds: Sequence[ThresholdResult],
    name: str = "harness",
) -> Path:
    """Write the JUnit XML file (parent folders created) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    build_junit(scenarios, thresholds, name).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _suite(root: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(root, "testsuite", name=name)


def _count(root: ET.Element) -> None:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        counts = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite_seconds = sum(float(c.get("time") or 0) for c in cases)
        suite.set("time", f"{suite_seconds:.3f}")
        seconds += suite_seconds
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.3f}")
