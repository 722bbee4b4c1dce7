"""Rules of the client policies (tracer_stub.client.policy), with explicit times."""

from __future__ import annotations

import random

import pytest

from rc_protocol.capabilities import Capability
from tracer_stub.client.policy import (
    ClientPolicy,
    FetchOutcome,
    FetchResult,
    FetchSchedule,
    FirstPoll,
    Lane,
    MultiTargetFetcher,
    PermitPool,
    PolicySettings,
    PollScheduling,
    backoff_delay,
    plan_fetchers,
)

FFE_CAP = int(Capability.FFE_FLAG_CONFIGURATION_RULES)
APM_CAP = int(Capability.APM_TRACING_SAMPLE_RATE)
CAPS = {"FFE_FLAGS": frozenset({FFE_CAP}), "APM_TRACING": frozenset({APM_CAP})}
PRODUCTS = ("APM_TRACING", "ASM_DATA", "FFE_FLAGS")

OK = FetchResult(FetchOutcome.OK)
ERR = FetchResult(FetchOutcome.ERROR)


def plans(policy: ClientPolicy, **kw: object) -> dict[Lane, object]:
    settings = PolicySettings(policy=policy, **kw)  # type: ignore[arg-type]
    return {p.lane: p for p in plan_fetchers(settings, PRODUCTS, CAPS)}


def schedule(
    policy: ClientPolicy, lane: Lane = Lane.STANDARD, seed: int = 1, **kw: object
) -> FetchSchedule:
    settings = PolicySettings(policy=policy, **kw)  # type: ignore[arg-type]
    plan = {p.lane: p for p in plan_fetchers(settings, PRODUCTS, CAPS)}[lane]
    return FetchSchedule(plan, random.Random(seed))


# -- product split and capability partition -------------------------------------------------


@pytest.mark.parametrize("policy", [ClientPolicy.LEGACY, ClientPolicy.PHASE1])
def test_legacy_and_phase1_bundle_every_product_in_one_request(policy: ClientPolicy) -> None:
    by_lane = plans(policy)
    assert list(by_lane) == [Lane.STANDARD]
    plan = by_lane[Lane.STANDARD]
    assert plan.products == PRODUCTS  # type: ignore[attr-defined]
    assert plan.capabilities == {FFE_CAP, APM_CAP}  # type: ignore[attr-defined]


def test_fastlane_splits_ffe_flags_and_its_capability_out() -> None:
    by_lane = plans(ClientPolicy.FASTLANE)
    standard, fast = by_lane[Lane.STANDARD], by_lane[Lane.FAST]
    assert fast.products == ("FFE_FLAGS",)  # type: ignore[attr-defined]
    assert fast.capabilities == {FFE_CAP}  # type: ignore[attr-defined]
    assert "FFE_FLAGS" not in standard.products  # type: ignore[attr-defined]
    assert FFE_CAP not in standard.capabilities  # type: ignore[attr-defined]
    assert standard.capabilities == {APM_CAP}  # type: ignore[attr-defined]


def test_fastlane_kill_switch_behaves_like_phase1() -> None:
    by_lane = plans(ClientPolicy.FASTLANE, fast_lane_enabled=False)
    assert list(by_lane) == [Lane.STANDARD]
    assert by_lane[Lane.STANDARD].products == PRODUCTS  # type: ignore[attr-defined]


def test_fastlane_with_only_ffe_flags_has_no_standard_fetcher() -> None:
    settings = PolicySettings(policy=ClientPolicy.FASTLANE)
    got = plan_fetchers(settings, ["FFE_FLAGS"], CAPS)
    assert [p.lane for p in got] == [Lane.FAST]


# -- intervals and first poll -----------------------------------------------------------------


def test_legacy_polls_first_immediately_then_5s_after_each_completion() -> None:
    s = schedule(ClientPolicy.LEGACY)
    assert s.first_send_at(100.0) == 100.0
    # fixed delay: the sleep starts when the fetch completes (shared.rs)
    assert s.after_fetch(100.0, 100.4, OK) == pytest.approx(105.4)


def test_after_interval_first_poll_waits_one_interval() -> None:
    s = schedule(ClientPolicy.LEGACY, first_poll=FirstPoll.AFTER_INTERVAL)
    assert s.first_send_at(100.0) == 105.0


def test_poll_interval_setting_is_used() -> None:
    s = schedule(ClientPolicy.LEGACY, poll_interval_s=2.0, first_poll=FirstPoll.AFTER_INTERVAL)
    assert s.first_send_at(0.0) == 2.0
    assert s.after_fetch(2.0, 2.1, OK) == pytest.approx(4.1)


def test_fixed_rate_keeps_the_grid_and_fires_at_once_after_a_slow_fetch() -> None:
    s = schedule(ClientPolicy.LEGACY, poll_scheduling=PollScheduling.FIXED_RATE)
    assert s.after_fetch(0.0, 0.3, OK) == 5.0
    assert s.after_fetch(5.0, 11.0, OK) == 11.0  # tick buffered during a 6 s fetch


def test_fast_lane_interval_and_initial_delay() -> None:
    s = schedule(ClientPolicy.FASTLANE, lane=Lane.FAST)
    assert s.first_send_at(10.0) == 10.0
    assert s.after_fetch(10.0, 10.05, OK) == pytest.approx(11.05)
    s2 = schedule(
        ClientPolicy.FASTLANE,
        lane=Lane.FAST,
        fast_lane_interval_ms=250,
        fast_lane_initial_interval_ms=300,
    )
    assert s2.first_send_at(10.0) == pytest.approx(10.3)
    assert s2.after_fetch(10.3, 10.3, OK) == pytest.approx(10.55)


# -- errors: legacy ignores them, phase1/fastlane back off -----------------------------------


def test_legacy_has_no_backoff_no_429_handling_and_ignores_refresh_interval() -> None:
    s = schedule(ClientPolicy.LEGACY)
    assert s.after_fetch(0.0, 3.0, ERR) == 8.0
    assert s.after_fetch(8.0, 8.0, ERR) == 13.0
    limited = FetchResult(FetchOutcome.RATE_LIMITED, retry_after_s=60.0)
    assert s.after_fetch(13.0, 13.0, limited) == 18.0
    slower = FetchResult(FetchOutcome.OK, server_refresh_interval_s=30.0)
    assert s.after_fetch(18.0, 18.0, slower) == 23.0


def test_backoff_grows_as_interval_times_two_to_the_errors_capped_at_exponent_3() -> None:
    rng = random.Random(0)
    expected = [10.0, 20.0, 30.0, 30.0]  # 5*2, 5*4, min(5*8, 30), cap
    for errors, base in enumerate(expected, start=1):
        for _ in range(50):
            d = backoff_delay(5.0, errors, rng)
            assert base <= d < base * 1.25


def test_backoff_cap_applies_to_small_intervals_through_the_exponent() -> None:
    rng = random.Random(0)
    for errors in (3, 4, 10):
        d = backoff_delay(1.0, errors, rng)
        assert 8.0 <= d < 10.0  # 1 * 2**3, jitter < 8/4


def test_jitter_is_uniform_in_zero_to_a_quarter_of_the_backoff() -> None:
    rng = random.Random(42)
    samples = [backoff_delay(5.0, 1, rng) - 10.0 for _ in range(2000)]
    assert min(samples) >= 0.0
    assert max(samples) < 2.5
    assert min(samples) < 0.1 and max(samples) > 2.4  # the whole range is used
    assert 1.1 < sum(samples) / len(samples) < 1.4  # mean ~ 1.25


def test_phase1_backs_off_after_errors_and_resets_after_success() -> None:
    s = schedule(ClientPolicy.PHASE1)
    first = s.after_fetch(0.0, 1.0, ERR) - 1.0
    assert 10.0 <= first < 12.5
    second = s.after_fetch(11.0, 11.0, ERR) - 11.0
    assert 20.0 <= second < 25.0
    assert s.consecutive_errors == 2
    assert s.after_fetch(31.0, 31.0, OK) == 36.0
    assert s.consecutive_errors == 0
    again = s.after_fetch(36.0, 36.0, ERR) - 36.0
    assert 10.0 <= again < 12.5


def test_fast_lane_backs_off_from_its_own_interval() -> None:
    s = schedule(ClientPolicy.FASTLANE, lane=Lane.FAST)
    d = s.after_fetch(0.0, 0.0, ERR)
    assert 2.0 <= d < 2.5  # 1 s * 2


def test_429_with_retry_after_waits_that_long() -> None:
    s = schedule(ClientPolicy.PHASE1)
    limited = FetchResult(FetchOutcome.RATE_LIMITED, retry_after_s=17.0)
    assert s.after_fetch(0.0, 0.5, limited) == 17.5


def test_429_retry_after_shorter_than_interval_still_waits_the_interval() -> None:
    s = schedule(ClientPolicy.PHASE1)
    limited = FetchResult(FetchOutcome.RATE_LIMITED, retry_after_s=0.0)
    assert s.after_fetch(0.0, 0.0, limited) == 5.0


def test_429_without_retry_after_backs_off() -> None:
    s = schedule(ClientPolicy.PHASE1)
    d = s.after_fetch(0.0, 0.0, FetchResult(FetchOutcome.RATE_LIMITED))
    assert 10.0 <= d < 12.5


def test_refresh_interval_from_server_can_only_slow_the_client_down() -> None:
    s = schedule(ClientPolicy.PHASE1)
    slower = FetchResult(FetchOutcome.OK, server_refresh_interval_s=12.0)
    assert s.after_fetch(0.0, 0.0, slower) == 12.0
    assert s.interval_s == 12.0
    faster = FetchResult(FetchOutcome.OK, server_refresh_interval_s=1.0)
    assert s.after_fetch(12.0, 12.0, faster) == 24.0  # not sped up
    assert s.after_fetch(24.0, 24.0, OK) == 36.0  # stays slowed down


def test_refresh_interval_scales_the_backoff_base() -> None:
    s = schedule(ClientPolicy.PHASE1)
    s.after_fetch(0.0, 0.0, FetchResult(FetchOutcome.OK, server_refresh_interval_s=10.0))
    d = s.after_fetch(10.0, 10.0, ERR) - 10.0
    assert 20.0 <= d < 25.0


# -- permit pools -----------------------------------------------------------------------------


def test_permit_pool_grants_up_to_the_limit_then_queues_fifo() -> None:
    pool = PermitPool(2)
    assert pool.request("a") and pool.request("b")
    assert not pool.request("c")
    assert not pool.request("d")
    assert (pool.in_use, pool.pending) == (2, 2)
    assert pool.release("a") == "c"
    assert pool.holds("c") and not pool.holds("a")
    assert pool.release("d") is None  # a waiter giving up frees nothing
    assert pool.release("b") is None
    assert (pool.in_use, pool.pending) == (1, 0)


def test_permit_pool_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        PermitPool(0)


def test_multitarget_defaults_are_libdatadog_100_and_fast_lane_20() -> None:
    mt = MultiTargetFetcher.from_settings(PolicySettings())
    assert mt.pools[Lane.STANDARD].limit == 100
    assert mt.pools[Lane.FAST].limit == 20
    holders = [f"t{i}" for i in range(101)]
    granted = [mt.pools[Lane.STANDARD].request(h) for h in holders]
    assert granted.count(True) == 100 and granted[-1] is False
