import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.metrics import AgentMetrics
from harness.errors import MetricsParseError
from harness.run.promtext import Sample, flatten, parse
from tracer_stub.client.policy import Lane
from tracer_stub.metrics import StubMetrics

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


def reference(text: str) -> list[Sample]:
    """prometheus_client's reading of ``text``."""
    return [
        Sample(s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def test_the_fast_reading_equals_prometheus_clients_on_the_services_expositions() -> None:
    stub = StubMetrics("r1")
    for i in range(3):
        stub.add_tracer(str(i))
        stub.set_start(str(i), 1.8e9 + i / 1000)
        stub.set_outcome(str(i), "ready")
    stub.on_request(Lane.FAST, "no_change", 0.001, 0.0004)
    for text in (TEXT, stub.render().decode(), AgentMetrics("r1").render().decode()):
        assert parse(text) == reference(text)


def test_escaped_label_values_and_odd_spacing() -> None:
    text = 'x_total{a="q\\"uote",b="back\\\\slash",c="new\\nline",} 2\ny   3.5  1700000000\n'
    assert parse(text) == reference(text)
    assert parse(text)[0].labels == {"a": 'q"uote', "b": "back\\slash", "c": "new\nline"}


def test_what_the_fast_reading_does_not_know_goes_to_prometheus_client() -> None:
    text = 'x{a="has } brace"} 1\n'
    assert parse(text) == reference(text) == [Sample("x", {"a": "has } brace"}, 1.0)]
