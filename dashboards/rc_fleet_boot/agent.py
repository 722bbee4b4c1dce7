"""Row 3, the agent's RC service: requests, latency and lock wait by lane, cache bypasses,
refreshes to the backend, clients and targets version."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards.panels import MAX_OF_GROWING_COUNT, bargauge, row, timeseries
from dashboards.promql import Query, aggregate, legend, percentiles, rate, selector, sum_by


def add_row(out: Dashboard) -> None:
    """Add the row and its panels below the panels of ``out``."""
    out.with_row(row(16, "Agent RC service"))
    out.with_panel(
        timeseries(
            17,
            "Agent RC request rate by lane and outcome",
            "/v0.7/config requests answered by the agent per second (agent_rc_requests_total).",
            "reqps",
            [
                Query(
                    sum_by(["lane", "outcome"], rate(selector("agent_rc_requests_total"))),
                    legend("lane", "outcome"),
                )
            ],
        )
    )
    out.with_panel(
        timeseries(
            18,
            "Agent RC request latency by lane (p50, p99)",
            "Time the agent spent answering /v0.7/config (agent_rc_request_duration_seconds),"
            " lock wait and bypass included.",
            "s",
            percentiles("agent_rc_request_duration_seconds", ["lane"], legend("lane")),
        )
    )
    out.with_panel(
        timeseries(
            19,
            "Agent lock wait by lane (p50, p99)",
            "Time requests waited for the RC service's single lock (agent_rc_lock_wait_seconds).",
            "s",
            percentiles("agent_rc_lock_wait_seconds", ["lane"], legend("lane")),
        )
    )
    bypasses = selector("agent_rc_bypass_total")
    out.with_panel(
        timeseries(
            20,
            "Cache bypasses by lane and result (per second)",
            "New-client cache bypasses: refreshed (granted), rate_limited, timed_out"
            " (agent_rc_bypass_total).",
            "ops",
            [Query(sum_by(["lane", "result"], rate(bypasses)), legend("lane", "result"))],
        )
    )
    out.with_panel(
        bargauge(
            21,
            "Cache bypasses by lane and result (total)",
            "Counter values of the run (agent_rc_bypass_total)." + MAX_OF_GROWING_COUNT,
            Query(sum_by(["lane", "result"], bypasses), legend("lane", "result")),
            width=8,
        )
    )
    out.with_panel(
        timeseries(
            22,
            "Backend refreshes by reason and result",
            "Agent to backend refreshes per second (agent_rc_refreshes_total): periodic,"
            " bypass, ...",
            "ops",
            [
                Query(
                    sum_by(["reason", "result"], rate(selector("agent_rc_refreshes_total"))),
                    legend("reason", "result"),
                )
            ],
        )
    )
    out.with_panel(
        timeseries(
            23,
            "Active clients",
            "Clients the agent tracks (seen within clients_ttl_s) (agent_rc_active_clients).",
            "short",
            [Query(sum_by(["run_id"], selector("agent_rc_active_clients")), legend("run_id"))],
        )
    )
    out.with_panel(
        timeseries(
            24,
            "Targets version (agent and backend)",
            "TUF targets version the agent holds vs the backend's current one"
            " (agent_rc_targets_version, backend_rc_targets_version).",
            "short",
            [
                Query(
                    aggregate("max", ["run_id"], selector(f"{side}_rc_targets_version")),
                    f"{side} " + legend("run_id"),
                )
                for side in ("agent", "backend")
            ],
        )
    )
    out.with_panel(
        timeseries(
            25,
            "Agent to backend latency (p50, p99)",
            "Duration of the agent's calls to the backend"
            " (agent_rc_backend_request_duration_seconds).",
            "s",
            percentiles("agent_rc_backend_request_duration_seconds", ["run_id"], legend("run_id")),
        )
    )
