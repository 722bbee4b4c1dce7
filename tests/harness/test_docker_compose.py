"""compose/: the docker-compose stack and the Dockerfile, checked statically: the YAML is parsed
and every reference it makes (build context, Dockerfile, mounted files, service names in URLs
and scrape targets) is checked against the repository. test_compose_up.py brings the stack up
for real with Debian's docker-compose.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose"
HARNESS_SERVICES = {"backend": "fake_backend", "agent": "agent", "tracers": "tracer_stub"}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE / "docker-compose.yml")


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    services = compose["services"]
    assert isinstance(services, dict)
    return services


def test_stack_has_every_component(services: dict[str, Any]) -> None:
    assert set(services) == {"backend", "agent", "tracers", "prometheus", "grafana"}


@pytest.mark.parametrize(("service", "module"), sorted(HARNESS_SERVICES.items()))
def test_harness_services_run_a_module_of_this_project(
    services: dict[str, Any], service: str, module: str
) -> None:
    spec = services[service]
    assert spec["command"][:1] == [module]
    assert (ROOT / module / "__init__.py").is_file(), f"{module} is not a package here"
    assert spec["command"][1:] == ["--host", "0.0.0.0", "--port", "8000"]
    assert spec["image"].endswith("rc-fastlane:dev}")
    build = spec["build"]
    context = COMPOSE / build["context"]
    assert (context / build["dockerfile"]).is_file()
    assert "BASE_IMAGE" in build["args"]
    assert spec["dns"] == ["127.0.0.1"], "containers must not resolve outside names"


def test_dockerfile_installs_offline_as_non_root() -> None:
    text = (COMPOSE / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", text, re.M)
    assert "FROM ${BASE_IMAGE}" in text
    assert "--no-index --find-links" in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0:", "0")), "must run as non-root"
    assert ".sock" not in text


def test_published_ports_are_on_loopback_only(services: dict[str, Any]) -> None:
    published = [(name, p) for name, s in services.items() for p in s.get("ports", [])]
    assert published, "backend, agent, prometheus and grafana publish a port"
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert "ports" not in services["tracers"], "tracer replicas cannot share a host port"


def test_tracers_scale(services: dict[str, Any]) -> None:
    replicas = services["tracers"]["deploy"]["replicas"]
    assert re.fullmatch(r"\$\{TRACER_CONTAINERS:-\d+\}", str(replicas))


def test_urls_name_services_of_the_stack(services: dict[str, Any]) -> None:
    env = {**services["agent"]["environment"], **services["tracers"]["environment"]}
    for key in ("RC_AGENT_BACKEND_URL", "RC_STUB_AGENT_URL", "DD_TRACE_AGENT_URL"):
        host = re.fullmatch(r"http://([a-z_]+):8000", env[key])
        assert host and host.group(1) in services, f"{key}={env[key]}"


def test_no_service_mounts_the_docker_socket(services: dict[str, Any]) -> None:
    for name, spec in services.items():
        for volume in spec.get("volumes", []):
            assert "docker.sock" not in volume, f"{name} mounts the Docker socket"


def test_mounted_files_exist(services: dict[str, Any]) -> None:
    mounts = [v for s in services.values() for v in s.get("volumes", [])]
    assert mounts
    for volume in mounts:
        source = volume.split(":")[0]
        assert source.startswith("."), f"{volume}: bind mounts are relative to compose/"
        assert (COMPOSE / source).exists(), f"{volume}: {source} does not exist"


def test_grafana_uses_the_dashboards_provisioning(services: dict[str, Any]) -> None:
    volumes = services["grafana"]["volumes"]
    assert "../dashboards/provisioning:/etc/grafana/provisioning:ro" in volumes
    datasources = list((ROOT / "dashboards/provisioning/datasources").glob("*.y*ml"))
    assert datasources
    urls = [ds["url"] for f in datasources for ds in load(f)["datasources"]]
    assert "http://prometheus:9090" in urls
    container_port = services["prometheus"]["ports"][0].rsplit(":", 1)[1]
    assert container_port == "9090"
    providers = load(ROOT / "dashboards/provisioning/dashboards/rc-fastlane.yaml")["providers"]
    dash_path = providers[0]["options"]["path"]
    assert any(v.endswith(f":{dash_path}:ro") for v in volumes), "dashboards folder not mounted"


def test_prometheus_scrapes_every_component(services: dict[str, Any]) -> None:
    config = load(COMPOSE / "prometheus/prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name in ("backend", "agent"):
        assert jobs[name]["static_configs"][0]["targets"] == [f"{name}:8000"]
    dns = jobs["tracers"]["dns_sd_configs"][0]
    assert dns["names"] == ["tracers"] and dns["port"] == 8000
    assert config["global"]["scrape_interval"] == "1s"


SETTINGS_PREFIX = {
    "backend": ("RC_BACKEND_", "fake_backend.settings"),
    "agent": ("RC_AGENT_", "agent.settings"),
    "tracers": ("RC_STUB_", "tracer_stub.settings"),
}


@pytest.mark.parametrize("service", sorted(SETTINGS_PREFIX))
def test_environment_names_real_settings(services: dict[str, Any], service: str) -> None:
    import dataclasses
    import importlib

    prefix, module = SETTINGS_PREFIX[service]
    settings = importlib.import_module(module).Settings
    fields = {f.name for f in dataclasses.fields(settings)}
    names = [k for k in services[service]["environment"] if k.startswith(prefix)]
    assert names
    for name in names:
        assert name.removeprefix(prefix).lower() in fields, f"{service}: {name} sets nothing"


def test_harness_containers_are_isolated_like_the_runtimes(services: dict[str, Any]) -> None:
    for name in HARNESS_SERVICES:
        spec = services[name]
        assert spec["cap_drop"] == ["ALL"] and spec["security_opt"] == ["no-new-privileges:true"]
        assert spec["pids_limit"] > 0 and spec["mem_limit"]
    assert services["tracers"]["networks"] == ["rc"], "tracers on the internal network only"


def test_the_stack_network_is_internal_and_debians_compose_can_read_the_file(
    compose: dict[str, Any],
) -> None:
    assert compose["networks"]["rc"] == {"internal": True}
    assert "name" not in compose, "docker-compose 1.29 refuses a top-level name"
