"""File-based service discovery: the targets.json the harness writes for Prometheus."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import PromSDError
from harness.run.promsd import (
    SD_DIR_ENV,
    FileSD,
    TargetGroup,
    component_groups,
    published_targets,
    sd_dir_from_env,
    target_address,
)
from harness.runtime.base import ComponentSpec, ComponentState, ComponentStatus


@dataclass
class FakeHandle:
    spec: ComponentSpec
    host_url: str
    internal_url: str = ""

    def state(self) -> ComponentState:
        return ComponentState(ComponentStatus.RUNNING)

    def log_tail(self, lines: int = 30) -> str:
        return ""


def handles() -> list[FakeHandle]:
    return [
        FakeHandle(ComponentSpec("backend", "backend", "fake_backend"), "http://127.0.0.1:9001"),
        FakeHandle(ComponentSpec("agent", "agent", "agent"), "http://127.0.0.1:9002"),
        FakeHandle(
            ComponentSpec("tracers-000", "tracer", "tracer_stub", tracers=5),
            "http://127.0.0.1:9003",
        ),
    ]


def test_target_address_strips_scheme() -> None:
    assert target_address("http://127.0.0.1:8126/") == "127.0.0.1:8126"


def test_target_address_without_port_is_an_error() -> None:
    with pytest.raises(PromSDError, match="host:port"):
        target_address("http://127.0.0.1")


def test_component_groups_carry_run_labels() -> None:
    groups = component_groups(handles(), run_id="r1", scenario="phase3")
    assert [g.targets for g in groups] == [
        ("127.0.0.1:9001",),
        ("127.0.0.1:9002",),
        ("127.0.0.1:9003",),
    ]
    assert dict(groups[2].labels) == {
        "run_id": "r1",
        "scenario": "phase3",
        "component": "tracers-000",
        "role": "tracer",
        "kind": "stub",
    }


def test_update_writes_prometheus_file_sd_format(tmp_path: Path) -> None:
    sd = FileSD(tmp_path)
    sd.update("r1", component_groups(handles(), run_id="r1", scenario="baseline"))
    raw = json.loads((tmp_path / "targets.json").read_text())
    assert raw[0] == {
        "targets": ["127.0.0.1:9001"],
        "labels": {
            "component": "backend",
            "role": "backend",
            "run_id": "r1",
            "scenario": "baseline",
        },
    }
    assert len(raw) == 3
    # Only targets.json matches Prometheus's *.json glob: no temporary file left behind.
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["targets.json"]
    assert not list(tmp_path.glob("*.tmp"))
    assert (tmp_path / "targets.json").stat().st_mode & 0o044 == 0o044


def test_update_replaces_only_its_own_run(tmp_path: Path) -> None:
    sd = FileSD(tmp_path)
    sd.update("stack", [TargetGroup(("127.0.0.1:1",), {"run_id": "stack"})])
    sd.update("r1", component_groups(handles(), run_id="r1", scenario="s"))
    sd.update("r1", component_groups(handles()[:1], run_id="r1", scenario="s"))
    assert [(g.labels["run_id"], g.targets) for g in sd.read()] == [
        ("stack", ("127.0.0.1:1",)),
        ("r1", ("127.0.0.1:9001",)),
    ]
    sd.remove_run("r1")
    assert [g.labels["run_id"] for g in sd.read()] == ["stack"]


def test_update_refuses_a_group_of_another_run(tmp_path: Path) -> None:
    with pytest.raises(PromSDError, match="run_id='r1'"):
        FileSD(tmp_path).update("r1", [TargetGroup(("127.0.0.1:1",), {"run_id": "r2"})])


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    def publish(i: int) -> None:
        # A FileSD per thread, as separate harness processes would have.
        FileSD(tmp_path).update(f"r{i}", [TargetGroup((f"127.0.0.1:{i}",), {"run_id": f"r{i}"})])

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(1, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(g.labels["run_id"] for g in FileSD(tmp_path).read()) == sorted(
        f"r{i}" for i in range(1, 21)
    )


def test_corrupt_targets_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "targets.json").write_text("{not json")
    with pytest.raises(PromSDError, match=r"targets\.json.*delete the file"):
        FileSD(tmp_path).read()


def test_group_without_targets_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "targets.json").write_text('[{"labels": {}}]')
    with pytest.raises(PromSDError, match="targets"):
        FileSD(tmp_path).read()


def test_unwritable_directory_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PromSDError, match="--prometheus-sd"):
        FileSD(blocker / "sd").update("r1", [])


def test_sd_dir_option_wins_over_env(tmp_path: Path) -> None:
    assert sd_dir_from_env(tmp_path, {SD_DIR_ENV: "/elsewhere"}) == tmp_path
    assert sd_dir_from_env(None, {SD_DIR_ENV: "/elsewhere"}) == Path("/elsewhere")
    assert sd_dir_from_env(None, {SD_DIR_ENV: " "}) is None
    assert sd_dir_from_env(None, {}) is None


def test_published_targets_lingers_then_removes_the_run(tmp_path: Path) -> None:
    slept: list[float] = []
    sd = FileSD(tmp_path)
    with published_targets(
        tmp_path, handles(), run_id="r1", scenario="s", linger_s=2.0, sleep=slept.append
    ):
        assert len(sd.read()) == 3
        assert slept == []
    assert slept == [2.0]
    assert sd.read() == []


def test_published_targets_removes_the_run_at_once_on_error(tmp_path: Path) -> None:
    slept: list[float] = []
    with (
        pytest.raises(KeyboardInterrupt),
        published_targets(tmp_path, handles(), run_id="r1", scenario="s", sleep=slept.append),
    ):
        raise KeyboardInterrupt
    assert slept == []
    assert FileSD(tmp_path).read() == []


def test_published_targets_without_dir_does_nothing(tmp_path: Path) -> None:
    with published_targets(None, handles(), run_id="r1", scenario="s") as sd:
        assert sd is None
    assert list(tmp_path.iterdir()) == []
