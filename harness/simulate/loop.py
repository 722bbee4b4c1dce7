"""A virtual-time asyncio event loop: when no task is runnable, time jumps to the next timer.

``asyncio.sleep``, ``asyncio.timeout``, ``loop.call_later`` and every model driven by a
:class:`~rc_protocol.clock.LoopClock` on this loop run in virtual time: a simulated minute costs
only the CPU time of what happens in it. Nothing else changes in asyncio: tasks, futures, locks
and their FIFO order are the standard library's, so the agent's, backend's and tracers' asyncio
code runs unchanged.

How: the loop's ``time()`` returns a virtual clock, and its selector's ``select(timeout)``
(called by asyncio only when no callback is ready, with the delay to the next timer) moves that
clock forward by ``timeout`` instead of waiting. There is no I/O in a simulation, so the real
selector is polled only when asyncio asks for a zero-timeout poll; a ``select(None)`` (nothing
runnable and no timer: every task waits for something that can never happen) raises
:class:`~harness.errors.SimulationError` instead of blocking forever.

The maintained library for this, ``looptime`` 0.9 (PyPI), runs 42 no-op loop cycles before
every jump by default, which costs a 20x slowdown on a simulation of this kind, and 2.3x with
``noop_cycles=0``; ``benchmarks/virtual_loop.py`` measures both against this loop.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

from harness.errors import SimulationError

__all__ = ["VirtualTimeLoop"]


class _VirtualSelector(selectors.BaseSelector):
    """A selector that advances its loop's virtual time instead of waiting."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.now = 0.0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise SimulationError(
                "the simulation stalled: no task is runnable and no timer is pending (every "
                "task waits for something that cannot happen); this is a bug of the simulator"
            )
        if timeout <= 0:
            return self._real.select(0)
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is virtual, starting at `start` seconds.

    >>> loop = VirtualTimeLoop()
    >>> loop.run_until_complete(asyncio.sleep(3600.0)); loop.time()
    3600.0
    >>> loop.close()
    """

    def __init__(self, start: float = 0.0) -> None:
        self._virtual = _VirtualSelector()
        self._virtual.now = float(start)
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now
