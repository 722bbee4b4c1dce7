"""Fault injection policy: pure code, driven by the caller's `now` and a seeded RNG.

The app asks `FaultPlan.decide(now)` once per backend API call (`/api/v0.1/*`) and applies the
answer: sleep `delay_s`, then either serve normally (`status is None`) or answer `status` with
`message`. Precedence, first match wins: outage window → 429 window → random error; latency is
added in every case (a slow failure is still slow).

Faults (all changeable at run time through the admin API, see `fake_backend.admin`):

- latency: `latency_ms` + uniform `[0, latency_spread_ms]`, drawn from `random.Random(seed)`;
- error rate: with probability `error_rate` the call answers `error_status` (500 or 503);
- windows `[start, end)` in the caller's clock (monotonic seconds): `rate_limit` answers 429
  (with `Retry-After`), `outage` answers `outage_status` (503 by default).

The real agent treats a 429 like any other 4xx and backs off on every error
(`service.go refresh()`: error → backoff counter + 1), which is what these faults exercise.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from enum import StrEnum

from fake_backend.errors import FaultSpecError

#: Statuses a random injected error may answer (setting `error_status`, admin API).
ERROR_STATUSES = (500, 503)


class FaultKind(StrEnum):
    """Label values of `backend_rc_faults_injected_total{kind}`."""

    LATENCY = "latency"
    ERROR = "error"
    RATE_LIMIT = "rate_limit"
    OUTAGE = "outage"


class WindowKind(StrEnum):
    """The two kinds of time windows."""

    RATE_LIMIT = "rate_limit"
    OUTAGE = "outage"


@dataclass(frozen=True)
class Window:
    """A fault active for `start <= now < end` (caller's monotonic seconds)."""

    kind: WindowKind
    start: float
    end: float

    def active(self, now: float) -> bool:
        """Whether the window covers `now`."""
        return self.start <= now < self.end


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one call: wait `delay_s`, then serve (`status is None`) or fail."""

    delay_s: float = 0.0
    status: int | None = None
    message: str = ""
    retry_after_s: int | None = None
    kinds: tuple[FaultKind, ...] = ()


def parse_windows(spec: str, kind: WindowKind, origin: float) -> list[Window]:
    """Windows from a setting like `"10-20,35-40"` (seconds after `origin`).

    Raises `FaultSpecError` naming the bad part.
    """
    windows: list[Window] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        start_s, sep, end_s = part.partition("-")
        try:
            if not sep:
                raise ValueError("missing '-'")
            start, end = float(start_s), float(end_s)
        except ValueError:
            raise FaultSpecError(
                f"{kind.value} window {part!r} is not 'start-end' in seconds (e.g. '10-20')"
            ) from None
        windows.append(make_window(kind, origin + start, origin + end))
    return windows


def make_window(kind: WindowKind, start: float, end: float) -> Window:
    """A validated window; raises `FaultSpecError` when `end <= start` or values are not finite."""
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise FaultSpecError(
            f"{kind.value} window [{start}, {end}) is empty or not finite: end must be > start"
        )
    return Window(kind, start, end)


@dataclass
class FaultPlan:
    """The current faults. Mutable (the admin API changes it); every decision is pure in `now`."""

    rng: random.Random
    latency_ms: int = 0
    latency_spread_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    outage_status: int = 503
    windows: list[Window] = field(default_factory=list)

    def set_latency(self, latency_ms: int, latency_spread_ms: int) -> None:
        """Change the latency fault; raises `FaultSpecError` on negative values."""
        if latency_ms < 0 or latency_spread_ms < 0:
            raise FaultSpecError(
                f"latency_ms={latency_ms} and latency_spread_ms={latency_spread_ms} must be >= 0"
            )
        self.latency_ms, self.latency_spread_ms = latency_ms, latency_spread_ms

    def set_errors(self, error_rate: float, error_status: int) -> None:
        """Change the random error fault; raises `FaultSpecError` when out of range."""
        if not 0.0 <= error_rate <= 1.0:
            raise FaultSpecError(f"error_rate={error_rate} must be in [0, 1]")
        if error_status not in ERROR_STATUSES:
            raise FaultSpecError(
                f"error_status={error_status} must be {' or '.join(map(str, ERROR_STATUSES))}"
            )
        self.error_rate, self.error_status = error_rate, error_status

    def add_window(self, window: Window) -> None:
        """Add a 429 or outage window."""
        self.windows.append(window)

    def clear(self) -> None:
        """Remove every fault (latency, errors and windows)."""
        self.latency_ms = self.latency_spread_ms = 0
        self.error_rate = 0.0
        self.windows.clear()

    def prune(self, now: float) -> None:
        """Forget windows that ended before `now` (keeps `/admin/state` short)."""
        self.windows = [w for w in self.windows if w.end > now]

    def decide(self, now: float) -> FaultDecision:
        """The fault for one call at `now`. Draws from the RNG in a fixed order (latency, error)."""
        kinds: list[FaultKind] = []
        delay_s = self.latency_ms / 1000.0
        if self.latency_spread_ms > 0:
            delay_s += self.rng.uniform(0.0, self.latency_spread_ms / 1000.0)
        if delay_s > 0:
            kinds.append(FaultKind.LATENCY)
        error_draw = self.rng.random() if self.error_rate > 0 else 1.0

        for kind in (WindowKind.OUTAGE, WindowKind.RATE_LIMIT):
            window = self._active(kind, now)
            if window is None:
                continue
            remaining = max(1, math.ceil(window.end - now))
            if kind is WindowKind.OUTAGE:
                kinds.append(FaultKind.OUTAGE)
                return FaultDecision(
                    delay_s,
                    self.outage_status,
                    f"fake backend outage window: unavailable for {remaining} more s",
                    None,
                    tuple(kinds),
                )
            kinds.append(FaultKind.RATE_LIMIT)
            return FaultDecision(
                delay_s,
                429,
                f"fake backend rate-limit window: retry in {remaining} s",
                remaining,
                tuple(kinds),
            )
        if error_draw < self.error_rate:
            kinds.append(FaultKind.ERROR)
            return FaultDecision(
                delay_s,
                self.error_status,
                f"fake backend injected error (error_rate={self.error_rate})",
                None,
                tuple(kinds),
            )
        return FaultDecision(delay_s, None, "", None, tuple(kinds))

    def _active(self, kind: WindowKind, now: float) -> Window | None:
        for window in self.windows:
            if window.kind is kind and window.active(now):
                return window
        return None

    def describe(self, now: float) -> dict[str, object]:
        """JSON-able view for `/admin/state`; window times relative to `now`."""
        return {
            "latency_ms": self.latency_ms,
            "latency_spread_ms": self.latency_spread_ms,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "outage_status": self.outage_status,
            "windows": [
                {
                    "kind": w.kind.value,
                    "start_in_s": round(w.start - now, 3),
                    "end_in_s": round(w.end - now, 3),
                    "active": w.active(now),
                }
                for w in self.windows
            ],
        }
