"""The backend's capacity for ``POST /api/v0.1/configurations``: a backend that can be overwhelmed.

The proposal's own risk ("fast lane bypass budget must be tuned to avoid overwhelming backend")
needs a backend with a finite capacity. Every knob defaults to *unlimited*, today's behaviour
and the proposal's finding ("no evidence of backend-side rate limiting or slow responses"); the
real backend's limits are not public, so each rule below is a documented assumption, chosen to
produce the two signals the real backend is known to send (agent-rc-service.md, proposal
"Layer 3: Backend"): HTTP 429 (the agent counts it as an error and backs off: ``refresh()``
error → backoff + 1, ``30 s · 2^n``) and ``agent_refresh_interval`` in the signed targets'
``custom`` (the agent applies it to its refresh interval and its bypass limiter's window).

- **Rate** (``capacity_calls_per_s``, burst ``capacity_burst``): a token bucket; a call that
  finds no token is answered 429 with ``Retry-After`` (seconds until the next token, at least 1).
- **Concurrency** (``capacity_concurrency``) and **service time** (``capacity_service_ms``): at
  most that many calls are served at once, each holding its slot for the service time; the
  others wait in FIFO order, so the queueing delay grows with the load (a burst of N calls
  waits about ``N / concurrency · service time``).
- **Queue** (``capacity_queue``): a call that finds that many calls already waiting is answered
  429 at once (load shedding).
- **Pushing agents back** (``overload_refresh_interval_s``): for ``overload_hold_s`` after a
  rejection, successful answers carry this ``agent_refresh_interval`` (the agent accepts
  1-60 s, and only when its own refresh interval is unset).

Pure rules (``admit``, ``refresh_interval``) take ``now``; the slot wait is asyncio on the
caller's clock, so that real-time runs (`fake_backend.app`) and ``harness simulate`` (virtual
time) share the same model.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from rc_protocol.clock import Clock

__all__ = ["Capacity", "Rejection"]


@dataclass(frozen=True)
class Rejection:
    """A call refused for capacity: answered 429 with ``Retry-After``."""

    reason: str  # "rate" or "queue"
    retry_after_s: int
    message: str


@dataclass
class Capacity:
    """The capacity model of one backend (see the module docstring); 0 means unlimited."""

    calls_per_s: float = 0.0
    burst: float = 0.0
    concurrency: int = 0
    service_s: float = 0.0
    queue_limit: int = 0
    overload_refresh_interval_s: int | None = None
    overload_hold_s: float = 60.0
    _tokens: float = field(default=-1.0, init=False)
    _refilled_at: float | None = field(default=None, init=False)
    _in_service: int = field(default=0, init=False)
    _waiting: deque[asyncio.Future[None]] = field(default_factory=deque, init=False)
    _last_rejection: float | None = field(default=None, init=False)

    @property
    def limited(self) -> bool:
        """True when any limit is set (else every call is admitted at once)."""
        return self.calls_per_s > 0 or self.concurrency > 0 or self.service_s > 0

    @property
    def bucket_size(self) -> float:
        """Tokens the bucket holds when full: the burst, or one second of the rate."""
        return self.burst if self.burst > 0 else max(1.0, self.calls_per_s)

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot now."""
        return len(self._waiting)

    @property
    def in_service(self) -> int:
        """Calls holding a slot now."""
        return self._in_service

    def admit(self, now: float) -> Rejection | None:
        """Decide whether a call arriving at `now` may queue for a slot (it takes a token)."""
        if self.queue_limit > 0 and self.concurrency > 0 and len(self._waiting) >= self.queue_limit:
            return self._reject(now, "queue", 1, f"{len(self._waiting)} calls already queued")
        if self.calls_per_s <= 0:
            return None
        size = self.bucket_size
        if self._refilled_at is None:
            self._tokens, self._refilled_at = size, now
        self._tokens = min(size, self._tokens + (now - self._refilled_at) * self.calls_per_s)
        self._refilled_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        wait = (1.0 - self._tokens) / self.calls_per_s
        return self._reject(
            now, "rate", max(1, math.ceil(wait)), f"over {self.calls_per_s:g} calls/s"
        )

    def _reject(self, now: float, reason: str, retry_after_s: int, why: str) -> Rejection:
        self._last_rejection = now
        return Rejection(reason, retry_after_s, f"fake backend capacity: {why}, retry later")

    def refresh_interval(self, now: float) -> int | None:
        """The ``agent_refresh_interval`` to send now: the overload one shortly after a
        rejection, else ``None`` (the backend's usual value applies)."""
        last = self._last_rejection
        if self.overload_refresh_interval_s is None or last is None:
            return None
        return self.overload_refresh_interval_s if now - last < self.overload_hold_s else None

    @asynccontextmanager
    async def slot(self, clock: Clock) -> AsyncIterator[float]:
        """Hold a serving slot for the service time (waiting FIFO for one when all are busy);
        the body runs inside the slot and receives the seconds waited for it."""
        arrived = clock.monotonic()
        if self.concurrency > 0 and (self._in_service >= self.concurrency or self._waiting):
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                await turn  # the releasing call hands its slot over (in_service unchanged)
            except asyncio.CancelledError:
                if turn in self._waiting:
                    self._waiting.remove(turn)
                elif turn.done() and not turn.cancelled():
                    self._release()  # the slot was handed over: pass it on
                raise
        else:
            self._in_service += 1
        waited = clock.monotonic() - arrived
        try:
            if self.service_s > 0:
                await clock.sleep(self.service_s)
            yield waited
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot moves to the next caller in line
                return
        self._in_service -= 1
