"""The Prometheus configurations under compose/prometheus/, checked by Prometheus itself."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.run.promsd import FileSD, TargetGroup
from rc_protocol.wait import poll_until
from tests.dashboards.conftest import REVIEW_CONFIG, Prometheus, prometheus_binary

pytestmark = pytest.mark.prometheus

CONFIGS = sorted(REVIEW_CONFIG.parent.glob("*.yml"))


def test_both_configs_exist() -> None:
    assert [p.name for p in CONFIGS] == ["prometheus.yml", "review.yml"]


@pytest.mark.e2e
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_promtool_accepts_config(config: Path) -> None:
    result = subprocess.run(
        [prometheus_binary("promtool"), "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'# TYPE tracer_run_info gauge\ntracer_run_info{run_id="sd-test"} 1\n'
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def metrics_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.e2e
def test_file_sd_targets_are_scraped_with_their_labels(
    prometheus: Prometheus, metrics_server: str
) -> None:
    labels = {"run_id": "sd-test", "scenario": "s", "component": "tracers-000", "role": "tracer"}
    FileSD(prometheus.sd_dir).update("sd-test", [TargetGroup((metrics_server,), labels)])

    def scraped() -> list[dict[str, Any]] | None:
        result = prometheus.get("/api/v1/query", query='tracer_run_info{run_id="sd-test"}')
        return result["result"] or None

    (series,) = poll_until(scraped, timeout=20, interval=0.25, what="a scrape of the SD target")
    metric = series["metric"]
    assert {k: metric[k] for k in labels} == labels
    assert metric["job"] == "rc-fastlane"
    assert metric["instance"] == metrics_server
    # The exposed run_id clashes with the target label: Prometheus keeps it as exported_run_id.
    assert metric["exported_run_id"] == "sd-test"

    FileSD(prometheus.sd_dir).remove_run("sd-test")

    def dropped() -> bool:
        return not prometheus.get("/api/v1/targets")["activeTargets"]

    poll_until(dropped, timeout=20, interval=0.25, what="the SD target to be dropped")
