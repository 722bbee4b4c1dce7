"""Row 2, Remote Config requests on the tracer side: rate, round trip and poll lateness by lane."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards.panels import row, timeseries
from dashboards.promql import Query, legend, percentiles, rate, selector, sum_by


def add_row(out: Dashboard) -> None:
    """Add the row and its panels below the panels of ``out``."""
    out.with_row(row(12, "Remote Config requests: tracer side"))
    out.with_panel(
        timeseries(
            13,
            "Tracer RC request rate by lane and outcome",
            "/v0.7/config requests sent by the tracers per second (tracer_rc_requests_total).",
            "reqps",
            [
                Query(
                    sum_by(["lane", "outcome"], rate(selector("tracer_rc_requests_total"))),
                    legend("lane", "outcome"),
                )
            ],
        )
    )
    out.with_panel(
        timeseries(
            14,
            "Tracer RC request latency by lane (p50, p99)",
            "Round trip of /v0.7/config seen by the tracer (tracer_rc_request_duration_seconds).",
            "s",
            percentiles("tracer_rc_request_duration_seconds", ["lane"], legend("lane")),
        )
    )
    out.with_panel(
        timeseries(
            15,
            "Tracer poll lateness by lane (p50, p99)",
            "How late each poll was sent against its intended time"
            " (tracer_rc_poll_lateness_seconds): the harness's own scheduling error.",
            "s",
            percentiles("tracer_rc_poll_lateness_seconds", ["lane"], legend("lane")),
        )
    )
