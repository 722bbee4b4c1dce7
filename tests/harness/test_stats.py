import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.results.stats import percentile, rank, summarize


def test_p99_of_100_samples_is_the_max_as_in_the_proposal() -> None:
    samples = [5_075 + 100 * i for i in range(100)]
    assert percentile(samples, 99) == max(samples)
    assert percentile(samples, 50) == sorted(samples)[50]


def test_rank_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        rank(50, 0)
    with pytest.raises(ValueError):
        rank(101, 10)


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=300))
def test_summary_is_ordered_and_made_of_samples(samples: list[int]) -> None:
    s = summarize(samples)
    assert s is not None
    values = [s[k] for k in ("min", "p50", "p75", "p90", "p95", "p99", "max")]
    assert values == sorted(values)
    assert all(v in samples for v in values)
    assert s["min"] == min(samples) and s["max"] == max(samples)
