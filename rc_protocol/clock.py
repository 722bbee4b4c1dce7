"""Clocks: the one source of time for every policy in the project.

Policies (the agent's lock, bypass hand-off and 2 s budget, the limiter windows, the tracer
poll loops) take a `Clock` instead of calling `time` or `asyncio.sleep` directly, so that tests
drive them with `ManualClock` and never sleep for real.

- `SystemClock`: `time.monotonic`, `time.time`, `asyncio.sleep`.
- `ManualClock`: time moves only when a test calls `await clock.advance(seconds)`. Its wall
  clock (`time()`) starts at a chosen unix time, so wall-clock-aligned windows (the agent's
  rate limiter, datadog-agent `clients.go` ``now.Truncate(window)``) can be tested.
- `FastForwardClock`: every `sleep` moves time forward at once, for code whose only waits are
  polls (the harness's runner with an in-memory runtime): a run of minutes takes milliseconds.
- `LoopClock`: the time of one event loop (``loop.time()``) and ``asyncio.sleep``: the system
  clock on a normal loop, virtual time on a loop whose time jumps to its next timer
  (``harness simulate``), where every task of every model shares one virtual clock.
- `wait_for(clock, awaitable, timeout)`: `asyncio.wait_for` on the clock's time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time as _time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["Clock", "FastForwardClock", "LoopClock", "ManualClock", "SystemClock", "wait_for"]

T = TypeVar("T")

#: Default wall time of a `ManualClock`: 2023-11-14T22:13:20Z, a round number of seconds.
DEFAULT_START_WALL = 1_700_000_000.0


@runtime_checkable
class Clock(Protocol):
    """Something that tells the time and can sleep."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (origin unspecified)."""
        ...

    def time(self) -> float:
        """Wall-clock unix time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for `seconds` of this clock's time."""
        ...


class SystemClock:
    """The real clock: `time.monotonic`, `time.time` and `asyncio.sleep`."""

    def monotonic(self) -> float:
        return _time.monotonic()

    def time(self) -> float:
        return _time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


class LoopClock:
    """The clock of one event loop: ``monotonic()`` is ``loop.time()``, ``sleep`` asyncio's.

    On a virtual-time loop (time jumps to the next timer when no task is runnable) every model
    driven by this clock runs in virtual time with the loop's own timers, so ``wait_for`` can use
    ``asyncio.timeout`` as with the system clock. The wall clock (``time()``) starts at
    `start_wall` when the clock is made.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, start_wall: float = DEFAULT_START_WALL):
        self._loop = loop
        self._wall_offset = float(start_wall) - loop.time()

    def monotonic(self) -> float:
        return self._loop.time()

    def time(self) -> float:
        return self._loop.time() + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"LoopClock(monotonic={self.monotonic()})"


@dataclass(order=True)
class _Sleeper:
    deadline: float
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class ManualClock:
    """A clock that moves only when told to; for deterministic tests of timing policies.

    ``sleep(s)`` registers a deadline ``monotonic() + s`` and suspends until `advance` reaches
    it. ``advance(seconds)`` visits every pending deadline up to ``now + seconds`` in order
    (equal deadlines in registration order), sets the time to that deadline, wakes its sleepers
    and lets the event loop run until no task is runnable, so that a woken task can register a
    new sleep that still falls inside the same advance. Cancelling a sleeping task removes its
    deadline.

    Args:
        start_wall: the unix time `time()` returns before any advance.
        start_monotonic: the value `monotonic()` returns before any advance.
        max_idle_yields: bound on the event-loop yields of one settling step (a task that
            never stops rescheduling itself cannot hang a test).
    """

    def __init__(
        self,
        start_wall: float = DEFAULT_START_WALL,
        *,
        start_monotonic: float = 0.0,
        max_idle_yields: int = 10_000,
    ) -> None:
        self._mono = float(start_monotonic)
        self._wall_offset = float(start_wall) - self._mono
        self._sleepers: list[_Sleeper] = []
        self._seq = itertools.count()
        self._max_idle_yields = max_idle_yields

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._mono + self._wall_offset

    def pending_deadlines(self) -> list[float]:
        """Deadlines (monotonic) of the tasks currently sleeping, earliest first."""
        return sorted(s.deadline for s in self._sleepers if not s.future.done())

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        sleeper = _Sleeper(self._mono + seconds, next(self._seq), loop.create_future())
        heapq.heappush(self._sleepers, sleeper)
        try:
            await sleeper.future
        finally:
            if not sleeper.future.done() or sleeper.future.cancelled():
                self._discard(sleeper)

    def _discard(self, sleeper: _Sleeper) -> None:
        try:
            self._sleepers.remove(sleeper)
        except ValueError:
            return
        heapq.heapify(self._sleepers)

    async def run_until_idle(self) -> None:
        """Yield to the event loop until no other task is runnable (bounded)."""
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)  # asyncio's run queue; absent under uvloop
        if ready is None:
            for _ in range(min(self._max_idle_yields, 100)):
                await asyncio.sleep(0)
            return
        for _ in range(self._max_idle_yields):
            await asyncio.sleep(0)
            if not ready:
                return

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking every sleeper whose deadline is reached."""
        if seconds < 0:
            raise ValueError(f"ManualClock.advance: cannot go back in time ({seconds} s)")
        target = self._mono + seconds
        await self.run_until_idle()
        while self._sleepers and self._sleepers[0].deadline <= target:
            deadline = self._sleepers[0].deadline
            self._mono = max(self._mono, deadline)
            while self._sleepers and self._sleepers[0].deadline <= deadline:
                sleeper = heapq.heappop(self._sleepers)
                if not sleeper.future.done():
                    sleeper.future.set_result(None)
            await self.run_until_idle()
        self._mono = target
        await self.run_until_idle()

    async def advance_to(self, monotonic: float) -> None:
        """Advance to an absolute monotonic time (no-op if already past it)."""
        await self.advance(max(0.0, monotonic - self._mono))

    def __repr__(self) -> str:
        return f"ManualClock(monotonic={self._mono}, time={self.time()})"


class FastForwardClock:
    """A clock whose ``sleep`` returns at once, having moved time forward by the amount slept.

    For one task polling something that also reads this clock (a fake component whose state is
    a function of time): concurrent sleepers are not ordered against each other, so tasks that
    must interleave in time need :class:`ManualClock` instead.

    >>> import asyncio
    >>> clock = FastForwardClock(start_wall=100.0)
    >>> asyncio.run(clock.sleep(2.5)); clock.monotonic(), clock.time()
    (2.5, 102.5)
    """

    def __init__(self, start_wall: float = DEFAULT_START_WALL) -> None:
        self._mono = 0.0
        self._wall_offset = float(start_wall)

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._mono + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        self._mono += max(0.0, seconds)
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FastForwardClock(monotonic={self._mono})"


async def wait_for(clock: Clock, aw: Awaitable[T], timeout: float | None) -> T:
    """Await `aw`, giving up after `timeout` seconds of `clock` time with `TimeoutError`.

    The loser of the race is cancelled: `aw` on timeout, the clock's sleep otherwise. With
    `timeout=None`, just awaits `aw`.
    """
    if timeout is None:
        return await aw
    if isinstance(clock, SystemClock | LoopClock):  # the loop's own timers keep its time
        async with asyncio.timeout(max(0.0, timeout)):
            return await aw
    work: asyncio.Future[T] = asyncio.ensure_future(aw)
    timer = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait((work, timer), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        work.cancel()
        timer.cancel()
        raise
    if work.done():
        timer.cancel()
        return work.result()
    work.cancel()
    await asyncio.wait((work,))
    if not work.cancelled():
        work.exception()  # mark it retrieved: the timeout is what the caller sees
    raise TimeoutError(f"timed out after {timeout} s")
