"""Threads parked ahead of the barrier run the blocking calls handed to them."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tracer_stub.threads import ThreadBank, new_thread


def test_bank_runs_each_call_on_its_own_parked_thread() -> None:
    bank = ThreadBank(3)
    gate = threading.Event()
    names: list[str] = []
    done = threading.Barrier(4)

    def call() -> None:
        names.append(threading.current_thread().name)
        gate.wait(5)  # all three block at once: none waits for another
        done.wait(5)

    for _ in range(3):
        bank.submit(call)
    gate.set()
    done.wait(5)
    assert len(set(names)) == 3
    bank.close()


def test_bank_threads_exit_after_close() -> None:
    bank = ThreadBank(2)
    bank.close()
    for t in bank._threads:
        t.join(5)
        assert not t.is_alive()


class WatchedThread(threading.Thread):
    """A thread that records what escapes its target (passed to `new_thread` as its maker)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.escaped: list[BaseException] = []

    def run(self) -> None:
        try:
            super().run()
        except BaseException as exc:
            self.escaped.append(exc)


def test_a_failing_call_does_not_escape(caplog: pytest.LogCaptureFixture) -> None:
    made: list[WatchedThread] = []

    def watched(**kwargs: Any) -> WatchedThread:
        made.append(WatchedThread(**kwargs))
        return made[-1]

    def boom() -> None:
        raise RuntimeError("boom")

    new_thread(boom, watched)
    [thread] = made
    thread.join(5)
    assert not thread.is_alive() and thread.daemon and thread.name == "rc-stub-provider"
    assert thread.escaped == []  # caught by the runner, not left to the thread's excepthook
    assert "blocking provider call failed" in caplog.text and "boom" in caplog.text


def test_calls_submitted_while_held_run_when_the_block_ends() -> None:
    bank = ThreadBank(2)
    ran = threading.Semaphore(0)
    with bank.held():
        bank.submit(ran.release)
        bank.submit(ran.release)
        assert bank.pending == 2  # kept: no thread has them yet
    assert bank.pending == 0
    assert ran.acquire(timeout=5) and ran.acquire(timeout=5)
    bank.close()
