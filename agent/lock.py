"""The service's one lock (``s.mu`` in ``service.go``): FIFO, with a non-blocking ``try_acquire``.

Go's ``sync.Mutex`` in the real agent is held by ``ClientGetConfigs`` for the whole call (but
for the bypass waits) and by ``refresh()`` (but around the backend call). The model needs the
same mutual exclusion on one asyncio loop, plus one thing ``asyncio.Lock`` does not offer: a
request that can be served at once (an active client, lock free) is served without a task and
without yielding to the loop (``RcService.serve_now``), which needs to know, synchronously,
whether ``acquire`` would have waited.

Semantics (those of ``asyncio.Lock``, made explicit):

- ``acquire`` takes a free lock at once when nobody waits, else queues (first come, first
  served);
- ``release`` hands the lock to the first waiter still waiting (it stays locked for it), else
  frees it;
- ``try_acquire`` takes the lock only when ``acquire`` would have taken it without waiting: free
  *and* nobody queued, so it never jumps the queue;
- a waiter cancelled after the lock was handed to it passes it on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

__all__ = ["ServiceLock"]


class ServiceLock:
    """A FIFO mutex for coroutines of one event loop."""

    def __init__(self) -> None:
        self._locked = False
        self._waiters: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        """True while someone holds the lock (or it was handed to a waiter not yet resumed)."""
        return self._locked

    @property
    def waiting(self) -> int:
        """Coroutines queued for the lock."""
        return sum(1 for w in self._waiters if not w.done())

    def try_acquire(self) -> bool:
        """Take the lock if ``acquire`` would have taken it without waiting.

        A free lock has nobody queued: ``release`` hands it to a live waiter and only frees it
        when none is left.
        """
        if self._locked:
            return False
        self._locked = True
        return True

    async def acquire(self) -> None:
        """Take the lock, waiting for it in arrival order."""
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # it was handed to us as we were cancelled: pass it on
            else:
                self._remove(waiter)
            raise

    def release(self) -> None:
        """Hand the lock to the first live waiter, or free it."""
        if not self._locked:
            raise RuntimeError("ServiceLock.release: the lock is not held")
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # it now holds the lock
                return
        self._locked = False

    def _remove(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
