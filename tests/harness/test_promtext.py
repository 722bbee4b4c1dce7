import pytest

from harness.errors import MetricsParseError
from harness.run.promtext import flatten, parse

TEXT = """\
# HELP agent_rc_bypass_total Bypasses.
# TYPE agent_rc_bypass_total counter
agent_rc_bypass_total{lane="fast",result="refreshed"} 4.0
agent_rc_bypass_total{lane="standard",result="rate_limited"} 95.0
agent_rc_bypass_created{lane="fast",result="refreshed"} 1.7e9
# TYPE agent_rc_lock_wait_seconds histogram
agent_rc_lock_wait_seconds_bucket{lane="fast",le="0.1"} 3.0
agent_rc_lock_wait_seconds_bucket{lane="fast",le="+Inf"} 5.0
agent_rc_lock_wait_seconds_sum{lane="fast"} 0.7
agent_rc_lock_wait_seconds_count{lane="fast"} 5.0
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.5
"""


def test_flatten_keeps_counters_sums_and_counts_of_the_prefix_only() -> None:
    flat = flatten(parse(TEXT), "agent_rc_")
    assert flat == {
        'agent_rc_bypass_total{lane="fast",result="refreshed"}': 4.0,
        'agent_rc_bypass_total{lane="standard",result="rate_limited"}': 95.0,
        'agent_rc_lock_wait_seconds_sum{lane="fast"}': 0.7,
        'agent_rc_lock_wait_seconds_count{lane="fast"}': 5.0,
    }


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(MetricsParseError, match="not Prometheus text"):
        parse("this is { not metrics\n")
