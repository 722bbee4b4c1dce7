"""compose/docker-compose.yml brought up for real with Debian's docker-compose (1.29), as people
run it by hand: backend, agent, tracer replicas and Prometheus from the harness images, no
registry (marker docker). Grafana needs a registry and is left out."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.review.stack import LOCAL_PROMETHEUS_IMAGE, ensure_prometheus_image
from harness.runtime.docker import connect
from harness.runtime.images import DEFAULT_BASE_TAG
from rc_protocol.wait import poll_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

COMPOSE = Path(__file__).resolve().parents[2] / "compose"
TRACER_CONTAINERS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def stack(harness_image: str) -> Iterator[tuple[dict[str, str], list[str]]]:
    tool = shutil.which("docker-compose")
    if tool is None:
        message = "no docker-compose: `apt-get install -y docker-compose` (Debian's, 1.29)"
        if os.environ.get("HARNESS_REQUIRE_DOCKER"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    client = connect()
    try:
        ensure_prometheus_image(client, LOCAL_PROMETHEUS_IMAGE, DEFAULT_BASE_TAG)
    finally:
        client.close()
    env = {
        **os.environ,
        "HARNESS_IMAGE": harness_image,
        "PROMETHEUS_IMAGE": LOCAL_PROMETHEUS_IMAGE,
        "TRACER_CONTAINERS": str(TRACER_CONTAINERS),
        "CLIENT_POLICY": "fastlane",
        "BACKEND_PORT": str(free_port()),
        "AGENT_PORT": str(free_port()),
        "PROMETHEUS_PORT": str(free_port()),
    }
    command = [tool, "-f", str(COMPOSE / "docker-compose.yml"), "-p", f"rcfl{uuid.uuid4().hex[:8]}"]
    try:
        yield env, command
    finally:
        subprocess.run([*command, "down", "-v", "--timeout", "5"], env=env, check=False,
                       capture_output=True)  # fmt: skip


def test_the_stack_comes_up_isolated_and_serves_its_tracers(
    stack: tuple[dict[str, str], list[str]],
) -> None:
    env, command = stack
    up = subprocess.run(
        [*command, "up", "-d", "--no-build", "backend", "agent", "tracers", "prometheus"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr[-3000:]
    prometheus = f"http://127.0.0.1:{env['PROMETHEUS_PORT']}"

    def every_tracer_ready() -> bool:
        answer = httpx.get(
            prometheus + "/api/v1/query",
            params={"query": 'sum(tracer_outcome{outcome="ready"})'},
            timeout=5,
        ).json()
        result = answer["data"]["result"]
        return bool(result) and float(result[0]["value"][1]) == TRACER_CONTAINERS

    poll_until(every_tracer_ready, timeout=120, interval=1, what="tracers ready",
               ignore=(httpx.HTTPError, KeyError))  # fmt: skip
    agent = httpx.get(f"http://127.0.0.1:{env['AGENT_PORT']}/metrics", timeout=5).text
    assert 'agent_rc_requests_total{lane="fast",outcome="update"}' in agent

    ids = subprocess.run([*command, "ps", "-q", "tracers"], env=env, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    assert len(ids) == TRACER_CONTAINERS
    inspected: list[dict[str, Any]] = json.loads(
        subprocess.run(
            ["docker", "inspect", *ids], capture_output=True, text=True, check=True
        ).stdout
    )
    for container in inspected:
        host = container["HostConfig"]
        assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges:true"]
        assert host["PidsLimit"] > 0 and host["Memory"] > 0
        assert not container["NetworkSettings"]["Ports"]
    egress = subprocess.run(
        ["docker", "exec", ids[0], "python", "-c",
         "import socket; s = socket.socket(); s.settimeout(3); s.connect(('1.1.1.1', 80))"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert egress.returncode != 0, "a tracer container reached outside the stack"
