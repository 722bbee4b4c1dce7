"""Every PromQL expression of every dashboard panel returns data from a real run.

A short local ``harness run`` publishes its components through file-based discovery to a real
Prometheus (Debian's binary, ``conftest.prometheus``); then each panel's expressions, with the
template variables substituted as Grafana would, go through Prometheus's HTTP API
(``/api/v1/query_range`` over the run) and must return at least one finite value. The template
variables' ``label_values`` queries must offer the run's id and scenario.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from harness.review.dashboards import (
    dashboard_paths,
    load_dashboard,
    run_queries,
    variable_options,
)
from harness.review.dashboards import main as review_dashboards_main
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


def test_every_panel_query_returns_data(prometheus: Prometheus, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-c", "from harness.cli.app import main; main()", "run", *RUN_ARGS]
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
    with httpx.Client(base_url=prometheus.url, timeout=30) as client:
        for path in dashboard_paths():
            dashboard = load_dashboard(path)
            for name, offered in variable_options(client, dashboard, values, start, end).items():
                report.append(f"${name}: {offered}")
                if values[name] not in offered:
                    failures.append(f"{path.name}: ${name} does not offer {values[name]}")
            for result in run_queries(client, dashboard, values, start, end):
                q = result.query
                report.append(
                    f"[{q.panel_id}] {q.panel_title} / {q.ref_id}: {result.last_values()}"
                )
                if not result.has_data:
                    failures.append(
                        f"{path.name} panel {q.panel_title!r} {q.ref_id}: {result.expr}"
                    )
                if q.panel_title == "Ready":
                    # Prometheus saw the settled fleet (the run's targets linger for a last scrape).
                    assert max(v for _l, vs in result.series for v in vs) == TRACERS
    text = "\n".join(report)
    (tmp_path / "queries.txt").write_text(text + "\n")
    print(text)
    assert not failures, "queries without data:\n" + "\n".join(failures)


def test_review_dashboards_cli_reports_missing_data(prometheus: Prometheus) -> None:
    # An empty Prometheus: every query of a run it never saw has no data, and the CLI says so.
    code = review_dashboards_main(["--prometheus", prometheus.url, "--run-id", "never-ran"])
    assert code == 1
