"""harness.runtime.docker_engine: names, labels, inspect parsing and the engine calls, on fakes."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import DockerUnavailableError, HarnessError
from harness.runtime.base import ComponentSpec, ComponentStatus
from harness.runtime.docker_engine import (
    LABEL_COMPONENT,
    LABEL_ROLE,
    LABEL_RUN_ID,
    command_for,
    connect,
    container_name,
    host_port_from_attrs,
    labels_for,
    network_name,
    parallel,
    stale_image_warning,
    state_from_attrs,
    sweep,
)
from harness.runtime.images import SOURCE_DIGEST_LABEL, source_digest


def test_names_and_labels_carry_the_run_id() -> None:
    spec = ComponentSpec("tracers-003", "tracer", "tracer_stub", tracers=4)
    assert network_name("ab12") == "rcfl-ab12"
    assert container_name("ab12", "tracers-003") == "rcfl-ab12-tracers-003"
    assert labels_for("ab12") == {LABEL_RUN_ID: "ab12"}
    assert labels_for("ab12", spec) == {
        LABEL_RUN_ID: "ab12",
        LABEL_ROLE: "tracer",
        LABEL_COMPONENT: "tracers-003",
        "harness.tracers": "4",
    }


def test_command_appends_listen_address_after_the_spec_args() -> None:
    spec = ComponentSpec("agent", "agent", "agent", args=("--log-level", "info"))
    assert command_for(spec) == [
        "agent",
        "--log-level",
        "info",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]


@pytest.mark.parametrize(
    ("state", "status", "exit_code", "crashed"),
    [
        ({"Status": "running", "ExitCode": 0}, ComponentStatus.RUNNING, None, False),
        ({"Status": "created", "ExitCode": 0}, ComponentStatus.CREATED, None, False),
        ({"Status": "restarting", "ExitCode": 1}, ComponentStatus.RESTARTING, 1, False),
        ({"Status": "exited", "ExitCode": 0}, ComponentStatus.EXITED, 0, False),
        ({"Status": "exited", "ExitCode": 2}, ComponentStatus.EXITED, 2, True),
        ({"Status": "dead", "ExitCode": 137}, ComponentStatus.EXITED, 137, True),
        (
            {"Status": "exited", "ExitCode": 137, "OOMKilled": True},
            ComponentStatus.EXITED,
            137,
            True,
        ),
    ],
)
def test_state_from_docker_inspect(
    state: dict[str, Any], status: ComponentStatus, exit_code: int | None, crashed: bool
) -> None:
    result = state_from_attrs({"State": state})
    assert (result.status, result.exit_code, result.crashed) == (status, exit_code, crashed)


def test_oom_killed_running_container_counts_as_crashed() -> None:
    assert state_from_attrs({"State": {"Status": "running", "OOMKilled": True}}).crashed


def test_host_port_from_docker_inspect() -> None:
    attrs = {
        "NetworkSettings": {"Ports": {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32781"}]}}
    }
    assert host_port_from_attrs(attrs) == 32781
    assert host_port_from_attrs({"NetworkSettings": {"Ports": {"8000/tcp": None}}}) is None
    assert host_port_from_attrs({}) is None


def test_parallel_returns_results_and_exceptions_in_order() -> None:
    def half(n: int) -> int:
        if n % 2:
            raise ValueError(n)
        return n // 2

    results = parallel(half, range(5), workers=3)
    assert [r if isinstance(r, int) else str(r) for r in results] == [0, "1", 1, "3", 2]


class _UnreachableClient:
    def ping(self) -> bool:
        import docker.errors

        raise docker.errors.DockerException("Error while fetching server API version")


def test_no_engine_error_says_how_to_start_one() -> None:
    with pytest.raises(DockerUnavailableError, match=r"compose/start-dockerd\.sh") as info:
        connect(_UnreachableClient())
    assert isinstance(info.value, HarnessError)


class _Image:
    def __init__(self, labels: dict[str, str] | None) -> None:
        self.attrs = {"Config": {"Labels": labels}}


class _Images:
    def __init__(self, labels: dict[str, str] | None) -> None:
        self.labels = labels

    def get(self, tag: str) -> _Image:
        return _Image(self.labels)


class _ImageClient:
    def __init__(self, labels: dict[str, str] | None) -> None:
        self.images = _Images(labels)


def test_an_image_built_from_other_sources_is_flagged() -> None:
    current = _ImageClient({SOURCE_DIGEST_LABEL: source_digest()})
    assert stale_image_warning(current, "rc-fastlane:dev") is None
    for labels in ({SOURCE_DIGEST_LABEL: "0123456789abcdef"}, None):
        warning = stale_image_warning(_ImageClient(labels), "rc-fastlane:dev")
        assert warning and "rebuild it with `harness image build`" in warning


class _GoneContainers:
    def list(self, **filters: Any) -> list[Any]:
        import docker.errors

        raise docker.errors.DockerException("Connection aborted")


class _GoneClient:
    containers = _GoneContainers()


def test_sweep_without_an_engine_says_how_to_finish_the_job() -> None:
    with pytest.raises(HarnessError, match=r"run `harness down --run-id r9` once the engine"):
        sweep(_GoneClient(), "r9")
