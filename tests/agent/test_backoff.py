"""ExpBackoff: 30 * 2**n capped, uniform in [b/2, b] below the cap, +1 / -2 error counting."""

from __future__ import annotations

import random

import pytest

from agent.backoff import ExpBackoff


class FixedRandom(random.Random):
    """A Random whose random() always returns one value."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self._value = value

    def random(self) -> float:
        return self._value


def test_no_errors_no_backoff() -> None:
    assert ExpBackoff(300).duration_s(0, random.Random(1)) == 0.0


@pytest.mark.parametrize(("errors", "low", "high"), [(1, 30, 60), (2, 60, 120), (3, 120, 240)])
def test_jitter_range_below_the_cap(errors: int, low: float, high: float) -> None:
    policy = ExpBackoff(300)
    assert policy.duration_s(errors, FixedRandom(0.0)) == low
    assert policy.duration_s(errors, FixedRandom(0.999999)) == pytest.approx(high, rel=1e-5)


def test_above_the_cap_is_exactly_the_cap() -> None:
    policy = ExpBackoff(300)
    assert policy.duration_s(4, FixedRandom(0.0)) == 300  # 480 > 300
    assert ExpBackoff(120).duration_s(3, FixedRandom(0.0)) == 120  # 240 > 120


def test_error_growth_capped_at_max_errors_and_recovery_by_two() -> None:
    policy = ExpBackoff(300)
    assert policy.max_errors == 4  # floor(log2(10)) + 1
    n = 0
    for _ in range(10):
        n = policy.inc_error(n)
    assert n == 4
    n = policy.dec_error(n)
    assert n == 2
    assert policy.dec_error(policy.dec_error(n)) == 0
    assert ExpBackoff(120).max_errors == 3
