"""Reading dashboards: panel queries, variables, Grafana-style interpolation."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from harness.errors import DashboardError
from harness.review.dashboards import (
    PanelQuery,
    QueryResult,
    Variable,
    load_dashboard,
    panel_queries,
    render,
    run_queries,
    variables,
)

DASH = {
    "panels": [
        {
            "id": 1,
            "type": "row",
            "title": "r",
            "panels": [
                {"id": 3, "title": "nested", "targets": [{"refId": "A", "expr": "up"}]},
            ],
        },
        {"id": 2, "title": "p", "targets": [{"refId": "A", "expr": "x"}, {"refId": "B"}]},
    ],
    "templating": {
        "list": [
            {
                "name": "run_id",
                "type": "query",
                "query": {"query": 'label_values({__name__=~"a|b"}, run_id)'},
            },
            {"name": "scenario", "type": "query", "query": "label_values(scenario)"},
        ]
    },
}


def test_panel_queries_include_collapsed_rows_and_skip_targets_without_expr() -> None:
    assert [(q.panel_id, q.ref_id, q.expr) for q in panel_queries(DASH)] == [
        (3, "A", "up"),
        (2, "A", "x"),
    ]


def test_variables_parse_label_values() -> None:
    assert variables(DASH) == [
        Variable("run_id", '{__name__=~"a|b"}', "run_id"),
        Variable("scenario", None, "scenario"),
    ]


def test_variable_that_is_not_label_values_is_an_error() -> None:
    dash = {"templating": {"list": [{"name": "v", "type": "query", "query": "query_result(up)"}]}}
    with pytest.raises(DashboardError, match="'v'"):
        variables(dash)


def test_render_all_syntaxes_and_builtins() -> None:
    expr = 'rate(m{a=~"$run_id", b="${scenario}", c="[[run_id]]"}[$__rate_interval]) $__range'
    assert render(expr, {"run_id": "r1|r2", "scenario": "s", "__range": "30s"}) == (
        'rate(m{a=~"r1|r2", b="s", c="r1|r2"}[4s]) 30s'
    )


def test_render_does_not_confuse_prefixes() -> None:
    assert render("$run $run_id", {"run": "A", "run_id": "B"}) == "A B"


def test_render_rejects_unknown_variables() -> None:
    with pytest.raises(DashboardError, match="unknown variable"):
        render('m{a="$nope"}', {})


def test_load_dashboard_names_the_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "d.json"
    bad.write_text(json.dumps({"title": "no panels"}))
    with pytest.raises(DashboardError, match=r"d\.json"):
        load_dashboard(bad)
    bad.write_text("{")
    with pytest.raises(DashboardError, match="cannot read"):
        load_dashboard(bad)


def test_query_result_last_and_max_per_series() -> None:
    query = PanelQuery(1, "p", "A", "x")
    result = QueryResult(query, "x", [({"lane": "fast"}, [1.0, 3.0, 2.0]), ({}, [])])
    assert result.has_data
    assert result.last_values() == {"lane=fast": 2.0}
    assert result.max_values() == {"lane=fast": 3.0}
    assert not QueryResult(query, "x", [({}, [])]).has_data


def test_an_answer_that_is_not_a_prometheus_object_is_a_clear_error() -> None:
    # E.g. --prometheus pointed at another JSON service: a list instead of {"status": ...}.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=["not", "prometheus"])

    with (
        httpx.Client(base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler)) as c,
        pytest.raises(DashboardError, match="not a Prometheus API object"),
    ):
        run_queries(c, DASH, {"run_id": "r", "scenario": "s"}, 0.0, 1.0)
