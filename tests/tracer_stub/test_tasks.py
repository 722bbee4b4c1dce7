"""AsyncioTasks: the default place a tracer's activities run (tracer_stub.tasks)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rc_protocol.clock import ManualClock
from tracer_stub.tasks import AsyncioTasks


async def test_spawn_runs_concurrently_and_cancel_waits_for_the_end() -> None:
    tasks = AsyncioTasks()
    clock = ManualClock()
    events: list[str] = []

    async def activity() -> None:
        try:
            await clock.sleep(10)
            events.append("woke")
        finally:
            events.append("cleaned up")

    handle = tasks.spawn(activity(), "activity")
    await clock.advance(1)
    await tasks.cancel([handle])
    assert events == ["cleaned up"]


async def test_wait_for_times_out_on_the_clock() -> None:
    tasks = AsyncioTasks()
    clock = ManualClock()
    never = asyncio.Event()
    waiting = asyncio.ensure_future(tasks.wait_for(clock, never.wait(), 3.0))
    await clock.advance(2.9)
    assert not waiting.done()
    await clock.advance(0.2)
    with pytest.raises(TimeoutError):
        await waiting


async def test_call_soon_threadsafe_runs_on_the_loop_from_another_thread() -> None:
    tasks = AsyncioTasks()
    done = asyncio.Event()

    async def noop() -> None:
        return None

    await tasks.cancel([tasks.spawn(noop(), "binds the loop")])
    seen: list[bool] = []

    def callback() -> None:
        seen.append(threading.current_thread() is threading.main_thread())
        done.set()

    thread = threading.Thread(target=tasks.call_soon_threadsafe, args=(callback,))
    thread.start()
    thread.join()
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [True]


def test_call_soon_threadsafe_before_any_loop_is_dropped() -> None:
    seen: list[int] = []
    AsyncioTasks().call_soon_threadsafe(seen.append, 1)
    assert seen == []
