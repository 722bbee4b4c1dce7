"""Client scheduling policies: pure rules driven by times passed in, no I/O, no sleeping.

Three policies (setting ``client_policy``):

``legacy``
    libdatadog in agent mode (``libdd-remote-config``): one request bundling every product
    (``fetch/fetcher.rs`` ``fetch_once``), a fixed delay of ``poll_interval_s`` (5 s,
    ``SharedFetcher::new`` ``interval: 5_000_000_000`` in ``fetch/shared.rs``) slept *after*
    each fetch completes (``SharedFetcher::run``: fetch, then ``sleep(interval)``), whatever the
    outcome: no jitter, no backoff, no 429 handling, ``agent_refresh_interval`` parsed in
    ``targets.rs`` but never applied. First poll ``immediate`` (libdatadog, dd-trace-go >= 2.10)
    or ``after_interval`` (dd-trace-go <= 2.9, ``internal/remoteconfig/remoteconfig.go`` starts
    a ticker and polls on its first tick; the proposal's load test used v2.5.0). Go's ticker
    is fixed-rate: ``poll_scheduling: fixed_rate`` models it (a slow fetch makes the next tick
    fire at once, as Go's one-slot ticker channel does).
``phase1``
    The proposal's phase 1 (A4 + A5): legacy, plus ``agent_refresh_interval`` from the signed
    targets' ``custom`` honoured only when it slows the client down (A4), exponential backoff
    with jitter after errors (A5: ``interval * 2**min(errors, 3)`` capped at 30 s, plus a jitter
    uniform in ``[0, backoff/4)``; reset after a success), and HTTP 429 handled (``Retry-After``
    when present, else the backoff).
``fastlane``
    Phase 1 plus A1-A3/A6: fast-lane-eligible products (``Product.fast_lane_eligible``) move to
    their own fetcher with its own client id, its own products and only their capabilities; it
    polls every ``fast_lane_interval_ms`` (1000) and first after
    ``fast_lane_initial_interval_ms`` (0 = immediately). The standard fetcher neither asks for
    FFE_FLAGS nor advertises its capability (proposal open question 4: capabilities mirror the
    product partition).

Permit pools model libdatadog's ``MultiTargetFetcher`` (``fetch/multitarget.rs``): a semaphore
of ``DEFAULT_CLIENTS_LIMIT`` = 100 permits; one permit is held for the whole life of one
target's fetch loop; targets beyond the limit stay pending (FIFO). The fast lane adds its own
pool of 20 (proposal A3).

Unit note: ``agent_refresh_interval`` is in seconds on the wire (datadog-agent
``pkg/config/remote/service/service.go``:
``time.Second * time.Duration(custom.AgentRefreshInterval)``); the proposal's A4 sketch
multiplies it by 1e6 as if it were milliseconds. We use seconds.
"""

from __future__ import annotations

import contextlib
import random
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from rc_protocol.products import FAST_LANE_PRODUCTS

__all__ = [
    "ClientPolicy",
    "FetchOutcome",
    "FetchResult",
    "FetchSchedule",
    "FetcherPlan",
    "FirstPoll",
    "Lane",
    "PermitPool",
    "PolicySettings",
    "PollScheduling",
    "backoff_delay",
    "plan_fetchers",
]

#: libdatadog ``multitarget.rs`` ``DEFAULT_CLIENTS_LIMIT``.
DEFAULT_CLIENTS_LIMIT = 100
#: Proposal A3: "The fast lane semaphore is intentionally small (e.g. 20 permits)".
DEFAULT_FAST_LANE_CLIENTS_LIMIT = 20


class ClientPolicy(StrEnum):
    """Which client behaviour to model."""

    LEGACY = "legacy"
    PHASE1 = "phase1"
    FASTLANE = "fastlane"


class FirstPoll(StrEnum):
    """When the first poll of the standard fetcher goes out."""

    IMMEDIATE = "immediate"
    AFTER_INTERVAL = "after_interval"


class PollScheduling(StrEnum):
    """Fixed delay after completion (libdatadog) or fixed rate (Go's ``time.Ticker``)."""

    FIXED_DELAY = "fixed_delay"
    FIXED_RATE = "fixed_rate"


class Lane(StrEnum):
    """The lane of a fetcher; equals the agent's lane for the request it sends."""

    STANDARD = "standard"
    FAST = "fast"


class FetchOutcome(StrEnum):
    """What one fetch gave, as far as scheduling cares."""

    OK = "ok"  # 200 (update applied, or `{}` no change) or 404 (RC inactive)
    ERROR = "error"  # transport error, timeout, non-200/404, or a rejected update
    RATE_LIMITED = "rate_limited"  # HTTP 429


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The input the schedule needs from one completed fetch."""

    outcome: FetchOutcome
    retry_after_s: float | None = None
    server_refresh_interval_s: float | None = None


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """Every constant of the client policies; defaults are the real ones."""

    policy: ClientPolicy = ClientPolicy.LEGACY
    poll_interval_s: float = 5.0
    first_poll: FirstPoll = FirstPoll.IMMEDIATE
    poll_scheduling: PollScheduling = PollScheduling.FIXED_DELAY
    request_timeout_s: float = 3.0
    # A6 ships DD_RC_FAST_LANE_ENABLED=false; true here: the fastlane policy models it on.
    fast_lane_enabled: bool = True
    fast_lane_interval_ms: float = 1000.0
    fast_lane_initial_interval_ms: float = 0.0
    max_backoff_s: float = 30.0
    backoff_max_exponent: int = 3
    standard_permits: int = DEFAULT_CLIENTS_LIMIT
    fast_lane_permits: int = DEFAULT_FAST_LANE_CLIENTS_LIMIT
    request_retry: str = "none"  # tracer_stub.client.retry: none | dd-trace-js
    agent_reached_at_start: bool = False  # the tracer contacted the agent before its first poll

    @property
    def splits_fast_lane(self) -> bool:
        """True when fast-lane products get their own fetcher (A2; kill switch A6)."""
        return self.policy is ClientPolicy.FASTLANE and self.fast_lane_enabled

    @property
    def phase1_rules(self) -> bool:
        """True when A4 (refresh interval) and A5 (backoff, jitter, 429) apply."""
        return self.policy is not ClientPolicy.LEGACY


@dataclass(frozen=True, slots=True)
class FetcherPlan:
    """One fetch loop of a tracer: its lane, products, capabilities and timing rules."""

    lane: Lane
    products: tuple[str, ...]
    capabilities: frozenset[int]
    interval_s: float
    first_delay_s: float
    scheduling: PollScheduling
    honour_refresh_interval: bool
    backoff_on_errors: bool
    handle_429: bool
    max_backoff_s: float
    backoff_max_exponent: int


def plan_fetchers(
    settings: PolicySettings,
    products: Iterable[str],
    capabilities_by_product: dict[str, frozenset[int]],
    other_capabilities: frozenset[int] = frozenset(),
) -> list[FetcherPlan]:
    """Partition products (and their capabilities) into fetchers, proposal A2.

    `capabilities_by_product` names the capabilities that belong to one product (e.g.
    FFE_FLAGS -> {46}); `other_capabilities` are advertised by the standard fetcher only.
    Without the split there is one standard fetcher carrying everything.
    """
    products = tuple(products)
    p1 = settings.phase1_rules
    if settings.splits_fast_lane:
        fast = tuple(p for p in products if p in FAST_LANE_PRODUCTS)
    else:
        fast = ()
    standard = tuple(p for p in products if p not in fast)
    plans: list[FetcherPlan] = []
    if standard or not fast:
        caps = set(other_capabilities)
        for p in standard:
            caps |= capabilities_by_product.get(p, frozenset())
        first = settings.poll_interval_s if settings.first_poll is FirstPoll.AFTER_INTERVAL else 0.0
        plans.append(
            FetcherPlan(
                lane=Lane.STANDARD,
                products=standard,
                capabilities=frozenset(caps),
                interval_s=settings.poll_interval_s,
                first_delay_s=first,
                scheduling=settings.poll_scheduling,
                honour_refresh_interval=p1,
                backoff_on_errors=p1,
                handle_429=p1,
                max_backoff_s=settings.max_backoff_s,
                backoff_max_exponent=settings.backoff_max_exponent,
            )
        )
    if fast:
        caps = set()
        for p in fast:
            caps |= capabilities_by_product.get(p, frozenset())
        plans.append(
            FetcherPlan(
                lane=Lane.FAST,
                products=fast,
                capabilities=frozenset(caps),
                interval_s=settings.fast_lane_interval_ms / 1000.0,
                first_delay_s=settings.fast_lane_initial_interval_ms / 1000.0,
                scheduling=settings.poll_scheduling,
                honour_refresh_interval=True,
                backoff_on_errors=True,
                handle_429=True,
                max_backoff_s=settings.max_backoff_s,
                backoff_max_exponent=settings.backoff_max_exponent,
            )
        )
    return plans


def backoff_delay(
    interval_s: float,
    consecutive_errors: int,
    rng: random.Random,
    *,
    max_backoff_s: float = 30.0,
    max_exponent: int = 3,
) -> float:
    """Proposal A5: ``min(interval * 2**min(errors, 3), 30 s)`` plus jitter in ``[0, backoff/4)``.

    The sketch in the proposal (``shared.rs`` ``Err(e)`` arm) computes ``backoff + jitter`` as
    the sleep after an error; we use it *instead of* the interval (the backoff already contains
    the interval), so that one error doubles the delay.
    """
    exponent = min(consecutive_errors, max_exponent)
    backoff = min(interval_s * (1 << exponent), max_backoff_s)
    return backoff + rng.random() * (backoff / 4.0)


class FetchSchedule:
    """When one fetcher sends next; pure, fed with the clock's times by the driver.

    ``first_send_at(started)`` gives the first intended send time; after each fetch,
    ``after_fetch(intended, completed, result)`` gives the next one. Lateness is measured by
    the driver against these intended times.
    """

    def __init__(self, plan: FetcherPlan, rng: random.Random) -> None:
        self.plan = plan
        self.interval_s = plan.interval_s
        self.consecutive_errors = 0
        self._rng = rng

    def first_send_at(self, started_at: float) -> float:
        return started_at + self.plan.first_delay_s

    def after_fetch(self, intended_at: float, completed_at: float, result: FetchResult) -> float:
        plan = self.plan
        if result.outcome is FetchOutcome.OK:
            self.consecutive_errors = 0
            server = result.server_refresh_interval_s
            if plan.honour_refresh_interval and server is not None and server > self.interval_s:
                # A4: "Only allow server to slow us down".
                self.interval_s = server
            return self._regular(intended_at, completed_at)
        self.consecutive_errors += 1
        if result.outcome is FetchOutcome.RATE_LIMITED and plan.handle_429:
            if result.retry_after_s is not None:
                return completed_at + max(result.retry_after_s, self.interval_s)
            return completed_at + self._backoff()
        if plan.backoff_on_errors:
            return completed_at + self._backoff()
        return self._regular(intended_at, completed_at)

    def _backoff(self) -> float:
        return backoff_delay(
            self.interval_s,
            self.consecutive_errors,
            self._rng,
            max_backoff_s=self.plan.max_backoff_s,
            max_exponent=self.plan.backoff_max_exponent,
        )

    def _regular(self, intended_at: float, completed_at: float) -> float:
        if self.plan.scheduling is PollScheduling.FIXED_RATE:
            # time.Ticker: next tick on the grid; a tick that fell during the fetch is buffered
            # (channel of one) and fires as soon as the loop reads it.
            return max(intended_at + self.interval_s, completed_at)
        return completed_at + self.interval_s


class PermitPool:
    """A FIFO counting semaphore over named holders (tokio ``Semaphore`` in ``multitarget.rs``).

    ``request(holder)`` grants at once when a permit is free, else queues the holder;
    ``release(holder)`` frees its permit (or removes it from the queue) and returns the holder
    granted in its place, if any.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"PermitPool limit must be >= 1, got {limit}")
        self.limit = limit
        self._holders: set[Hashable] = set()
        self._waiting: deque[Hashable] = deque()

    @property
    def in_use(self) -> int:
        return len(self._holders)

    @property
    def pending(self) -> int:
        return len(self._waiting)

    def holds(self, holder: Hashable) -> bool:
        return holder in self._holders

    def request(self, holder: Hashable) -> bool:
        if holder in self._holders:
            return True
        if len(self._holders) < self.limit and not self._waiting:
            self._holders.add(holder)
            return True
        if holder not in self._waiting:
            self._waiting.append(holder)
        return False

    def release(self, holder: Hashable) -> Hashable | None:
        if holder in self._holders:
            self._holders.discard(holder)
        else:
            with contextlib.suppress(ValueError):
                self._waiting.remove(holder)
            return None
        if self._waiting and len(self._holders) < self.limit:
            granted = self._waiting.popleft()
            self._holders.add(granted)
            return granted
        return None


class MultiTargetFetcher:
    """The permit pools of one libdatadog ``MultiTargetFetcher`` (one per process in reality).

    By default each hosted tracer gets its own instance (a tracer is its own process);
    ``shared_multitarget`` puts every tracer of the stub process under one (the PHP sidecar).
    """

    def __init__(self, standard_permits: int, fast_lane_permits: int) -> None:
        self.pools = {
            Lane.STANDARD: PermitPool(standard_permits),
            Lane.FAST: PermitPool(fast_lane_permits),
        }

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> MultiTargetFetcher:
        return cls(settings.standard_permits, settings.fast_lane_permits)
