"""A real Prometheus (Debian's ``prometheus`` binary) for the dashboard tests.

Tests marked ``prometheus`` skip when the binary is missing, unless ``HARNESS_REQUIRE_PROMETHEUS``
is set (CI sets it): then they fail, so that the query tests can never skip silently. The
package's own systemd service plays no part: the fixture runs the binary itself with the review
stack's configuration (``compose/prometheus/review.yml``, file-SD path pointed at a temporary
directory), a temporary storage directory and a free 127.0.0.1 port, and stops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.review.dashboards import DASHBOARDS_DIR
from rc_protocol.wait import poll_until

REVIEW_CONFIG = DASHBOARDS_DIR.parent / "compose" / "prometheus" / "review.yml"
REQUIRE_ENV = "HARNESS_REQUIRE_PROMETHEUS"


def prometheus_binary(name: str = "prometheus") -> str:
    """Path of a Prometheus tool, or skip (fail under ``HARNESS_REQUIRE_PROMETHEUS``)."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else "")
    if path:
        return path
    message = f"{name} not found: install Debian's package with `apt-get install -y prometheus`"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{REQUIRE_ENV} is set but {message}", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Prometheus:
    url: str
    sd_dir: Path
    log: Path

    def get(self, path: str, **params: Any) -> Any:
        """GET an API path; the ``data`` of a successful answer."""
        response = httpx.get(self.url + path, params=params, timeout=10)
        body = response.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    binary = prometheus_binary()
    sd_dir = tmp_path / "file_sd"
    sd_dir.mkdir()
    config = yaml.safe_load(REVIEW_CONFIG.read_text())
    for job in config["scrape_configs"]:
        for sd in job.get("file_sd_configs", []):
            sd["files"] = [str(sd_dir / "*.json")]
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as log_fh:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"prometheus exited {proc.returncode}: {log.read_text()}")
            return httpx.get(url + "/-/ready", timeout=1).status_code == 200

        poll_until(
            ready, timeout=30, interval=0.2, what=f"prometheus at {url}", ignore=(httpx.HTTPError,)
        )
        yield Prometheus(url, sd_dir, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
