"""Fault injection policy: pure code, driven by the caller's `now` and a seeded RNG.

The app asks `FaultPlan.decide(now)` once per backend API call (`/api/v0.1/*`) and applies the
answer: sleep `delay_s`, then either serve normally (`status is None`) or answer `status` with
`message`. Precedence, first match wins: outage window → 429 window → random error; latency is
added in every case (a slow failure is still slow).

Faults (all changeable at run time through the admin API, see `fake_backend.admin`):

- latency: `latency_ms` + uniform `[0, latency_spread_ms]`, drawn from `random.Random(seed)`;
- error rate: with probability `error_rate` the call answers `error_status` (500 or 503);
- windows `[start, end)` in the caller's clock (monotonic seconds): `rate_limit` answers 429
  (with `Retry-After`: the window's own value, else the seconds left in it), `outage` answers
  the window's status (else `outage_status`, 503 by default), `latency` adds its latency to
  the one above, `errors` replaces the error rate and status while it lasts, `bad_payload`
  makes the configurations answer carry a corrupt FFE_FLAGS target (`corruption`: `hash`,
  `signature` or `ufc`, see `fake_backend.corrupt`). The harness arms windows relative to
  the fleet's boot instant, so that they hit the boot whatever the backend's own start time.

The real agent treats a 429 like any other 4xx and backs off on every error
(`service.go refresh()`: error → backoff counter + 1), which is what these faults exercise.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from fake_backend.errors import FaultSpecError

#: Statuses a random injected error may answer (setting `error_status`, admin API).
ERROR_STATUSES = (500, 503)


class FaultKind(StrEnum):
    """Label values of `backend_rc_faults_injected_total{kind}`."""

    LATENCY = "latency"
    ERROR = "error"
    RATE_LIMIT = "rate_limit"
    OUTAGE = "outage"
    BAD_PAYLOAD = "bad_payload"


class WindowKind(StrEnum):
    """The kinds of time windows."""

    RATE_LIMIT = "rate_limit"
    OUTAGE = "outage"
    LATENCY = "latency"
    ERRORS = "errors"
    BAD_PAYLOAD = "bad_payload"


#: The corruptions a `bad_payload` window may apply to the FFE_FLAGS target.
CORRUPTIONS = ("hash", "signature", "ufc")


@dataclass(frozen=True)
class Window:
    """A fault active for `start <= now < end` (caller's monotonic seconds), with the fields
    of its kind (the others keep their defaults)."""

    kind: WindowKind
    start: float
    end: float
    latency_ms: int = 0
    latency_spread_ms: int = 0
    error_rate: float = 0.0
    status: int | None = None
    """`errors`: the status (default `error_status`); `outage`: (default `outage_status`)."""
    retry_after_s: int | None = None
    """`rate_limit`: the Retry-After header (default: the seconds left in the window)."""
    corruption: str | None = None

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


def make_window(kind: WindowKind, start: float, end: float, **fields: Any) -> Window:
    """A validated window with its kind's `fields`; raises `FaultSpecError` when `end <= start`,
    values are not finite, or a field is out of range."""
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise FaultSpecError(
            f"{kind.value} window [{start}, {end}) is empty or not finite: end must be > start"
        )
    window = Window(kind, start, end, **fields)
    if window.latency_ms < 0 or window.latency_spread_ms < 0:
        raise FaultSpecError(f"{kind.value} window: latencies must be >= 0")
    if not 0.0 <= window.error_rate <= 1.0:
        raise FaultSpecError(f"{kind.value} window: error_rate={window.error_rate} not in [0, 1]")
    if kind is WindowKind.ERRORS and window.status not in (None, *ERROR_STATUSES):
        raise FaultSpecError(f"errors window: status must be one of {ERROR_STATUSES}")
    if window.status is not None and not 400 <= window.status <= 599:
        raise FaultSpecError(f"{kind.value} window: status {window.status} is not a 4xx/5xx")
    if window.retry_after_s is not None and window.retry_after_s < 0:
        raise FaultSpecError("rate_limit window: retry_after_s must be >= 0")
    if kind is WindowKind.BAD_PAYLOAD and window.corruption not in CORRUPTIONS:
        raise FaultSpecError(
            f"bad_payload window: corruption {window.corruption!r} is not one of "
            f"{', '.join(CORRUPTIONS)}"
        )
    return window


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
        """The fault for one call at `now`. Draws from the RNG in a fixed order (latency, the
        latency windows' spreads, error)."""
        kinds: list[FaultKind] = []
        delay_s = self.latency_ms / 1000.0
        if self.latency_spread_ms > 0:
            delay_s += self.rng.uniform(0.0, self.latency_spread_ms / 1000.0)
        for w in self._all_active(WindowKind.LATENCY, now):
            delay_s += w.latency_ms / 1000.0
            if w.latency_spread_ms > 0:
                delay_s += self.rng.uniform(0.0, w.latency_spread_ms / 1000.0)
        if delay_s > 0:
            kinds.append(FaultKind.LATENCY)
        error_rate, error_status = self.error_rate, self.error_status
        errors = self._active(WindowKind.ERRORS, now)
        if errors is not None:
            error_rate, error_status = errors.error_rate, errors.status or self.error_status
        error_draw = self.rng.random() if error_rate > 0 else 1.0

        for kind in (WindowKind.OUTAGE, WindowKind.RATE_LIMIT):
            window = self._active(kind, now)
            if window is None:
                continue
            remaining = max(1, math.ceil(window.end - now))
            if kind is WindowKind.OUTAGE:
                kinds.append(FaultKind.OUTAGE)
                return FaultDecision(
                    delay_s,
                    window.status or self.outage_status,
                    f"fake backend outage window: unavailable for {remaining} more s",
                    None,
                    tuple(kinds),
                )
            retry_after = remaining if window.retry_after_s is None else window.retry_after_s
            kinds.append(FaultKind.RATE_LIMIT)
            return FaultDecision(
                delay_s,
                429,
                f"fake backend rate-limit window: retry in {retry_after} s",
                retry_after,
                tuple(kinds),
            )
        if error_draw < error_rate:
            kinds.append(FaultKind.ERROR)
            return FaultDecision(
                delay_s,
                error_status,
                f"fake backend injected error (error_rate={error_rate})",
                None,
                tuple(kinds),
            )
        return FaultDecision(delay_s, None, "", None, tuple(kinds))

    def corruption(self, now: float) -> str | None:
        """The corruption of an active `bad_payload` window (`hash`, `signature`, `ufc`)."""
        window = self._active(WindowKind.BAD_PAYLOAD, now)
        return None if window is None else window.corruption

    def _all_active(self, kind: WindowKind, now: float) -> list[Window]:
        return [w for w in self.windows if w.kind is kind and w.active(now)]

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
                    **_fields_of(w),
                }
                for w in self.windows
            ],
        }


def _fields_of(window: Window) -> dict[str, object]:
    """The window's own fields that differ from their defaults (for `/admin/state`)."""
    defaults = asdict(Window(window.kind, 0.0, 1.0))
    return {
        k: v
        for k, v in asdict(window).items()
        if k not in ("kind", "start", "end") and v != defaults[k]
    }
