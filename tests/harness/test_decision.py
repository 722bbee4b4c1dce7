"""The decision report: a pure function of matrix.json, with no figure typed by hand; the
committed docs/decision-report.md is what its docs/decision-report.json renders to."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from harness.report import decision, matrix_table
from harness.report.decision import render_decision_report, write_decision_report
from harness.run.matrix import plan_matrix, run_matrix
from harness.runtime.fake import FakeScript
from harness.scenario.designs import agent_design, client_variant
from harness.studies.matrix import MatrixDoc, Stat, read_matrix_json
from tests.harness.test_matrix import Factories

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> MatrixDoc:
    plan = plan_matrix(
        ["baseline", "loadtest-setup"],
        [client_variant("go-2.5"), client_variant("ddtrace-py-4.16")],
        [agent_design(a) for a in ("legacy", "fastlane", "short-block")],
        repeat=1,
        overrides=["fleet.tracers=4", "timeouts.run_s=30"],
    )
    ready = (7.0, 7.0, 5.5, 7.0, 7.0, 0.5, 11.0, 11.0, 10.0, 9.0, 9.0, 8.0)
    factories = Factories([FakeScript(ready_after_s=s) for s in ready])
    out = tmp_path_factory.mktemp("matrix")
    return run_matrix(plan, out_dir=out, runtime_factory=factories, runtime_name="fake",
                      per_process=4, command="harness matrix --setups baseline,loadtest-setup",
                      matrix_id="t1", clock=factories.clock,
                      load_average=lambda: (0.5, 0.4, 0.3)).doc  # fmt: skip


def test_the_report_is_a_pure_function_of_matrix_json(doc: MatrixDoc) -> None:
    text = render_decision_report(doc)
    again = MatrixDoc.from_json_text(doc.to_json_text(), "round trip")
    assert render_decision_report(again) == text
    assert text.startswith("# Decision report")
    assert "harness matrix --setups baseline,loadtest-setup" in text  # the regenerating command


def test_every_figure_comes_from_the_document(doc: MatrixDoc) -> None:
    text = render_decision_report(doc)
    assert "| baseline | ddtrace-py-4.16 | short-block | 0.52 s |" in text  # 0.5 s + 2 x 10 ms
    assert "`short-block` | 0.79x / 0.79x / ±0 calls | 0.07x / 0.08x / ±0 calls |" in text
    # change one figure in the JSON: the report follows it
    cells = list(doc.cells)
    figures = dict(cells[5].figures)
    figures["ready_p50_ms"] = Stat(median=123456.0, low=123456.0, high=123456.0, runs=1)
    cells[5] = cells[5].model_copy(update={"figures": figures})
    changed = render_decision_report(doc.model_copy(update={"cells": tuple(cells)}))
    assert "| baseline | ddtrace-py-4.16 | short-block | 123.46 s |" in changed
    assert changed != text


NAMES = re.compile(r"\bp\d\d\b|_p\d\d_|\bphase\d\b|/v0\.7/config|utf-8|±0")


def test_the_template_holds_no_figure() -> None:
    """No string literal of the renderer holds a figure: once names that merely contain digits
    are set aside (percentile names p50/p90, the built-in scenarios phase1-3, the agent's
    endpoint, utf-8, the zero-difference sign), no digit is left, so every number in the
    report is formatted from the document or from the stated NO_CHANGE rule."""
    source = "\n".join(
        Path(m.__file__).read_text(encoding="utf-8") for m in (decision, matrix_table)
    )
    tree = ast.parse(source)
    docstrings: set[int] = set()
    specs: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            docstrings.add(id(body[0].value))
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            specs.update(id(n) for n in ast.walk(node.format_spec))
    offending = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings | specs
        and re.search(r"\d", NAMES.sub("", node.value))
    ]
    assert offending == []


def test_loadtest_setup_is_compared_with_the_proposal(doc: MatrixDoc) -> None:
    text = render_decision_report(doc)
    section = text.split("### Set-up `loadtest-setup`")[1].split("### ")[0]
    assert "RC serving 16 s after the boot" in section and "not measurements" in section
    assert "| p50 | 11.27 s | 11.02 s |" in section  # the proposal's, then the cell's


def test_the_proposals_phases_are_read_against_todays_client_and_agent(doc: MatrixDoc) -> None:
    text = render_decision_report(doc)
    assert "The proposal's phases against `baseline/go-2.5/legacy` (p50 7.02 s" in text
    assert "| `agent-only` | `baseline/go-2.5/fastlane` | 7.02 s (1.00x, no change) |" in text
    assert "`phase3`" not in text  # the matrix has no go-2.5+fastlane client


def test_a_design_that_loses_tracers_is_named(doc: MatrixDoc) -> None:
    assert "## Where a design loses tracers" not in render_decision_report(doc)
    cells = list(doc.cells)
    figures = dict(cells[5].figures)
    figures["success_ratio"] = Stat(median=0.0, low=0.0, high=0.0, runs=1)
    figures["ready_p50_ms"] = Stat(median=None, low=None, high=None, runs=0)
    cells[5] = cells[5].model_copy(update={"figures": figures})
    text = render_decision_report(doc.model_copy(update={"cells": tuple(cells)}))
    assert "| `baseline/ddtrace-py-4.16/short-block` | 100% | 0% |" in text
    assert "n/a / 0.08x / ±0 calls / **success 0%**" in text  # max left as it was


def test_an_interrupted_matrix_says_so(doc: MatrixDoc) -> None:
    partial = doc.model_copy(update={"complete": False, "finished_at": None})
    assert "**Incomplete" in render_decision_report(partial)


def test_write_puts_the_json_beside_the_markdown(doc: MatrixDoc, tmp_path: Path) -> None:
    md, source = write_decision_report(doc, tmp_path / "docs" / "report.md")
    assert source == tmp_path / "docs" / "report.json"
    assert md.read_text() == render_decision_report(read_matrix_json(source))


def test_the_committed_report_is_the_rendering_of_its_json() -> None:
    source = DOCS / "decision-report.json"
    committed = (DOCS / "decision-report.md").read_text(encoding="utf-8")
    assert render_decision_report(read_matrix_json(source)) == committed
