"""FixedWindowLimiter: wall-clock aligned windows (``now.Truncate``), reset, allowance > 0."""

from __future__ import annotations

from agent.limiter import GO_ZERO_TO_UNIX_S, FixedWindowLimiter, go_truncate

T0 = 1_700_000_040.0  # a multiple of 60 s since Go's zero time (and since the epoch)


def test_go_truncate_aligns_to_go_zero_time() -> None:
    assert go_truncate(T0 + 59.9, 60) == T0
    assert go_truncate(T0 + 60.0, 60) == T0 + 60
    # A 7 s window aligns on Go's zero time, not on the unix epoch.
    since_zero = int(T0) + GO_ZERO_TO_UNIX_S
    assert go_truncate(T0, 7) == T0 - since_zero % 7
    assert (int(T0) % 7) != (since_zero % 7)  # the two alignments really differ here


def test_five_bypasses_then_rate_limited_within_the_window() -> None:
    limiter = FixedWindowLimiter(capacity=5, window_s=60, now_wall=T0 + 10)
    assert [limiter.allow(T0 + 10 + i) for i in range(6)] == [True] * 5 + [False]
    assert not limiter.allow(T0 + 59.999)


def test_allowance_resets_at_the_wall_clock_boundary_not_after_a_full_window() -> None:
    limiter = FixedWindowLimiter(capacity=5, window_s=60, now_wall=T0 + 55)
    for _ in range(5):
        assert limiter.allow(T0 + 55)
    assert not limiter.allow(T0 + 59)
    # only 5 s later the new aligned window starts with a full allowance
    assert limiter.allow(T0 + 60)
    assert limiter.allowance == 4


def test_no_refill_inside_a_window_and_no_carry_over() -> None:
    limiter = FixedWindowLimiter(capacity=2, window_s=60, now_wall=T0)
    assert limiter.allow(T0 + 1)
    assert limiter.allowance == 1
    assert limiter.allow(T0 + 61)  # new window: reset to capacity (2), not 1 + 2
    assert limiter.allowance == 1


def test_window_change_applies_to_next_call() -> None:
    limiter = FixedWindowLimiter(capacity=1, window_s=60, now_wall=T0)
    assert limiter.allow(T0 + 1)
    assert not limiter.allow(T0 + 4)
    limiter.window_s = 5  # backend recommended agent_refresh_interval = 5
    assert limiter.allow(T0 + 5)
    assert not limiter.allow(T0 + 9.9)
    assert limiter.allow(T0 + 10)
