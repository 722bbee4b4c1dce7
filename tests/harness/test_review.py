"""The review stack of ``harness up``: container definitions (pure) and one real bring-up."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import docker.errors
import httpx
import pytest
import yaml

from harness.errors import ReviewError
from harness.review.dashboards import DASHBOARDS_DIR
from harness.review.stack import (
    DEFAULT_GRAFANA_IMAGE,
    LOCAL_PROMETHEUS_IMAGE,
    PROMETHEUS_DIR,
    PROMETHEUS_PORT,
    UpOptions,
    ensure_prometheus_image,
    grafana_container,
    prometheus_container,
    service_specs,
    up,
)
from harness.run.credentials import Credentials
from harness.run.promsd import FileSD
from harness.runtime.docker import LABEL_RUN_ID
from harness.scenario.model import load_scenario
from rc_protocol.wait import poll_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def options(tmp_path: Path, **kw: Any) -> UpOptions:
    return UpOptions(run_id="abc123", scenario=load_scenario("baseline"), sd_dir=tmp_path, **kw)


def test_prometheus_listens_on_loopback_in_the_host_network(tmp_path: Path) -> None:
    c = prometheus_container(options(tmp_path, prometheus_port=9999))
    assert c["network_mode"] == "host"
    assert "--web.listen-address=127.0.0.1:9999" in c["command"]
    assert c["labels"][LABEL_RUN_ID] == "abc123"
    assert c["name"].endswith("abc123-prometheus")
    mounts = {v["bind"]: (k, v["mode"]) for k, v in c["volumes"].items()}
    assert mounts["/etc/prometheus/prometheus.yml"] == (
        str((PROMETHEUS_DIR / "review.yml").resolve()),
        "ro",
    )
    assert mounts["/etc/prometheus/file_sd"] == (str(tmp_path.resolve()), "ro")


def test_review_config_watches_the_mounted_sd_dir() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "review.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["file_sd_configs"][0]["files"] == ["/etc/prometheus/file_sd/*.json"]


def test_grafana_reaches_the_provisioned_datasource(tmp_path: Path) -> None:
    c = grafana_container(options(tmp_path, grafana_port=3333))
    assert c["network_mode"] == "host"
    assert c["extra_hosts"] == {"prometheus": "127.0.0.1"}
    env = c["environment"]
    assert (env["GF_SERVER_HTTP_ADDR"], env["GF_SERVER_HTTP_PORT"]) == ("127.0.0.1", "3333")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_ANALYTICS_CHECK_FOR_UPDATES"] == "false"
    binds = {v["bind"]: k for k, v in c["volumes"].items()}
    assert binds["/etc/grafana/provisioning"] == str(DASHBOARDS_DIR.resolve() / "provisioning")
    # The provider loads the folder the dashboards are mounted on, and the home dashboard is in it.
    (provider_file,) = (DASHBOARDS_DIR / "provisioning" / "dashboards").glob("*.yaml")
    path = yaml.safe_load(provider_file.read_text())["providers"][0]["options"]["path"]
    assert binds[path] == str(DASHBOARDS_DIR.resolve())
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DASHBOARDS_DIR / Path(home).relative_to(path)).exists()
    # The data source (http://prometheus:9090) is Prometheus's default port in the stack.
    (ds_file,) = (DASHBOARDS_DIR / "provisioning" / "datasources").glob("*.yaml")
    url = yaml.safe_load(ds_file.read_text())["datasources"][0]["url"]
    assert httpx.URL(url).host == "prometheus"
    assert httpx.URL(url).port == PROMETHEUS_PORT


def test_service_specs_carry_run_id_and_scenario_settings() -> None:
    credentials = Credentials.fresh()
    backend, agent = service_specs(load_scenario("phase3"), "r9", credentials)
    assert backend.env["RC_BACKEND_RUN_ID"] == "r9"
    assert agent.env["RC_AGENT_RUN_ID"] == "r9"
    assert agent.env["RC_AGENT_POLICY"] == "fastlane"
    assert backend.env["DD_API_KEY"] == agent.env["DD_API_KEY"] == credentials.api_key
    assert backend.env["RC_BACKEND_ADMIN_TOKEN"] == credentials.admin_token
    assert "RC_BACKEND_ADMIN_TOKEN" not in agent.env


class FakeImages:
    def __init__(self, present: set[str]) -> None:
        self.present = present
        self.built: list[dict[str, Any]] = []

    def get(self, tag: str) -> str:
        if tag not in self.present:
            raise docker.errors.ImageNotFound(tag)
        return tag

    def build(self, **kw: Any) -> None:
        self.built.append(kw)


class FakeClient:
    def __init__(self, present: set[str]) -> None:
        self.images = FakeImages(present)


def test_present_prometheus_image_is_used_as_is() -> None:
    client = FakeClient({LOCAL_PROMETHEUS_IMAGE})
    ensure_prometheus_image(client, LOCAL_PROMETHEUS_IMAGE, "base")
    assert client.images.built == []


def test_missing_registry_image_says_pull() -> None:
    with pytest.raises(ReviewError, match=r"docker pull prom/prometheus"):
        ensure_prometheus_image(FakeClient(set()), "prom/prometheus", "base")


def test_missing_local_image_is_built_offline_from_the_host_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_binary = tmp_path / "prometheus"
    fake_binary.write_text("#!/bin/sh\n")
    fake_binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    client = FakeClient({"base:1"})
    ensure_prometheus_image(client, LOCAL_PROMETHEUS_IMAGE, "base:1")
    (build,) = client.images.built
    assert build["network_mode"] == "none"
    assert build["buildargs"] == {"BASE_IMAGE": "base:1"}
    assert build["tag"] == LOCAL_PROMETHEUS_IMAGE


def test_no_binary_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReviewError, match="apt-get install -y prometheus"):
        ensure_prometheus_image(FakeClient({"base:1"}), LOCAL_PROMETHEUS_IMAGE, "base:1")


def test_missing_grafana_image_suggests_no_grafana(tmp_path: Path) -> None:
    with pytest.raises(ReviewError, match="--no-grafana"):
        up(options(tmp_path), FakeClient({LOCAL_PROMETHEUS_IMAGE}))
    assert DEFAULT_GRAFANA_IMAGE.startswith("grafana/grafana:")


def test_a_taken_prometheus_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    # Without the check the readiness poll would be answered by whatever holds the port.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ReviewError, match=rf"127.0.0.1:{port}.*--prometheus-port"):
            up(
                options(tmp_path / "sd", grafana_image=None, prometheus_port=port),
                FakeClient({LOCAL_PROMETHEUS_IMAGE}),
            )
    assert not (tmp_path / "sd").exists()


def test_an_unusable_sd_dir_is_a_review_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ReviewError, match=r"file-SD directory .* --sd-dir"):
        up(
            options(tmp_path / "file" / "sd", grafana_image=None, prometheus_port=free_port()),
            FakeClient({LOCAL_PROMETHEUS_IMAGE}),
        )


@pytest.mark.docker
def test_up_serves_prometheus_scraping_backend_and_agent(
    harness_image: str, tmp_path: Path
) -> None:
    from harness.runtime.docker import connect, leftovers, sweep

    client = connect()
    opts = options(tmp_path / "sd", image=harness_image, grafana_image=None, prometheus_port=19090)
    try:
        stack = up(opts, client, say=lambda _line: None)
        assert stack.grafana_url is None
        assert set(stack.components) == {"backend", "agent"}

        def both_up() -> list[dict[str, Any]] | None:
            data = httpx.get(
                stack.prometheus_url + "/api/v1/query",
                params={"query": 'up{run_id="abc123"} == 1'},
                timeout=5,
            ).json()["data"]["result"]
            return data if len(data) == 2 else None

        result = poll_until(both_up, timeout=30, interval=0.5, what="backend and agent scraped")
        assert {r["metric"]["role"] for r in result} == {"backend", "agent"}
        assert {r["metric"]["scenario"] for r in result} == {"baseline"}
    finally:
        sweep(client, "abc123")
    assert leftovers(client, "abc123") == ([], [])
    # The stack's own targets stay in its SD directory (harmless once Prometheus is gone).
    assert [g.labels["role"] for g in FileSD(tmp_path / "sd").read()] == ["backend", "agent"]
