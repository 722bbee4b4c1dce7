"""Finding a run's local processes by their environment, and stopping them (harness.runtime.procs),
on a fake /proc tree and with fake signals."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from harness.runtime.procs import run_processes, stop_processes
from tests.harness.factories import fake_proc


def test_processes_are_grouped_by_the_run_id_in_their_environment(tmp_path: Path) -> None:
    fake_proc(tmp_path, 10, {"PATH": "/bin", "HARNESS_RUN_ID": "aaaa"})
    fake_proc(tmp_path, 11, {"HARNESS_RUN_ID": "aaaa"})
    fake_proc(tmp_path, 12, {"HARNESS_RUN_ID": "bbbb"})
    fake_proc(tmp_path, 13, {"HARNESS_RUN_ID": "aaaa"}, state="Z")  # a zombie is no process
    fake_proc(tmp_path, 14, {"HARNESS_RUN_IDX": "cccc"})
    fake_proc(tmp_path, os.getpid(), {"HARNESS_RUN_ID": "aaaa"})  # never this process
    (tmp_path / "self").mkdir()
    found = run_processes(tmp_path)
    assert {k: sorted(v) for k, v in found.items()} == {"aaaa": [10, 11], "bbbb": [12]}
    assert run_processes(tmp_path, "bbbb") == {"bbbb": [12]}
    assert run_processes(tmp_path / "absent") == {}


class World:
    """Processes that die on SIGTERM unless stubborn."""

    def __init__(self, alive: set[int], stubborn: set[int]) -> None:
        self.alive, self.stubborn = alive, stubborn
        self.sent: list[tuple[int, int]] = []
        self.now = 0.0

    def kill(self, pid: int, sig: int) -> None:
        self.sent.append((pid, sig))
        if sig == signal.SIGKILL or pid not in self.stubborn:
            self.alive.discard(pid)

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_stop_terminates_then_kills_what_is_left_after_the_grace() -> None:
    world = World({1, 2, 3}, stubborn={2})
    stopped = stop_processes(
        [1, 2, 3, 4],
        grace_s=1.0,
        alive=lambda pid: pid in world.alive,
        kill=world.kill,
        sleep=world.sleep,
        clock=lambda: world.now,
    )
    assert stopped == 3 and world.alive == set()
    assert world.sent == [(1, signal.SIGTERM), (2, signal.SIGTERM), (3, signal.SIGTERM),
                          (2, signal.SIGKILL)]  # fmt: skip
    assert world.now >= 1.0
