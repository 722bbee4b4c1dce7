"""The stub's Prometheus exposition parses, and carries every contract name."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tracer_stub.client.policy import Lane
from tracer_stub.metrics import StubMetrics


def parse(metrics: StubMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_exposition_has_every_contract_metric_with_exact_values() -> None:
    m = StubMetrics("run-9")
    m.add_tracer("3")
    m.add_tracer("4")
    m.set_start("3", 1_795_970_010.9758177)
    m.set_tracer_started("3", 0.0125)
    m.set_provider_ready("3", 11.268)
    m.set_first_evaluation("3", 11.27, 11.2825)
    m.inc_provider_errors("4")
    m.set_outcome("3", "ready")
    m.set_outcome("4", "timeout")
    m.on_request(Lane.FAST, "update", 0.002, 0.0001)
    got = parse(m)
    assert got[("tracer_run_info", (("run_id", "run-9"),))] == 1
    assert got[("tracer_outcome", (("outcome", "ready"), ("tracer", "3")))] == 1
    assert got[("tracer_outcome", (("outcome", "pending"), ("tracer", "3")))] == 0
    assert got[("tracer_outcome", (("outcome", "timeout"), ("tracer", "4")))] == 1
    assert got[("tracer_start_wall_seconds", (("tracer", "3"),))] == 1_795_970_010.9758177
    assert got[("tracer_start_seconds", (("tracer", "3"),))] == 0.0125
    assert got[("tracer_provider_ready_seconds", (("tracer", "3"),))] == 11.268
    assert got[("tracer_first_evaluation_seconds", (("tracer", "3"),))] == 11.27
    assert got[("tracer_boot_total_seconds", (("tracer", "3"),))] == 11.2825
    assert got[("tracer_provider_error_events_total", (("tracer", "4"),))] == 1
    assert got[("tracer_provider_error_events_total", (("tracer", "3"),))] == 0
    assert ("tracer_provider_ready_seconds", (("tracer", "4"),)) not in got
    assert got[("tracer_hosted", ())] == 2 and got[("tracer_settled", ())] == 2
    assert got[("tracer_provider_ready_duration_seconds_count", ())] == 1
    assert got[("tracer_rc_requests_total", (("lane", "fast"), ("outcome", "update")))] == 1
    assert got[("tracer_rc_request_duration_seconds_count", (("lane", "fast"),))] == 1
    assert got[("tracer_rc_poll_lateness_seconds_count", (("lane", "fast"),))] == 1


def test_settled_counts_each_tracer_once() -> None:
    m = StubMetrics()
    m.add_tracer("1")
    m.set_outcome("1", "timeout")
    m.set_outcome("1", "ready")
    assert parse(m)[("tracer_settled", ())] == 1
