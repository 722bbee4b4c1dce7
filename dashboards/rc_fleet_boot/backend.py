"""Row 4, the RC backend: requests, latency, errors and faults, response bytes; the runs seen."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards.panels import row, timeseries
from dashboards.promql import (
    RUN_INFO,
    Query,
    aggregate,
    legend,
    percentiles,
    rate,
    selector,
    sum_by,
)


def add_row(out: Dashboard) -> None:
    """Add the row and its panels below the panels of ``out``."""
    out.with_row(row(26, "RC backend"))
    out.with_panel(
        timeseries(
            27,
            "Backend request rate by endpoint and status",
            "Requests per second (backend_rc_requests_total).",
            "reqps",
            [
                Query(
                    sum_by(["endpoint", "status"], rate(selector("backend_rc_requests_total"))),
                    legend("endpoint", "status"),
                )
            ],
        )
    )
    out.with_panel(
        timeseries(
            28,
            "Backend latency by endpoint (p50, p99)",
            "Server-side duration, injected latency included"
            " (backend_rc_request_duration_seconds).",
            "s",
            percentiles("backend_rc_request_duration_seconds", ["endpoint"], legend("endpoint")),
        )
    )
    errors = sum_by(["endpoint"], rate(selector("backend_rc_requests_total", 'status!~"2.."')))
    requests = sum_by(["endpoint"], rate(selector("backend_rc_requests_total")))
    out.with_panel(
        timeseries(
            29,
            "Backend errors",
            "Ratio of non-2xx answers per endpoint"
            ' (backend_rc_requests_total{status!~"2.."}; 0 while there are none), and faults'
            " injected per kind (backend_rc_faults_injected_total).",
            "short",
            [
                # `or 0 * requests`: 0 for an endpoint without errors, rather than no series.
                Query(
                    f"({errors} or 0 * {requests}) / {requests}",
                    "error ratio " + legend("endpoint"),
                ),
                Query(
                    sum_by(["kind"], rate(selector("backend_rc_faults_injected_total"))),
                    "faults/s " + legend("kind"),
                ),
            ],
        )
    )
    out.with_panel(
        timeseries(
            30,
            "Backend response bytes",
            "Bytes served per second by endpoint (backend_rc_response_bytes_total).",
            "Bps",
            [
                Query(
                    sum_by(["endpoint"], rate(selector("backend_rc_response_bytes_total"))),
                    legend("endpoint"),
                )
            ],
            width=12,
        )
    )
    out.with_panel(
        timeseries(
            31,
            "Runs",
            "Components of each run exporting <prefix>_run_info, by role.",
            "short",
            [
                Query(
                    aggregate("count", ["run_id", "scenario", "role"], selector("", RUN_INFO)),
                    legend("run_id", "scenario", "role"),
                )
            ],
            width=12,
        )
    )
