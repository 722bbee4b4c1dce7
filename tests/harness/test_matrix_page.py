"""The HTML page of a matrix: heatmaps per set-up, CDFs per client, the full table."""

from __future__ import annotations

from pathlib import Path

from harness.report.html.matrix_page import heat_colour, render_matrix_html, write_matrix_html
from harness.run.matrix import plan_matrix, run_matrix
from harness.runtime.fake import FakeScript
from harness.scenario.designs import agent_design, client_variant
from harness.studies.matrix import MatrixDoc
from tests.harness.test_matrix import Factories


def matrix(out: Path) -> MatrixDoc:
    plan = plan_matrix(
        ["baseline"],
        [client_variant("go-2.5"), client_variant("go-2.10")],
        [agent_design("legacy"), agent_design("warm")],
        repeat=1,
        overrides=["fleet.tracers=3", "timeouts.run_s=20"],
    )
    factories = Factories([FakeScript(ready_after_s=s) for s in (7.0, 6.0, 2.0, 0.5)])
    return run_matrix(plan, out_dir=out, runtime_factory=factories, runtime_name="fake",
                      per_process=3, command="harness matrix", matrix_id="h1",
                      clock=factories.clock).doc  # fmt: skip


def test_heat_colour_runs_from_green_to_red_on_a_log_scale() -> None:
    assert heat_colour(10.0, 1.0, 100.0) == "rgba(122,100,54,0.35)"  # half way in log
    assert heat_colour(5.0, 5.0, 5.0) == heat_colour(1.0, 1.0, 100.0)  # one value: green


def test_the_page_has_heatmaps_cdfs_and_every_cell(tmp_path: Path) -> None:
    doc = matrix(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert html.count('<table class="heatmap">') == 3  # p50, max, backend calls
    assert (
        '<td class="num" data-field="ready_p50_ms" style="background:rgba(198,40,40,0.35)">'
        "7.01 s</td>" in html
    )  # the slowest cell is red
    assert html.count('<svg id="cdf-baseline-') == 2  # one CDF per client
    assert 'data-series="warm"' in html and "3 of 3 ready" in html
    assert html.count("<tr><td>baseline</td>") == 4
    assert write_matrix_html(tmp_path, doc) == tmp_path / "report.html"


def test_a_page_without_run_folders_still_renders_from_matrix_json(tmp_path: Path) -> None:
    doc = matrix(tmp_path)
    html = render_matrix_html(doc, {})
    assert "7.01 s" in html and "no data: no tracer became ready" in html
