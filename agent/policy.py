"""Agent policies: which limiter, bypass channel and block budget a request's lane uses.

A request is in the ``fast`` lane when ``rc_protocol.products.is_fast_lane_request`` holds for
its products (non-empty, every product fast-lane eligible: proposal B4), else ``standard``.

- ``legacy`` (today's agent, ``service.go``): one unbuffered ``refreshBypassCh``, one
  ``refreshBypassLimiter`` (``cache_bypass_limit`` per window), one ``newClientBlockTTL`` budget.
  Both lanes share all three; lanes only label metrics.
- ``fastlane`` (proposal Part B): fast-lane requests get their own limiter
  (``fast_lane_cache_bypass_limit``, B1), their own unbuffered channel that the poll loop serves
  first (B2), and their own block budget (``fast_lane_block_ttl_ms``, B3). Standard requests
  behave exactly as in ``legacy``.

Which plan a new client's bypass follows is :meth:`AgentPolicy.bypass_lane`: the request's lane
(B4), unless ``fast_lane_match: any`` (a design alternative, not in the proposal) sends every
request that lists *any* fast-lane product down the fast lane's budget and channel. Today's
clients bundle every product into one request (libdatadog ``fetcher.rs``, dd-trace-go's
``allProducts``), so under B4 Part B never sees them as fast-lane; ``any`` is the smallest agent
change that lets Part B reach them. Metrics keep labelling requests by their B4 lane
(``lane_of``, docs/contracts.md "Lanes"); the bypass counter is labelled with the lane whose
budget the bypass used.

Both limiters' windows are the refresh interval and follow the backend's override.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from agent.settings import Resolved, Settings
from rc_protocol.products import FAST_LANE_PRODUCTS, is_fast_lane_request

Lane = Literal["fast", "standard"]


def lane_of(products: Iterable[str]) -> Lane:
    """The lane of a request with these products (docs/contracts.md "Lanes")."""
    return "fast" if is_fast_lane_request(products) else "standard"


@dataclass(frozen=True)
class LanePlan:
    """What a lane uses: bypass channel (and its limiter), block budget, refresh reason."""

    channel: str
    block_ttl_s: float
    refresh_reason: str


@dataclass(frozen=True)
class AgentPolicy:
    """A policy: its channels (priority order), limiter capacities, and a plan per lane."""

    name: str
    channels: tuple[str, ...]
    limiter_capacity: dict[str, int]
    plans: dict[str, LanePlan]
    match_any: bool = False
    """``fast_lane_match: any``: one fast-lane product is enough for the fast lane's plan."""

    def bypass_lane(self, products: Iterable[str]) -> Lane:
        """The lane whose plan a new client's bypass follows (see the module docstring)."""
        products = tuple(products)
        if self.match_any and any(p in FAST_LANE_PRODUCTS for p in products):
            return "fast"
        return lane_of(products)

    def plan(self, lane: Lane) -> LanePlan:
        """The plan a request of ``lane`` follows."""
        return self.plans[lane]

    def reason_of(self, channel: str) -> str:
        """The refresh reason label of a bypass received on ``channel``."""
        for plan in self.plans.values():
            if plan.channel == channel:
                return plan.refresh_reason
        raise KeyError(channel)


def make_policy(settings: Settings, resolved: Resolved) -> AgentPolicy:
    """Build the policy named by ``settings.policy``."""
    standard = LanePlan("bypass", settings.new_client_block_ttl_s, "bypass")
    if settings.policy == "legacy":
        return AgentPolicy(
            name="legacy",
            channels=("bypass",),
            limiter_capacity={"bypass": resolved.cache_bypass_limit},
            plans={"fast": standard, "standard": standard},
        )
    fast = LanePlan("fast", settings.fast_lane_block_ttl_ms / 1000.0, "bypass_fast_lane")
    return AgentPolicy(
        name="fastlane",
        channels=("fast", "bypass"),
        limiter_capacity={
            "fast": resolved.fast_lane_cache_bypass_limit,
            "bypass": resolved.cache_bypass_limit,
        },
        plans={"fast": fast, "standard": standard},
        match_any=settings.fast_lane_match == "any",
    )
