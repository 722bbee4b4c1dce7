"""AgentMetrics: one registry per instance, contract names, pre-created label sets."""

from __future__ import annotations

from agent.metrics import AgentMetrics


def test_each_instance_has_its_own_registry() -> None:
    a, b = AgentMetrics("a"), AgentMetrics("b")
    a.requests.labels(lane="fast", outcome="update").inc()
    assert a.value("agent_rc_requests_total", lane="fast", outcome="update") == 1
    assert b.value("agent_rc_requests_total", lane="fast", outcome="update") == 0


def test_exposition_has_the_contract_names_and_zeroed_label_sets() -> None:
    text = AgentMetrics("run-7").render().decode()
    assert 'agent_rc_run_info{run_id="run-7"} 1.0' in text
    assert 'agent_rc_bypass_total{lane="fast",result="rate_limited"} 0.0' in text
    assert 'agent_rc_refreshes_total{reason="bypass_fast_lane",result="ok"} 0.0' in text
    for outcome in ("update", "no_update", "config_expired", "error_invalid", "error_decode",
                    "error_too_large", "error_unavailable", "error_internal"):  # fmt: skip
        assert f'agent_rc_requests_total{{lane="standard",outcome="{outcome}"}} 0.0' in text
    for name in ("agent_rc_request_duration_seconds_bucket", "agent_rc_lock_wait_seconds_bucket",
                 "agent_rc_active_clients", "agent_rc_targets_version",
                 "agent_rc_backend_request_duration_seconds_bucket"):  # fmt: skip
        assert name in text


def test_lane_histograms_count_a_value_in_the_first_bucket_at_or_above_it() -> None:
    m = AgentMetrics("r")
    for value in (0.0, 0.0005, 0.0006, 20.0):
        m.lock_wait.labels(lane="fast").observe(value)
    bucket = {le: m.value("agent_rc_lock_wait_seconds_bucket", lane="fast", le=le)
              for le in ("0.0005", "0.001", "10.0", "+Inf")}  # fmt: skip
    assert bucket == {"0.0005": 2, "0.001": 3, "10.0": 3, "+Inf": 4}
    assert m.value("agent_rc_lock_wait_seconds_count", lane="fast") == 4
    assert m.value("agent_rc_lock_wait_seconds_sum", lane="fast") == 20.0011
    assert m.value("agent_rc_lock_wait_seconds_count", lane="standard") == 0
