"""The tracer's activities on gevent greenlets: `tracer_stub.tasks.Tasks` for a Locust worker.

The tracer and its RC client are written as coroutines (``async def``) against a clock, a
transport, permits and a `Tasks` object. Under Locust every one of those blocks the calling
greenlet instead of suspending a coroutine: `GeventClock.sleep` is ``gevent.sleep``, the
transport is Locust's gevent HTTP client, `GeventPermits` waits on a gevent event. A coroutine
built only on them never yields to an event loop, so :func:`drive` runs it to completion with one
``send(None)`` inside a greenlet, and gevent interleaves the greenlets. Cancelling kills the
greenlet: ``GreenletExit`` is raised where it blocks and unwinds the coroutine's frames (its
``finally`` blocks run, e.g. a fetcher releases its permit). A coroutine that awaits an asyncio
object anyway is a bug in a seam: :func:`drive` raises `AsyncioUnderGevent` naming it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from typing import Any, TypeVar

import gevent
import gevent.event

from rc_protocol.clock import Clock
from tracer_stub.client.policy import PermitPool
from tracer_stub.tasks import TaskHandle

__all__ = [
    "AsyncioUnderGevent",
    "GeventClock",
    "GeventPermits",
    "GeventTasks",
    "drive",
]

T = TypeVar("T")


class AsyncioUnderGevent(RuntimeError):
    """A coroutine run by :func:`drive` awaited something that needs an asyncio event loop."""


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion in the calling greenlet (it blocks instead of suspending)."""
    try:
        awaited = coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coro.close()
    name = getattr(coro, "__qualname__", repr(coro))
    raise AsyncioUnderGevent(
        f"{name} awaited {awaited!r}, which needs an asyncio event loop: under gevent every "
        "awaitable must block the greenlet (see tracer_locust.gevent_tasks)"
    )


class GeventClock:
    """The real clock; ``sleep`` blocks the greenlet (`rc_protocol.clock.Clock`)."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        gevent.sleep(max(0.0, seconds))


class _Greenlet:
    """A `TaskHandle` over a greenlet: ``cancel`` kills it without waiting."""

    def __init__(self, greenlet: gevent.Greenlet[..., Any]) -> None:
        self.greenlet = greenlet

    def cancel(self) -> None:
        self.greenlet.kill(block=False)


class GeventTasks:
    """`tracer_stub.tasks.Tasks` on greenlets; ``wait_for`` uses real time (``gevent.Timeout``)."""

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> TaskHandle:
        greenlet = gevent.spawn(drive, coro)
        greenlet.name = name
        return _Greenlet(greenlet)

    async def cancel(self, handles: Sequence[TaskHandle]) -> None:
        greenlets = [h.greenlet for h in handles if isinstance(h, _Greenlet)]
        gevent.killall(greenlets, block=True)

    async def wait_for(self, clock: Clock, aw: Awaitable[T], timeout: float) -> T:
        del clock  # the real clock: GeventClock is the only clock under gevent
        timer = gevent.Timeout(max(0.0, timeout))
        timer.start()
        try:
            return await aw
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            raise TimeoutError(f"timed out after {timeout} s") from None
        finally:
            timer.close()

    def call_soon_threadsafe(self, callback: Callable[..., None], *args: object) -> None:
        gevent.get_hub().loop.run_callback_threadsafe(callback, *args)


class GeventPermits:
    """A lane's `PermitPool` as greenlets wait on it (FIFO, the pool's own rule)."""

    def __init__(self, pool: PermitPool) -> None:
        self.pool = pool
        self._waiters: dict[Hashable, gevent.event.Event] = {}

    async def acquire(self, holder: Hashable) -> None:
        if self.pool.request(holder):
            return
        granted = gevent.event.Event()
        self._waiters[holder] = granted
        try:
            granted.wait()
        except BaseException:
            self._waiters.pop(holder, None)
            self.release(holder)
            raise

    def release(self, holder: Hashable) -> None:
        granted = self.pool.release(holder)
        if granted is not None:
            waiter = self._waiters.pop(granted, None)
            if waiter is not None:
                waiter.set()
