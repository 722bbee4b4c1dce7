"""``harness down`` (harness.runtime.cleanup) on a fake engine and a fake /proc: which runs it
removes, and which it leaves alone and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import DockerUnavailableError
from harness.runtime.cleanup import down
from harness.runtime.ownership import RunLock
from tests.harness.factories import fake_proc

ME = "me@here"


class Obj:
    def __init__(self, engine: Engine, run_id: str, **labels: str) -> None:
        self.engine = engine
        self.labels = {"harness.run_id": run_id, **labels}
        self.attrs = {"Labels": self.labels}
        self.name = f"rcfl-{run_id}"

    def remove(self, **_: Any) -> None:
        self.engine.removed.append(self.labels["harness.run_id"])
        self.engine.objects.remove(self)


class Listing:
    def __init__(self, engine: Engine, kind: str) -> None:
        self.engine, self.kind = engine, kind

    def list(self, all: bool = False, filters: dict[str, str] | None = None) -> list[Obj]:
        wanted = (filters or {}).get("label", "")
        run = wanted.split("=", 1)[1] if "=" in wanted else None
        return [
            o
            for o in self.engine.objects
            if o.kind == self.kind and (run is None or o.labels["harness.run_id"] == run)
        ]


class Engine:
    """Containers and networks with labels; removing them is recorded."""

    def __init__(self) -> None:
        self.objects: list[Any] = []
        self.removed: list[str] = []
        self.containers = Listing(self, "container")
        self.networks = Listing(self, "network")

    def add(self, run_id: str, **labels: str) -> None:
        for kind in ("container", "network"):
            obj = Obj(self, run_id, **labels)
            obj.kind = kind  # type: ignore[attr-defined]
            self.objects.append(obj)

    def close(self) -> None:
        pass


@pytest.fixture
def world(tmp_path: Path) -> tuple[Engine, Path, Path]:
    engine = Engine()
    engine.add("gone", **{"harness.owner": ME})
    engine.add("old")  # made before the owner label existed
    engine.add("live", **{"harness.owner": ME})
    engine.add("stack", **{"harness.owner": ME, "harness.stack": "review"})
    engine.add("theirs", **{"harness.owner": "you@there"})
    proc, state = tmp_path / "proc", tmp_path / "state"
    fake_proc(proc, 101, {"HARNESS_RUN_ID": "local"})
    fake_proc(proc, 102, {"HARNESS_RUN_ID": "live"})
    return engine, proc, state


def run_down(world: tuple[Engine, Path, Path], **options: Any) -> tuple[Any, list[list[int]]]:
    engine, proc, state = world
    stopped: list[list[int]] = []

    def stop(pids: list[int]) -> int:
        stopped.append(sorted(pids))
        return len(pids)

    result = down(docker=lambda: engine, proc=proc, state=state, me=ME, stop=stop, **options)
    return result, stopped


def test_without_a_run_id_only_runs_whose_harness_is_gone_go(
    world: tuple[Engine, Path, Path],
) -> None:
    lock = RunLock("live", world[2])
    lock.acquire()
    try:
        result, stopped = run_down(world)
    finally:
        lock.release()
    assert result.removed == ["gone", "local", "old"]
    assert (result.alive, result.review, result.foreign) == (["live"], ["stack"], ["theirs"])
    assert (result.containers, result.networks, result.processes) == (2, 2, 1)
    assert stopped == [[101]]
    assert sorted(set(world[0].removed)) == ["gone", "old"]


def test_review_stacks_go_when_asked(world: tuple[Engine, Path, Path]) -> None:
    result, _ = run_down(world, review=True)
    assert "stack" in result.removed and result.review == []


def test_a_run_id_removes_that_run_whatever_it_is(world: tuple[Engine, Path, Path]) -> None:
    lock = RunLock("live", world[2])
    lock.acquire()
    try:
        result, stopped = run_down(world, run_id="live")
    finally:
        lock.release()
    assert result.removed == ["live"] and stopped == [[102]]
    assert set(world[0].removed) == {"live"}


def test_without_an_engine_local_processes_still_go(world: tuple[Engine, Path, Path]) -> None:
    _, proc, state = world

    def no_engine() -> Any:
        raise DockerUnavailableError("connection refused")

    result = down(docker=no_engine, proc=proc, state=state, me=ME, stop=len)
    assert result.removed == ["live", "local"] and result.processes == 2
    assert "only local processes were looked for" in result.notes[0]
