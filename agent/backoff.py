"""The refresh backoff: ``backoff.ExpBackoffPolicy`` as the RC service configures it.

``NewService`` (``pkg/config/remote/service/service.go``) builds
``NewExpBackoffPolicy(minBackoffFactor=2, baseBackoffTime=30, maxBackoff, recoveryInterval=2,
recoveryReset=false)``; ``pkg/util/backoff`` then gives:

- ``GetBackoffDuration(n)``: 0 for n = 0; else ``b = 30 * 2**n``; if ``b > max`` the backoff is
  exactly ``max``; otherwise uniform in ``[b / 2, min(max, b)]``;
- ``IncError``: ``n + 1`` capped at ``MaxErrors = floor(log2(max / base)) + 1``;
- ``DecError``: ``n - 2`` floored at 0 (every success recovers two errors).

``calculateRefreshInterval`` adds the backoff to the refresh interval. The jitter comes from an
injected ``random.Random`` so that tests are deterministic.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ExpBackoff:
    """Pure exponential backoff policy (times in seconds)."""

    max_backoff_s: float
    base_s: float = 30.0
    min_factor: float = 2.0
    recovery_interval: int = 2

    @property
    def max_errors(self) -> int:
        """Number of errors it takes to reach ``max_backoff_s``."""
        return math.floor(math.log2(self.max_backoff_s / self.base_s)) + 1

    def duration_s(self, num_errors: int, rng: random.Random) -> float:
        """``GetBackoffDuration``: the extra wait after ``num_errors`` errors."""
        if num_errors <= 0:
            return 0.0
        backoff = self.base_s * 2.0**num_errors
        if backoff > self.max_backoff_s:
            return self.max_backoff_s
        low = backoff / self.min_factor
        high = min(self.max_backoff_s, backoff)
        return low + rng.random() * (high - low)

    def inc_error(self, num_errors: int) -> int:
        """``IncError``: one more error, capped at :attr:`max_errors`."""
        return min(num_errors + 1, self.max_errors)

    def dec_error(self, num_errors: int) -> int:
        """``DecError``: a success forgives ``recovery_interval`` errors, floored at 0."""
        return max(num_errors - self.recovery_interval, 0)
