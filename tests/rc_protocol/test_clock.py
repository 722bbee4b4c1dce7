"""ManualClock, SystemClock and wait_for."""

from __future__ import annotations

import asyncio

import pytest

from rc_protocol.clock import ManualClock, SystemClock, wait_for


def test_manual_clock_starts_at_given_wall_time() -> None:
    clock = ManualClock(start_wall=1_700_000_000.0)
    assert clock.time() == 1_700_000_000.0
    assert clock.monotonic() == 0.0


async def test_advance_moves_wall_and_monotonic_together() -> None:
    clock = ManualClock(start_wall=1_700_000_000.0, start_monotonic=10.0)
    await clock.advance(2.5)
    assert clock.monotonic() == 12.5
    assert clock.time() == 1_700_000_002.5


async def test_advance_rejects_negative() -> None:
    with pytest.raises(ValueError, match="back in time"):
        await ManualClock().advance(-1)


async def test_sleeper_wakes_at_its_deadline_not_before() -> None:
    clock = ManualClock()
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.sleep(1.0)
        woke.append(clock.monotonic())

    task = asyncio.create_task(sleeper())
    await clock.advance(0.999)
    assert woke == []
    await clock.advance(0.001)
    assert woke == [1.0]
    await task


async def test_deadlines_visited_in_order_and_time_set_to_each() -> None:
    clock = ManualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [
        asyncio.create_task(sleeper("late", 3.0)),
        asyncio.create_task(sleeper("early", 1.0)),
        asyncio.create_task(sleeper("mid", 2.0)),
    ]
    await clock.advance(10)
    assert woke == [("early", 1.0), ("mid", 2.0), ("late", 3.0)]
    assert clock.monotonic() == 10.0
    await asyncio.gather(*tasks)


async def test_simultaneous_deadlines_wake_in_registration_order() -> None:
    clock = ManualClock()
    woke: list[str] = []

    async def sleeper(name: str) -> None:
        await clock.sleep(1.0)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper(n)) for n in ("a", "b", "c", "d")]
    await clock.advance(1.0)
    assert woke == ["a", "b", "c", "d"]
    await asyncio.gather(*tasks)


async def test_sleep_registered_by_woken_task_fires_within_same_advance() -> None:
    clock = ManualClock()
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(5):
            await clock.sleep(1.0)
            ticks.append(clock.monotonic())

    task = asyncio.create_task(ticker())
    await clock.advance(3.5)
    assert ticks == [1.0, 2.0, 3.0]
    await clock.advance(10)
    assert ticks == [1.0, 2.0, 3.0, 4.0, 5.0]
    await task


async def test_woken_task_chain_through_other_awaits_still_runs() -> None:
    """A woken task that hops through an event and a queue before sleeping again is settled."""
    clock = ManualClock()
    event = asyncio.Event()
    queue: asyncio.Queue[int] = asyncio.Queue()
    seen: list[tuple[str, float]] = []

    async def producer() -> None:
        await clock.sleep(1.0)
        event.set()

    async def relay() -> None:
        await event.wait()
        await queue.put(1)

    async def consumer() -> None:
        await queue.get()
        seen.append(("got", clock.monotonic()))
        await clock.sleep(0.5)
        seen.append(("slept", clock.monotonic()))

    tasks = [asyncio.create_task(f()) for f in (producer, relay, consumer)]
    await clock.advance(2.0)
    assert seen == [("got", 1.0), ("slept", 1.5)]
    await asyncio.gather(*tasks)


async def test_cancelling_a_sleeper_removes_its_deadline() -> None:
    clock = ManualClock()

    async def sleeper() -> None:
        await clock.sleep(5.0)

    task = asyncio.create_task(sleeper())
    await clock.run_until_idle()
    assert clock.pending_deadlines() == [5.0]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.pending_deadlines() == []
    await clock.advance(10)  # nothing to wake, nothing breaks
    assert clock.monotonic() == 10.0


async def test_zero_sleep_returns_without_advancing() -> None:
    clock = ManualClock()
    await clock.sleep(0)
    await clock.sleep(-1)
    assert clock.monotonic() == 0.0
    assert clock.pending_deadlines() == []


async def test_run_until_idle_lets_started_tasks_register() -> None:
    clock = ManualClock()
    task = asyncio.create_task(clock.sleep(2.0))
    assert clock.pending_deadlines() == []
    await clock.run_until_idle()
    assert clock.pending_deadlines() == [2.0]
    await clock.advance(2.0)
    assert task.done()


async def test_advance_to_absolute_time() -> None:
    clock = ManualClock(start_monotonic=5.0)
    await clock.advance_to(7.0)
    assert clock.monotonic() == 7.0
    await clock.advance_to(6.0)
    assert clock.monotonic() == 7.0


async def test_wait_for_returns_result_and_cancels_timer() -> None:
    clock = ManualClock()
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(wait_for(clock, fut, 2.0))
    await clock.advance(1.0)
    assert not task.done()
    fut.set_result("ok")
    await clock.run_until_idle()
    assert task.result() == "ok"
    assert clock.pending_deadlines() == []  # the losing timer's deadline is gone


async def test_wait_for_times_out_on_clock_time_and_cancels_work() -> None:
    clock = ManualClock()
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(wait_for(clock, fut, 2.0))
    await clock.advance(1.999)
    assert not task.done()
    await clock.advance(0.001)
    assert task.done()
    with pytest.raises(TimeoutError):
        task.result()
    assert fut.cancelled()


async def test_wait_for_propagates_work_exception() -> None:
    clock = ManualClock()

    async def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await wait_for(clock, boom(), 1.0)
    await clock.run_until_idle()
    assert clock.pending_deadlines() == []


async def test_wait_for_with_coroutine_that_sleeps_on_the_clock() -> None:
    clock = ManualClock()

    async def work(seconds: float) -> float:
        await clock.sleep(seconds)
        return clock.monotonic()

    fast = asyncio.create_task(wait_for(clock, work(0.5), 1.0))
    slow = asyncio.create_task(wait_for(clock, work(1.5), 1.0))
    await clock.advance(5)
    assert fast.result() == 0.5
    with pytest.raises(TimeoutError):
        slow.result()
    assert clock.pending_deadlines() == []


async def test_wait_for_none_timeout_just_awaits() -> None:
    async def value() -> int:
        return 7

    assert await wait_for(ManualClock(), value(), None) == 7


async def test_cancelling_wait_for_cancels_both() -> None:
    clock = ManualClock()
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(wait_for(clock, fut, 5.0))
    await clock.run_until_idle()
    assert clock.pending_deadlines() == [5.0]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await clock.run_until_idle()
    assert fut.cancelled()
    assert clock.pending_deadlines() == []


async def test_system_clock_wait_for_both_ways() -> None:
    clock = SystemClock()

    async def quick() -> str:
        return "done"

    assert await wait_for(clock, quick(), 1.0) == "done"
    with pytest.raises(TimeoutError):
        await wait_for(clock, asyncio.Event().wait(), 0.01)


async def test_system_clock_reads_real_time() -> None:
    import time

    clock = SystemClock()
    assert abs(clock.time() - time.time()) < 1.0
    before = clock.monotonic()
    await clock.sleep(0)
    assert clock.monotonic() >= before
