"""The cache-bypass rate limiter: a fixed window aligned to the wall clock.

Models ``rateLimiter.Limit`` of the real agent (``pkg/config/remote/service``; built in
``NewService`` as ``refreshBypassLimiter`` with ``windowDuration = refresh interval`` and
``capacity = allowance = clientCacheBypassLimit``):

- the current window is ``now.Truncate(windowDuration)``; Go truncates relative to the zero
  time (0001-01-01 UTC), which this model reproduces so that odd window sizes align as in Go;
- when the window changes, the allowance resets to the capacity (no carry-over, no refill
  inside a window);
- a bypass is allowed while the allowance is > 0, and each allowed bypass consumes one.

The limiter is used only from the poll loop, so it needs no locking. The window duration can be
changed at run time (``refresh()`` applies the backend's ``agent_refresh_interval`` to it).
"""

from __future__ import annotations

import math

# Seconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch.
GO_ZERO_TO_UNIX_S = 62_135_596_800
_NS = 1_000_000_000


def go_truncate(wall_s: float, window_s: float) -> float:
    """``time.Unix(wall_s).Truncate(window)`` as unix seconds (integer nanosecond arithmetic)."""
    window_ns = round(window_s * _NS)
    if window_ns <= 0:
        return wall_s
    whole = math.floor(wall_s)
    since_zero_ns = (whole + GO_ZERO_TO_UNIX_S) * _NS + round((wall_s - whole) * _NS)
    truncated = since_zero_ns - since_zero_ns % window_ns
    secs, rest_ns = divmod(truncated, _NS)
    return (secs - GO_ZERO_TO_UNIX_S) + rest_ns / _NS


class FixedWindowLimiter:
    """``rateLimiter``: ``capacity`` bypasses per wall-clock-aligned window of ``window_s``."""

    def __init__(self, capacity: int, window_s: float, now_wall: float) -> None:
        self.capacity = capacity
        self.window_s = window_s
        # NewService starts with currentWindow = time.Now() (not truncated) and a full allowance.
        self._current_window = now_wall
        self._allowance = capacity

    @property
    def allowance(self) -> int:
        """Bypasses left in the current window (as of the last call to :meth:`allow`)."""
        return self._allowance

    def allow(self, now_wall: float) -> bool:
        """Consume one bypass if the window has any left (``!Limit()`` in Go)."""
        window = go_truncate(now_wall, self.window_s)
        if window != self._current_window:
            self._current_window = window
            self._allowance = self.capacity
        if self._allowance <= 0:
            return False
        self._allowance -= 1
        return True
