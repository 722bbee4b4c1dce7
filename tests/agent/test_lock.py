"""ServiceLock: FIFO hand-off, try_acquire never jumps the queue, cancellation passes it on."""

from __future__ import annotations

import asyncio

import pytest

from agent.lock import ServiceLock


async def test_try_acquire_takes_a_free_lock_only() -> None:
    lock = ServiceLock()
    assert lock.try_acquire() and lock.locked()
    assert not lock.try_acquire()
    lock.release()
    assert not lock.locked() and lock.try_acquire()


async def test_waiters_get_the_lock_in_arrival_order_and_try_acquire_waits_its_turn() -> None:
    lock = ServiceLock()
    await lock.acquire()
    order: list[str] = []

    async def take(name: str) -> None:
        await lock.acquire()
        order.append(name)
        lock.release()

    tasks = [asyncio.create_task(take(n)) for n in ("a", "b", "c")]
    await asyncio.sleep(0)
    assert lock.waiting == 3
    lock.release()  # handed to "a": still locked, nobody may take it out of turn
    assert lock.locked() and not lock.try_acquire()
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c"] and not lock.locked()


async def test_a_waiter_cancelled_after_the_hand_off_passes_the_lock_on() -> None:
    lock = ServiceLock()
    await lock.acquire()
    first = asyncio.create_task(lock.acquire())
    second = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    lock.release()  # handed to first...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.sleep(0)
    await second
    assert first.cancelled() and lock.locked() and lock.waiting == 0
    lock.release()
    assert not lock.locked()


async def test_a_waiter_cancelled_while_queued_leaves_the_queue() -> None:
    lock = ServiceLock()
    await lock.acquire()
    waiter = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert lock.waiting == 0
    lock.release()
    assert not lock.locked()


def test_release_of_a_free_lock_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not held"):
        ServiceLock().release()
