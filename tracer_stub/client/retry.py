"""Retries of one RC request inside the HTTP layer, before the poll loop sees a failure.

``none`` (libdatadog, dd-trace-go): a request that times out or fails on the network is a failed
poll; the loop schedules the next one. ``dd-trace-js``: its exporter's ``request()``
(``packages/dd-trace/src/exporters/common/request.js`` and ``retry.js``, 5.132) retries the same
request on a retriable network error, a timeout included (the 2 s ``req.setTimeout`` aborts it:
ECONNRESET), and calls the RC poll back only when the last attempt ends; the scheduler's next
poll comes 5 s after that (``remote_config/scheduler.js``, fixed delay). Two phases:

- startup (the endpoint never answered this process, and less than 30 s since it started):
  up to 5 attempts, waiting ``min(8 s, 1 s << (n - 1)) + U(0, 0.5 s)`` after failed attempt n;
- after that: up to 2 attempts, waiting ``5 s + U(0, 2.5 s)``.

Measured here (docs/real-tracers.md): a dd-trace-js tracer whose first ``/v0.7/config`` times
out at 2 s retries 7.1-7.6 s later in a harness run, because its telemetry (``app-started``,
sent at ``tracer.init()``) has already reached the agent: the later phase.

>>> import random
>>> plan = RetryPlan("dd-trace-js")
>>> plan.delay_s(1, reached=True, since_start_s=1.0, rng=random.Random(1)) >= 5.0
True
>>> plan.delay_s(2, reached=True, since_start_s=1.0, rng=random.Random(1)) is None
True
>>> 1.0 <= plan.delay_s(1, reached=False, since_start_s=1.0, rng=random.Random(1)) < 1.5
True
>>> RetryPlan("none").delay_s(1, reached=True, since_start_s=1.0, rng=random.Random(1)) is None
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

RequestRetry = Literal["none", "dd-trace-js"]
RETRY_STYLES: tuple[str, ...] = ("none", "dd-trace-js")

SINGLE_RETRY_BASE_S = 5.0  # retry.js SINGLE_RETRY_BASE_MS
SINGLE_RETRY_JITTER_S = 2.5  # retry.js SINGLE_RETRY_JITTER_MS
STARTUP_GRACE_S = 30.0  # retry.js STARTUP_GRACE_MS
STARTUP_BACKOFF_BASE_S = 1.0  # retry.js STARTUP_BACKOFF_BASE_MS
STARTUP_BACKOFF_MAX_S = 8.0  # retry.js STARTUP_BACKOFF_MAX_MS
STARTUP_BACKOFF_JITTER_S = 0.5  # retry.js STARTUP_BACKOFF_JITTER_MS
STARTUP_MAX_ATTEMPTS = 5  # retry.js STARTUP_MAX_ATTEMPTS
POST_STARTUP_MAX_ATTEMPTS = 2  # retry.js POST_STARTUP_MAX_ATTEMPTS


@dataclass(frozen=True)
class RetryPlan:
    """When to resend a request that failed on the network or timed out."""

    style: str = "none"

    def delay_s(
        self, failed_attempt: int, *, reached: bool, since_start_s: float, rng: random.Random
    ) -> float | None:
        """Seconds to wait before resending after attempt ``failed_attempt`` (1-based) failed;
        ``None`` when the request has failed for good. ``reached``: whether the agent ever
        answered this tracer; ``since_start_s``: since the tracer started."""
        if self.style != "dd-trace-js":
            return None
        startup = not reached and since_start_s < STARTUP_GRACE_S
        attempts = STARTUP_MAX_ATTEMPTS if startup else POST_STARTUP_MAX_ATTEMPTS
        if failed_attempt >= attempts:
            return None
        if not startup:
            return SINGLE_RETRY_BASE_S + rng.random() * SINGLE_RETRY_JITTER_S
        backoff = min(STARTUP_BACKOFF_MAX_S, STARTUP_BACKOFF_BASE_S * 2.0 ** (failed_attempt - 1))
        return backoff + rng.random() * STARTUP_BACKOFF_JITTER_S
