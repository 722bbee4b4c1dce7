"""A service dies with the harness that started it (rc_protocol.lifeline): the rules with fake
kill/getppid seams, and once for real with a SIGKILLed parent process (marker e2e)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from rc_protocol.lifeline import PARENT_PID_ENV, tie_to_parent, watch_parent


@pytest.fixture(autouse=True)
def restore_sighup() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, previous)


class Kills:
    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []

    def __call__(self, pid: int, sig: int) -> None:
        self.sent.append((pid, sig))


def test_without_a_harness_only_sighup_is_handled() -> None:
    kills = Kills()
    lifeline = tie_to_parent({}, kill=kills, watch=False)
    assert (lifeline.parent, lifeline.death_signal) == (None, False)
    assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    assert kills.sent == []


def test_a_parent_already_gone_is_a_sigterm_at_once() -> None:
    kills = Kills()
    lifeline = tie_to_parent({PARENT_PID_ENV: "999999"}, kill=kills, getppid=lambda: 1, watch=False)
    assert lifeline.parent == 999999
    assert kills.sent == [(os.getpid(), signal.SIGTERM)]


def test_the_live_parent_is_left_alone() -> None:
    kills = Kills()
    tie_to_parent({PARENT_PID_ENV: str(os.getppid())}, kill=kills, watch=False)
    assert kills.sent == []


@pytest.mark.parametrize(("signalled", "first"), [(False, [signal.SIGTERM]), (True, [])])
def test_the_watcher_terminates_then_kills_once_the_parent_is_gone(
    signalled: bool, first: list[signal.Signals]
) -> None:
    parents = iter([42, 42, 42, 1])
    slept: list[float] = []
    kills = Kills()
    watch_parent(
        42,
        poll_s=0.5,
        grace_s=4.0,
        signalled=signalled,
        kill=kills,
        getppid=lambda: next(parents),
        sleep=slept.append,
    )
    assert [sig for _, sig in kills.sent] == [*first, signal.SIGKILL]
    assert slept == [0.5, 0.5, 0.5, 4.0]


CHILD = textwrap.dedent(
    """
    import sys, time
    from rc_protocol.lifeline import tie_to_parent
    tie_to_parent()
    print("tied", flush=True)
    time.sleep(120)
    """
)
PARENT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen(
        [sys.executable, "-c", sys.argv[1]],
        env={**os.environ, "HARNESS_PARENT_PID": str(os.getpid())},
        stdout=sys.stdout,
    )
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.e2e
def test_a_sigkilled_parent_takes_its_child_along() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == "tied"
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{child}/stat") as stat:
            if stat.read().split()[2] == "Z":
                return  # gone, waiting for init to reap it
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the child outlived its SIGKILLed parent by 10 s")
