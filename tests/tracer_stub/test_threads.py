"""Threads parked ahead of the barrier run the blocking calls handed to them."""

from __future__ import annotations

import threading

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


def test_a_failing_call_does_not_escape(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    escaped: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    ran = threading.Event()

    def boom() -> None:
        ran.set()
        raise RuntimeError("boom")

    new_thread(boom)
    assert ran.wait(5)
    for t in threading.enumerate():
        if t.name == "rc-stub-provider":
            t.join(5)
    assert escaped == []  # caught by the runner, not the thread's excepthook
    assert "blocking provider call failed" in caplog.text and "boom" in caplog.text
