"""Static checks of the Grafana dashboards and their provisioning (no Grafana needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.review.dashboards import (
    DASHBOARDS_DIR,
    dashboard_paths,
    iter_panels,
    load_dashboard,
    panel_queries,
    render,
    variables,
)

REPO = DASHBOARDS_DIR.parent
PROVISIONING = DASHBOARDS_DIR / "provisioning"
PATHS = dashboard_paths()
HISTOGRAMS = {
    "tracer_provider_ready_duration_seconds",
    "tracer_rc_request_duration_seconds",
    "tracer_rc_poll_lateness_seconds",
    "agent_rc_request_duration_seconds",
    "agent_rc_lock_wait_seconds",
    "agent_rc_backend_request_duration_seconds",
    "backend_rc_request_duration_seconds",
}
METRIC = re.compile(r"\b(?:tracer|agent_rc|backend_rc)_[a-z0-9_]+\b")


def provisioned_datasource() -> dict[str, Any]:
    files = sorted((PROVISIONING / "datasources").glob("*.yaml"))
    assert len(files) == 1
    doc = yaml.safe_load(files[0].read_text())
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    return dict(ds)


def contract_metrics() -> set[str]:
    text = (REPO / "docs" / "contracts.md").read_text()
    section = text.split("## Metric names", 1)[1].split("\n## ", 1)[0]
    return set(METRIC.findall(section))


def test_there_is_the_fleet_boot_dashboard() -> None:
    assert DASHBOARDS_DIR / "rc-fleet-boot.json" in PATHS


def test_datasource_provisioning_is_standard() -> None:
    ds = provisioned_datasource()
    assert ds["type"] == "prometheus"
    assert ds["access"] == "proxy"
    assert ds["url"] == "http://prometheus:9090"
    assert ds["uid"]


def test_dashboard_provider_loads_the_folder_grafana_mounts() -> None:
    (provider_file,) = sorted((PROVISIONING / "dashboards").glob("*.yaml"))
    doc = yaml.safe_load(provider_file.read_text())
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_dashboard_uids_are_unique_and_fixed() -> None:
    uids = [load_dashboard(p)["uid"] for p in PATHS]
    assert all(isinstance(u, str) and 0 < len(u) <= 40 for u in uids)
    assert len(set(uids)) == len(uids)
    assert load_dashboard(DASHBOARDS_DIR / "rc-fleet-boot.json")["uid"] == "rc-fleet-boot"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
class TestDashboard:
    def test_structure(self, path: Path) -> None:
        dash = load_dashboard(path)
        assert dash["title"]
        assert dash["schemaVersion"] >= 39
        assert "id" not in dash or dash["id"] is None  # provisioned dashboards carry no db id
        for panel in iter_panels(dash):
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
            assert pos["h"] > 0 and pos["y"] >= 0
            assert panel["type"] in {"row", "timeseries", "stat", "bargauge", "table", "heatmap"}
            if panel["type"] != "row":
                refs = [t["refId"] for t in panel["targets"]]
                assert refs and len(set(refs)) == len(refs), panel["title"]
                assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]

    def test_panel_ids_are_unique(self, path: Path) -> None:
        ids = [p["id"] for p in iter_panels(load_dashboard(path))]
        assert all(isinstance(i, int) for i in ids)
        assert len(set(ids)) == len(ids)

    def test_every_datasource_is_the_provisioned_uid(self, path: Path) -> None:
        uid = provisioned_datasource()["uid"]
        dash = load_dashboard(path)
        refs = [p["datasource"] for p in iter_panels(dash) if "datasource" in p]
        refs += [t["datasource"] for p in iter_panels(dash) for t in p.get("targets", [])]
        refs += [v["datasource"] for v in dash["templating"]["list"]]
        assert refs
        assert all(r == {"type": "prometheus", "uid": uid} for r in refs)

    def test_no_tracer_label_on_histogram_queries(self, path: Path) -> None:
        for q in panel_queries(load_dashboard(path)):
            if any(h in q.expr for h in HISTOGRAMS):
                assert not re.search(r"\btracer\s*(=~|!~|!=|=)", q.expr), q
                assert not re.search(r"\b(by|without)\s*\([^)]*\btracer\b", q.expr), q

    def test_every_metric_is_in_the_contract(self, path: Path) -> None:
        known = contract_metrics()
        for q in panel_queries(load_dashboard(path)):
            for name in METRIC.findall(q.expr):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                assert name in known or base in HISTOGRAMS, f"{name} in panel {q.panel_title!r}"

    def test_every_query_filters_by_run(self, path: Path) -> None:
        for q in panel_queries(load_dashboard(path)):
            assert 'run_id=~"$run_id"' in q.expr, q

    def test_every_variable_is_defined_and_renders(self, path: Path) -> None:
        dash = load_dashboard(path)
        names = {v.name: ".*" for v in variables(dash)}
        assert {"run_id", "scenario"} <= set(names)
        for q in panel_queries(dash):
            assert "$" not in render(q.expr, names)
