"""How late an asyncio event loop runs its timers: the delay a busy process adds to everything.

A service that models latency must know when it is itself the latency. :func:`watch_loop_lag`
sleeps ``interval_s`` on the injected clock, again and again, and reports by how much each
sleep overran (never below 0): on an idle loop a few tenths of a millisecond, on a loop that
runs callbacks back to back (a saturated server) as long as the queue of ready work. Every
request, poll and timer of that process waits about as long before its own code runs.
"""

from __future__ import annotations

from collections.abc import Callable

from rc_protocol.clock import Clock

__all__ = ["watch_loop_lag"]


async def watch_loop_lag(
    clock: Clock, interval_s: float, observe: Callable[[float], None], *, rounds: int | None = None
) -> None:
    """Report each timer's lateness to ``observe`` until cancelled (or after ``rounds``).

    >>> import asyncio
    >>> from rc_protocol.clock import ManualClock
    >>> seen: list[float] = []
    >>> asyncio.run(watch_loop_lag(ManualClock(), 0.0, seen.append, rounds=2))
    >>> seen
    [0.0, 0.0]
    """
    if interval_s < 0:
        raise ValueError(f"interval_s must be >= 0, got {interval_s}")
    done = 0
    while rounds is None or done < rounds:
        due = clock.monotonic() + interval_s
        await clock.sleep(interval_s)
        observe(max(0.0, clock.monotonic() - due))
        done += 1
