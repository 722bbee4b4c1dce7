"""How a tracer runs its concurrent activities: the one seam between its rules and an event loop.

A tracer has a few activities besides its caller: one fetch loop per lane, the provider's init
timer, and the OpenFeature SDK's handler threads that report back. `SimulatedTracer` and
`RcClient` reach them only through a `Tasks` object, so that the same code (every rule of the
client and the provider) runs on asyncio in a stub process (`AsyncioTasks`, the default) and on
gevent greenlets in a Locust worker (``tracer_locust.gevent_tasks``), with nothing written twice.

A `Tasks` object provides: ``spawn`` a coroutine as a concurrent activity, ``cancel`` some and
wait until they are gone, ``wait_for`` an awaitable with a timeout on a clock, and
``call_soon_threadsafe`` to hand a callback from another thread (the SDK's) to the tracer's own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeVar

from rc_protocol.clock import Clock, wait_for

__all__ = ["AsyncioTasks", "TaskHandle", "Tasks"]

T = TypeVar("T")


class TaskHandle(Protocol):
    """A running activity that can be cancelled (``asyncio.Task``, a greenlet's wrapper)."""

    def cancel(self) -> object: ...


class Tasks(Protocol):
    """Where a tracer's activities run."""

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> TaskHandle:
        """Run `coro` concurrently with the caller; return its handle."""
        ...

    async def cancel(self, handles: Sequence[TaskHandle]) -> None:
        """Cancel these activities and return once every one of them has ended."""
        ...

    async def wait_for(self, clock: Clock, aw: Awaitable[T], timeout: float) -> T:
        """Await `aw`; raise `TimeoutError` after `timeout` seconds of `clock` time."""
        ...

    def call_soon_threadsafe(self, callback: Callable[..., None], *args: object) -> None:
        """Run ``callback(*args)`` soon in the tracer's own thread (from any thread); dropped
        when the tracer's loop is gone."""
        ...


class AsyncioTasks:
    """`Tasks` on the running asyncio event loop (the stub process)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> TaskHandle:
        loop = asyncio.get_running_loop()
        self._loop = loop
        return loop.create_task(coro, name=name)

    async def cancel(self, handles: Sequence[TaskHandle]) -> None:
        for handle in handles:
            handle.cancel()
        for handle in handles:
            assert isinstance(handle, asyncio.Task)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await handle

    async def wait_for(self, clock: Clock, aw: Awaitable[T], timeout: float) -> T:
        return await wait_for(clock, aw, timeout)

    def call_soon_threadsafe(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback, *args)
