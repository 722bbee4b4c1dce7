"""Every PromQL expression of every dashboard panel returns data from a real run.

A short local ``harness run`` publishes its components through file-based discovery to a real
Prometheus (Debian's binary, ``conftest.prometheus``); then each panel's expressions, with the
template variables substituted as Grafana would, go through Prometheus's HTTP API
(``/api/v1/query_range`` over the run) and must return at least one finite value. The template
variables' ``label_values`` queries must offer the run's id and scenario.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.review_dashboards import (
    dashboard_paths,
    load_dashboard,
    panel_queries,
    render,
    variables,
)
from tests.dashboards.conftest import Prometheus

pytestmark = [pytest.mark.prometheus, pytest.mark.e2e]

TRACERS = 10
RUN_ARGS = [
    "--runtime",
    "local",
    "--scenario",
    "phase3",
    "--tracers",
    str(TRACERS),
    "--tracers-per-process",
    "5",
    "--timeout",
    "30",
    # Polls every second so that every rate() window of the short run holds requests.
    "--set",
    "client.poll_interval_s=1",
]


def finite_values(result: list[dict[str, Any]]) -> list[float]:
    out = []
    for series in result:
        for _ts, raw in series["values"]:
            value = float(raw)
            if math.isfinite(value):
                out.append(value)
    return out


def test_every_panel_query_returns_data(prometheus: Prometheus, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-c", "from harness.cli import main; main()", "run", *RUN_ARGS]
    cmd += ["--out", str(out), "--prometheus-sd", str(prometheus.sd_dir)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["success"] == TRACERS
    start = datetime.fromisoformat(summary["started_at"]).timestamp()
    end = time.time()
    values = {"run_id": summary["run_id"], "scenario": summary["scenario"]}

    report = [f"run {values['run_id']} ({values['scenario']}, {TRACERS} tracers)"]
    failures = []
    for path in dashboard_paths():
        dashboard = load_dashboard(path)
        for var in variables(dashboard):
            params: dict[str, object] = {"start": start, "end": end}
            if var.selector:
                params["match[]"] = render(var.selector, values)
            offered = prometheus.get(f"/api/v1/label/{var.label}/values", **params)
            report.append(f"${var.name}: {offered}")
            if values[var.name] not in offered:
                failures.append(
                    f"{path.name} variable ${var.name} does not offer {values[var.name]}"
                )
        for query in panel_queries(dashboard):
            expr = render(query.expr, values)
            data = prometheus.get("/api/v1/query_range", query=expr, start=start, end=end, step=1)
            numbers = finite_values(data["result"])
            last = {
                " ".join(f"{k}={v}" for k, v in sorted(s["metric"].items())) or "{}": s["values"][
                    -1
                ][1]
                for s in data["result"]
            }
            report.append(f"[{query.panel_id}] {query.panel_title} / {query.ref_id}: {last}")
            if not numbers:
                failures.append(f"{path.name} panel {query.panel_title!r} {query.ref_id}: {expr}")
            if query.panel_title == "Ready":
                # Prometheus saw the settled fleet (the run's targets linger for a last scrape).
                assert max(numbers) == TRACERS, expr
    text = "\n".join(report)
    (tmp_path / "queries.txt").write_text(text + "\n")
    print(text)
    assert not failures, "queries without data:\n" + "\n".join(failures)
