"""The examples of workers on other machines (compose/locust/) are valid and run the fleet's
locustfile as a plain Locust worker."""

from __future__ import annotations

from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "compose" / "locust"


def test_the_compose_example_runs_plain_locust_workers_with_the_fleets_locustfile() -> None:
    compose = yaml.safe_load((EXAMPLES / "docker-compose.workers.yml").read_text())
    worker = compose["services"]["worker"]
    command = " ".join(worker["command"])
    assert "locust --worker" in command and "tracer_locust.worker" in command
    assert "LOCUSTFILE" in command and "--master-host" in command
    assert {"RC_STUB_AGENT_URL", "RC_LOCUST_ADVERTISE_HOST"} <= set(worker["environment"])


def test_the_kubernetes_example_advertises_each_pods_metrics() -> None:
    deployment = yaml.safe_load((EXAMPLES / "k8s-workers.yaml").read_text())
    assert deployment["kind"] == "Deployment"
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert "locust --worker" in container["args"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["RC_LOCUST_ADVERTISE_HOST"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"


def test_the_locustfile_the_examples_name_exists() -> None:
    assert (Path(__file__).resolve().parents[2] / "tracer_locust" / "locustfile.py").is_file()
