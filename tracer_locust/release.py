"""The start signal of a Locust worker (docs/contracts.md, "The start signal").

A worker is one tracer process for the harness: with ``RC_STUB_START_SIGNAL=http`` among the
tracers' settings, it answers ``GET /ready-to-start`` and ``POST /start {"start_at": T}`` on its
``/metrics`` endpoint, and its tracers start at ``T`` (or at the deadline ``RC_STUB_START_AT``
when no signal came by then). Without it they start at ``RC_STUB_START_AT``.

In a ramp the master spawns the users at Locust's spawn rate from the fleet's own instant, so
the worker passes ``T`` on (`on_release`): the harness gives each process its first tracer's
instant, ``T + first_tracer * stagger``, from which the master recovers the fleet's ``T``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

import gevent.event

__all__ = ["StartGate"]

Answer = tuple[str, dict[str, object]]


class StartGate:
    """Readiness, the release instant, and the wait for it, of one worker."""

    def __init__(
        self,
        *,
        use_signal: bool,
        deadline: float | None,
        tracers: int,
        is_ready: Callable[[], bool],
        on_release: Callable[[float], None] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.use_signal = use_signal
        self.deadline = deadline
        self.tracers = tracers
        self.is_ready = is_ready
        self.on_release = on_release
        self.now = now
        self.start_at: float | None = None
        self.late_s = 0.0
        self.released = gevent.event.Event()
        self.by_deadline = False

    def state(self) -> Answer:
        """``GET /ready-to-start``."""
        ready = self.is_ready()
        body: dict[str, object] = {
            "ready": ready,
            "started": self.start_at is not None,
            "tracers": self.tracers,
        }
        if self.start_at is not None:
            body["start_at"] = self.start_at
        return ("200 OK" if ready else "503 Service Unavailable"), body

    def post(self, raw: bytes) -> Answer:
        """``POST /start``."""
        try:
            data = json.loads(raw or b"null")
            start_at = data["start_at"] if isinstance(data, dict) else None
            if isinstance(start_at, bool) or not isinstance(start_at, int | float):
                raise ValueError
            start_at = float(start_at)
            if not math.isfinite(start_at):
                raise ValueError
        except (ValueError, KeyError):
            return "400 Bad Request", {"error": 'expected {"start_at": <unix seconds>}'}
        if self.start_at is not None:
            if start_at == self.start_at:
                return "200 OK", {"start_at": self.start_at, "late_s": self.late_s}
            return "409 Conflict", {"error": f"already released for {self.start_at}"}
        if not self.is_ready():
            return "503 Service Unavailable", {"error": "not ready to start yet"}
        self.start_at = start_at
        self.late_s = max(0.0, self.now() - start_at)
        self.released.set()
        if self.on_release is not None:
            self.on_release(start_at)
        return "200 OK", {"start_at": start_at, "late_s": self.late_s}

    def instant(self) -> float | None:
        """When the tracers start: wait for the signal (up to the deadline) when asked to."""
        if not self.use_signal:
            return self.deadline
        timeout = None if self.deadline is None else max(0.0, self.deadline - self.now())
        if self.released.wait(timeout) and self.start_at is not None:
            return self.start_at
        self.by_deadline = True
        return self.deadline
