"""End-to-end faults on Docker: the real services in containers of the harness image, 12 tracers
in 4 containers, one run per fault the Docker runtime applies its own way (restart and kill
containers, disconnect the tracers' network), each asserting the outcome counts exactly; and
nothing of the run is left afterwards. Same shape as tests/harness/test_e2e_faults.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.results.summary import Counts
from harness.run.runner import RunResult, run_scenario
from harness.runtime.docker import DockerRuntime, connect, leftovers
from harness.scenario.model import load_scenario

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

FAST = [
    "fleet.tracers=12",
    "client.profile=go-2.10",
    "client.poll_interval_s=1",
    "client.request_timeout_s=2",
    "backend.agent_refresh_interval_s=1",
    "timeouts.run_s=30",
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


def test_agent_restart(harness_image: str, client: Any, tmp_path: Path) -> None:
    s = run(harness_image, client, tmp_path, "[{kind: agent_restart, at_s: 0, down_s: 3}]").summary
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min >= 3000
    [record] = s.faults
    assert record.ended_at_s is not None and "healthy again at" in record.detail
    assert s.status == "complete"


def test_tracer_kill(harness_image: str, client: Any, tmp_path: Path) -> None:
    result = run(harness_image, client, tmp_path,
                 "[{kind: tracer_kill, at_s: 0, fraction: 0.25}]")  # fmt: skip
    s = result.summary
    assert s.counts == Counts(success=9, timeout=0, error=0, crashed=3)
    assert s.health.crashes == 3  # exit code 137
    killed = {row.component for row in result.samples if row.outcome == "crashed"}
    assert len(killed) == 1 and killed.pop() in s.faults[0].detail


def test_network_cut(harness_image: str, client: Any, tmp_path: Path) -> None:
    s = run(harness_image, client, tmp_path,
            "[{kind: network_cut, at_s: 0, duration_s: 3}]").summary  # fmt: skip
    assert s.counts == Counts(success=12, timeout=0, error=0, crashed=0)
    assert s.provider_ready_ms is not None and s.provider_ready_ms.min >= 3000
    [record] = s.faults
    assert record.ended_at_s is not None and record.ended_at_s >= 3.0
