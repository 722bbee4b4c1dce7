"""Threads started before the start barrier, for the blocking OpenFeature calls of the tracers.

Registering a provider blocks a thread while its ``initialize`` waits for the first
configuration (openfeature-sdk 0.10 ``provider/_registry.py``: ``set_provider`` starts a thread
per provider, ``set_provider_and_wait`` blocks its caller). Creating a thread costs the caller
until the new thread has been scheduled (``Thread.start`` waits for it); a thousand of them
created at the barrier measured 1.0-1.6 s on a loaded two-core machine, which would smear an
"all at once" boot over that long. So a stub process starts one thread per hosted tracer ahead
of the barrier; at boot a tracer hands its blocking call to a parked thread (a queue put), and
each thread exits after its one call.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator

__all__ = ["Runner", "ThreadBank", "new_thread"]

log = logging.getLogger(__name__)

#: Runs a blocking call somewhere other than the event loop's thread.
Runner = Callable[[Callable[[], None]], None]


def new_thread(
    call: Callable[[], None], thread: Callable[..., threading.Thread] = threading.Thread
) -> None:
    """A `Runner` that starts a fresh daemon thread per call (tests, one-off tracers).

    ``thread`` makes the thread (``threading.Thread``'s arguments); tests pass one that records
    what escapes its target."""
    thread(target=_guarded, args=(call,), daemon=True, name="rc-stub-provider").start()


def _guarded(call: Callable[[], None]) -> None:
    try:
        call()
    except Exception:
        log.exception("blocking provider call failed")


class ThreadBank:
    """`size` daemon threads parked on a queue; each runs one submitted call, then exits."""

    def __init__(self, size: int, name: str = "rc-stub-provider") -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, daemon=True, name=f"{name}-{i}") for i in range(size)
        ]
        self._held: list[Callable[[], None]] | None = None
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        call = self._queue.get()
        if call is not None:
            _guarded(call)

    def submit(self, call: Callable[[], None]) -> None:
        """Hand `call` to a parked thread (never blocks, never creates a thread); within
        :meth:`held`, at the end of the block."""
        if self._held is not None:
            self._held.append(call)
        else:
            self._queue.put(call)

    @property
    def pending(self) -> int:
        """Calls kept by :meth:`held`, not yet handed to a thread."""
        return 0 if self._held is None else len(self._held)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Keep the calls submitted in the block and hand them over when it ends.

        A woken thread takes the GIL from the event loop: handing each tracer's provider
        registration over as the tracer starts made starting 25 tracers take 0.1-0.3 s on a
        busy 2-core machine (a boot spread the harness reports), where starting them all, then
        waking the threads, takes milliseconds.
        """
        self._held = []
        try:
            yield
        finally:
            calls, self._held = self._held, None
            for call in calls:
                self._queue.put(call)

    def close(self) -> None:
        """Release the threads that got no call."""
        for _ in self._threads:
            self._queue.put(None)
