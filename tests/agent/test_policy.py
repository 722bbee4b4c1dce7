"""Policies: lane classification, which channel/limiter/budget each lane uses."""

from __future__ import annotations

from agent.policy import lane_of, make_policy
from agent.settings import Settings


def test_lanes() -> None:
    assert lane_of(["FFE_FLAGS"]) == "fast"
    assert lane_of(["FFE_FLAGS", "APM_TRACING"]) == "standard"
    assert lane_of([]) == "standard"


def test_legacy_shares_everything_between_lanes() -> None:
    settings = Settings()
    policy = make_policy(settings, settings.resolve())
    assert policy.channels == ("bypass",)
    assert policy.plan("fast") == policy.plan("standard")
    assert policy.plan("fast").block_ttl_s == 2.0
    assert policy.limiter_capacity == {"bypass": 5}
    assert policy.reason_of("bypass") == "bypass"


def test_fastlane_gives_the_fast_lane_its_own_channel_limiter_and_budget() -> None:
    settings = Settings(policy="fastlane", fast_lane_block_ttl_ms=250, cache_bypass_limit=12)
    policy = make_policy(settings, settings.resolve())
    assert policy.channels[0] == "fast"  # served first
    assert policy.plan("fast").block_ttl_s == 0.25
    assert policy.plan("standard").block_ttl_s == 2.0
    assert policy.limiter_capacity == {"fast": 50, "bypass": 5}  # 12 is out of range -> 5
    assert policy.reason_of("fast") == "bypass_fast_lane"


def test_bypass_lane_follows_b4_unless_match_any() -> None:
    b4 = Settings(policy="fastlane")
    policy = make_policy(b4, b4.resolve())
    assert policy.bypass_lane(["APM_TRACING", "FFE_FLAGS"]) == "standard"
    assert policy.bypass_lane(["FFE_FLAGS"]) == "fast"
    any_ = Settings(policy="fastlane", fast_lane_match="any")
    policy = make_policy(any_, any_.resolve())
    assert policy.bypass_lane(["APM_TRACING", "FFE_FLAGS"]) == "fast"
    assert policy.bypass_lane(["APM_TRACING"]) == "standard"
    assert policy.plan(policy.bypass_lane(["ASM", "FFE_FLAGS"])).block_ttl_s == 0.5


def test_match_any_changes_nothing_under_legacy() -> None:
    settings = Settings(fast_lane_match="any")
    policy = make_policy(settings, settings.resolve())
    bundled = policy.plan(policy.bypass_lane(["APM_TRACING", "FFE_FLAGS"]))
    assert bundled == policy.plan("fast") == policy.plan("standard")  # one channel, one budget
