"""harness.studies.validate: percentiles side by side, tolerance, KS statistic."""

from __future__ import annotations

import pytest

from harness.studies.validate import (
    Side,
    Tolerance,
    ValidateError,
    Validation,
    compare,
    ks_statistic,
    render_table,
)


def test_tolerance_is_the_larger_of_share_and_floor() -> None:
    t = Tolerance()
    assert t.allowed_ms(1000) == 300 and t.allowed_ms(7000) == 1050
    assert Tolerance.parse("10%") == Tolerance(0.10, 300)
    assert Tolerance.parse("0.5s") == Tolerance(0.15, 500)
    with pytest.raises(ValidateError, match=r"expected e\.g\."):
        Tolerance.parse("lots")


def test_identical_distributions_pass_with_ks_zero() -> None:
    values = list(range(1000, 8000, 100))
    rows, ks, problems = compare(values, values, Tolerance(), real_fleet=70, stub_fleet=70)
    assert ks == 0.0 and problems == () and all(r.ok and r.diff_ms == 0 for r in rows)
    assert [r.percentile for r in rows] == [10, 20, 30, 40, 50, 60, 70, 80, 90]


def test_a_stub_2_s_early_on_the_slow_half_fails_those_percentiles() -> None:
    real = [300] * 5 + [7000] * 5
    stub = [300] * 5 + [5000] * 5
    rows, ks, problems = compare(real, stub, Tolerance(), real_fleet=10, stub_fleet=12)
    assert [r.ok for r in rows] == [True] * 4 + [False] * 5
    assert rows[-1].diff_ms == -2000 and rows[-1].allowed_ms == 1050
    assert ks == 0.5
    assert problems == ("2 of 12 stub tracers never became ready",)


def test_ks_statistic_is_the_largest_cdf_gap() -> None:
    assert ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]) == 0.5
    with pytest.raises(ValidateError):
        ks_statistic([], [1])


def test_nothing_ready_on_one_side_is_an_error() -> None:
    with pytest.raises(ValidateError, match="no real tracer became ready"):
        compare([], [1], Tolerance(), real_fleet=1, stub_fleet=1)


def test_table_prints_both_sides_and_the_verdict() -> None:
    rows, ks, _ = compare([1000, 2000], [1100, 2100], Tolerance(), real_fleet=2, stub_fleet=2)
    v = Validation(
        kind="ddtrace-py", profile="ddtrace-py-4.16", scenario="baseline", agent_policy="legacy",
        runtime="local", tolerance=Tolerance().describe(),
        real=Side(kind="ddtrace-py", tracers=2, ready=2, results="r"),
        stub=Side(kind="stub", tracers=2, ready=2, results="s"),
        rows=rows, ks_statistic=ks, passed=all(r.ok for r in rows),
    )  # fmt: skip
    text = render_table(v)
    assert "p50     2,000    2,100     +100      300  yes" in text
    assert text.endswith("PASS\n")
