"""Faults on Docker (harness.runtime.docker_faults): the engine calls on fake containers, then
end to end, the real services in containers of the harness image, 12 tracers in 4 containers,
one run per fault the Docker runtime applies its own way (restart and kill containers,
disconnect the tracers' network), each asserting the outcome counts exactly; and nothing of the
run is left afterwards. Same shape as tests/harness/test_e2e_faults.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.results.summary import Counts
from harness.run.runner import RunResult, run_scenario
from harness.runtime.base import ComponentSpec
from harness.runtime.docker import DockerHandle, DockerRuntime, connect, leftovers
from harness.runtime.docker_faults import DockerLink
from harness.scenario.model import load_scenario

FAST = [
    "fleet.tracers=12",
    "client.profile=go-2.10",
    "client.poll_interval_s=1",
    "client.request_timeout_s=2",
    "backend.agent_refresh_interval_s=1",
    "timeouts.run_s=30",
]


class Container:
    """A fake ``docker`` container: records the calls; each start or connect publishes its port
    on the next host port and gives it the next address on the run's network, as the engine
    may."""

    def __init__(self, name: str) -> None:
        self.name, self.calls, self.port = name, [], 40000
        self.attrs: dict[str, Any] = {}
        self._publish()

    def _publish(self) -> None:
        self.port += 1
        self.attrs = {
            "NetworkSettings": {
                "Ports": {"8000/tcp": [{"HostPort": str(self.port)}]},
                "Networks": {"rcfl-r": {"IPAddress": f"172.30.0.{self.port - 40000}"}},
            }
        }

    def stop(self, timeout: int) -> None:
        self.calls.append(f"stop {timeout}")

    def start(self) -> None:
        self.calls.append("start")
        self._publish()

    def reload(self) -> None:
        pass


class Network:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def disconnect(self, container: Container, force: bool) -> None:
        self.calls.append(f"disconnect {container.name}")

    def connect(self, container: Container) -> None:
        self.calls.append(f"connect {container.name}")
        container._publish()


def handle(name: str, role: str, mode: str = "published") -> DockerHandle:
    spec = ComponentSpec(name, role, "m")  # type: ignore[arg-type]
    url = "http://127.0.0.1:40001" if mode == "published" else "http://172.30.0.1:8000"
    return DockerHandle(spec, Container(name), url, f"rcfl-r-{name}", mode, "rcfl-r")


@pytest.mark.parametrize(
    ("mode", "after"),
    [("published", "http://127.0.0.1:40002"), ("internal", "http://172.30.0.2:8000")],
)
def test_a_restart_stops_the_container_even_when_the_run_keeps_them(mode: str, after: str) -> None:
    runtime = DockerRuntime("r", client=object(), keep=True)
    agent = handle("agent", "agent", mode)
    runtime.shut_down(agent, timeout=7)
    runtime.revive(agent)
    assert agent.container.calls == ["stop 7", "start"]
    assert agent.host_url == after  # a new host port or address, followed


def test_a_cut_disconnects_the_tracers_only_and_a_restore_follows_their_new_urls() -> None:
    network = Network()
    handles = [handle("agent", "agent", "internal"), handle("tracers-000", "tracer", "internal"),
               handle("tracers-001", "tracer", "internal")]  # fmt: skip
    link = DockerLink("http://rcfl-r-agent:8000", network, lambda: handles, workers=2)
    assert link.url == "http://rcfl-r-agent:8000"
    link.cut()
    link.restore()
    tracers = ("tracers-000", "tracers-001")
    assert sorted(network.calls) == [f"{c} {t}" for c in ("connect", "disconnect") for t in tracers]
    assert [h.host_url for h in handles] == [
        "http://172.30.0.1:8000",
        "http://172.30.0.2:8000",
        "http://172.30.0.2:8000",
    ]


@pytest.fixture
def client(harness_image: str) -> Iterator[Any]:
    client = connect()
    yield client
    client.close()


def run(image: str, client: Any, tmp_path: Path, faults: str) -> RunResult:
    scenario = load_scenario("baseline", [*FAST, f"faults={faults}"])
    result = run_scenario(
        scenario,
        tmp_path,
        lambda run_id, log_dir: DockerRuntime(run_id, image=image, log_dir=log_dir),
        tracers_per_process=3,
        # room for the containers to be healthy before the boot on a busy machine, so that
        # the faults at the boot instant are in place before any tracer starts
        boot_margin=lambda processes, start_cost_s: 20.0,
    )
    containers, networks = leftovers(client, result.run_id)
    assert containers == [] and networks == []
    return result


@pytest.mark.docker
@pytest.mark.e2e
def test_agent_restart(harness_image: str, client: Any, tmp_path: Path) -> None:
    s = run(harness_image, client, tmp_path, "[{kind: agent_restart, at_s: 0, down_s: 3}]").summary
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min >= 3000
    [record] = s.faults
    assert record.ended_at_s is not None and "healthy again at" in record.detail
    assert s.status == "complete"


@pytest.mark.docker
@pytest.mark.e2e
def test_tracer_kill(harness_image: str, client: Any, tmp_path: Path) -> None:
    result = run(harness_image, client, tmp_path,
                 "[{kind: tracer_kill, at_s: 0, fraction: 0.25}]")  # fmt: skip
    s = result.summary
    assert s.counts == Counts(success=9, timeout=0, error=0, crashed=3)
    assert s.health.crashes == 3  # exit code 137
    killed = {row.component for row in result.samples if row.outcome == "crashed"}
    assert len(killed) == 1 and killed.pop() in s.faults[0].detail


@pytest.mark.docker
@pytest.mark.e2e
def test_network_cut(harness_image: str, client: Any, tmp_path: Path) -> None:
    s = run(harness_image, client, tmp_path,
            "[{kind: network_cut, at_s: 0, duration_s: 3}]").summary  # fmt: skip
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min >= 3000
    [record] = s.faults
    assert record.ended_at_s is not None and record.ended_at_s >= 3.0
