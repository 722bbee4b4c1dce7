"""poll_until and apoll_until."""

from __future__ import annotations

import asyncio

import pytest

from rc_protocol.clock import ManualClock
from rc_protocol.errors import ProtocolError, WaitTimeout
from rc_protocol.wait import apoll_until, poll_until


class FakeTime:
    """A hand-written monotonic clock and sleep for the sync helper."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_poll_until_returns_first_value() -> None:
    values = iter([None, False, 0, 5])
    ft = FakeTime()
    out = poll_until(
        lambda: next(values),
        timeout=10,
        interval=1,
        what="x",
        monotonic=ft.monotonic,
        sleep=ft.sleep,
    )
    assert out == 0  # 0 is a value: only None and False mean "not yet"
    assert ft.sleeps == [1, 1]


def test_poll_until_times_out_naming_what() -> None:
    ft = FakeTime()
    calls = 0

    def never() -> None:
        nonlocal calls
        calls += 1

    with pytest.raises(WaitTimeout, match="agent /health") as info:
        poll_until(
            never,
            timeout=2.5,
            interval=1,
            what="agent /health",
            monotonic=ft.monotonic,
            sleep=ft.sleep,
        )
    assert isinstance(info.value, ProtocolError)
    assert isinstance(info.value, TimeoutError)
    assert ft.sleeps == [1, 1, 0.5]  # the last sleep is clipped to the deadline
    assert calls == 4  # a last check at the deadline


def test_poll_until_ignores_listed_exceptions_and_chains_last() -> None:
    ft = FakeTime()

    def refused() -> None:
        raise ConnectionRefusedError("127.0.0.1:1")

    with pytest.raises(WaitTimeout, match="ConnectionRefusedError") as info:
        poll_until(
            refused,
            timeout=1,
            interval=0.5,
            what="port",
            ignore=(ConnectionError,),
            monotonic=ft.monotonic,
            sleep=ft.sleep,
        )
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_poll_until_propagates_other_exceptions() -> None:
    def broken() -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError):
        poll_until(broken, timeout=1, interval=0.1, what="x", ignore=(ConnectionError,))


def test_poll_until_real_time_smoke() -> None:
    assert poll_until(lambda: "ready", timeout=0, interval=1, what="x") == "ready"


async def test_apoll_until_sync_and_async_checks_on_manual_clock() -> None:
    clock = ManualClock()
    state = {"n": 0}

    async def check() -> str | None:
        state["n"] += 1
        return "ok" if clock.monotonic() >= 3 else None

    task = asyncio.create_task(
        apoll_until(check, timeout=10, interval=1, what="three seconds", clock=clock)
    )
    await clock.advance(2.5)
    assert not task.done()
    await clock.advance(0.5)
    assert task.result() == "ok"
    assert state["n"] == 4  # t = 0, 1, 2, 3

    assert await apoll_until(lambda: 1, timeout=1, interval=1, what="sync", clock=clock) == 1


async def test_apoll_until_times_out_on_clock_time() -> None:
    clock = ManualClock()
    task = asyncio.create_task(
        apoll_until(lambda: None, timeout=5, interval=2, what="tracer 7 ready", clock=clock)
    )
    await clock.advance(4.9)
    assert not task.done()
    await clock.advance(0.1)
    with pytest.raises(WaitTimeout, match="tracer 7 ready"):
        task.result()
