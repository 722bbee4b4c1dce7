"""The virtual-time event loop, and LoopClock and wait_for on it."""

from __future__ import annotations

import asyncio

import pytest

from harness.errors import SimulationError
from harness.simulate.loop import VirtualTimeLoop
from rc_protocol.clock import LoopClock, wait_for


def run(coro: object) -> tuple[object, float]:
    loop = VirtualTimeLoop()
    try:
        result = loop.run_until_complete(coro)  # type: ignore[arg-type]
        return result, loop.time()
    finally:
        loop.close()


def test_sleepers_wake_in_deadline_order_at_their_virtual_instant() -> None:
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        woke.append((name, asyncio.get_running_loop().time()))

    async def main() -> None:
        await asyncio.gather(sleeper("c", 30.0), sleeper("a", 1.5), sleeper("b", 7.25))

    _, end = run(main())
    assert woke == [("a", 1.5), ("b", 7.25), ("c", 30.0)]
    assert end == 30.0


def test_a_lock_keeps_its_fifo_order_and_time_stands_still_while_tasks_run() -> None:
    order: list[tuple[int, float]] = []

    async def main() -> None:
        lock = asyncio.Lock()
        loop = asyncio.get_running_loop()

        async def worker(i: int) -> None:
            async with lock:
                order.append((i, loop.time()))
                await asyncio.sleep(0.5)

        await asyncio.gather(*(worker(i) for i in range(3)))

    run(main())
    assert order == [(0, 0.0), (1, 0.5), (2, 1.0)]


def test_loop_clock_wait_for_times_out_on_virtual_time() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        clock = LoopClock(loop, start_wall=1_000.0)
        with pytest.raises(TimeoutError):
            await wait_for(clock, asyncio.sleep(100.0), 2.5)
        assert clock.time() == 1_002.5
        return clock.monotonic()

    result, _ = run(main())
    assert result == 2.5


def test_a_stall_is_an_error_not_a_hang() -> None:
    async def main() -> None:
        await asyncio.get_running_loop().create_future()  # nothing will ever complete it

    with pytest.raises(SimulationError, match="stalled"):
        run(main())
