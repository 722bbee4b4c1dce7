"""watch_loop_lag reports how late each timer fired, never below zero."""

from __future__ import annotations

import pytest

from rc_protocol.looplag import watch_loop_lag


class LateClock:
    """A clock whose sleeps overrun by the next of ``overruns`` (a busy loop)."""

    def __init__(self, overruns: list[float]) -> None:
        self.now = 100.0
        self.overruns = overruns

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + self.overruns.pop(0)


async def test_each_overrun_is_reported_and_early_wakeups_count_as_zero() -> None:
    seen: list[float] = []
    await watch_loop_lag(LateClock([0.02, 0.0, -0.001]), 0.1, seen.append, rounds=3)
    assert seen == pytest.approx([0.02, 0.0, 0.0])


async def test_a_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        await watch_loop_lag(LateClock([]), -1.0, print, rounds=1)
