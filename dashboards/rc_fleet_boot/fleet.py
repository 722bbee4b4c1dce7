"""Row 1, the fleet's boot: tracers hosted, ready and settled, provider-ready percentiles and the
boot curve (PROVIDER_READY event, i.e. actual RC delivery)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards.panels import MAX_OF_GROWING_COUNT, bargauge, row, stat, timeseries
from dashboards.promql import Query, legend, percentiles, selector, sum_by


def add_row(out: Dashboard) -> None:
    """Add the row and its panels below the panels of ``out``."""
    out.with_row(
        row(1, "Fleet boot: provider ready (PROVIDER_READY event, i.e. actual RC delivery)")
    )
    out.with_panel(
        stat(
            2,
            "Tracers hosted",
            "Simulated tracers hosted by the selected runs' tracer processes (tracer_hosted)."
            + MAX_OF_GROWING_COUNT,
            Query(sum_by([], selector("tracer_hosted")), "hosted"),
        )
    )
    out.with_panel(
        stat(
            3,
            "Ready",
            "Tracers whose OpenFeature provider emitted PROVIDER_READY"
            ' (tracer_outcome{outcome="ready"}).' + MAX_OF_GROWING_COUNT,
            Query(sum_by([], selector("tracer_outcome", 'outcome="ready"')), "ready"),
        )
    )
    out.with_panel(
        stat(
            4,
            "Settled",
            "Tracers no longer pending: ready, timeout or error (tracer_settled)."
            + MAX_OF_GROWING_COUNT,
            Query(sum_by([], selector("tracer_settled")), "settled"),
        )
    )
    out.with_panel(
        stat(
            5,
            "Timeout + error",
            "Tracers that settled without a ready provider." + MAX_OF_GROWING_COUNT,
            Query(sum_by([], selector("tracer_outcome", 'outcome=~"timeout|error"')), "not ready"),
        )
    )
    out.with_panel(
        stat(
            6,
            "ProviderError events",
            "OpenFeature PROVIDER_ERROR events over the fleet (tracer_provider_error_events_total)."
            + MAX_OF_GROWING_COUNT,
            Query(sum_by([], selector("tracer_provider_error_events_total")), "events"),
        )
    )
    out.with_panel(
        stat(
            7,
            "Components up",
            "Scrape targets of the selected runs that answer (Prometheus `up`), by role. Drops to"
            " 0 when a run ends: its components stop while Prometheus still scrapes them for up"
            " to 10 s.",
            Query(sum_by(["role"], selector("up")), legend("role")),
            calc="lastNotNull",
        )
    )
    out.with_panel(
        timeseries(
            8,
            "Provider ready p50 / p90 / p99 by scenario and run",
            "Start to PROVIDER_READY (tracer_provider_ready_duration_seconds). Cumulative over the"
            " fleet so far: buckets are NOT rated because each tracer observes once per boot, so"
            " the quantile at time t covers every tracer ready by t. histogram_quantile"
            " interpolates linearly inside buckets: the harness report's nearest-rank figures"
            " over raw samples are exact, these are bucket estimates.",
            "s",
            percentiles(
                "tracer_provider_ready_duration_seconds",
                ["run_id", "scenario"],
                legend("scenario", "run_id"),
                (0.5, 0.9, 0.99),
                rated=False,
            ),
            width=12,
            height=9,
        )
    )
    out.with_panel(
        timeseries(
            9,
            "Ready tracers over time by scenario and run",
            'Tracers whose provider is ready (sum of tracer_outcome{outcome="ready"}): the boot'
            " curve.",
            "short",
            [
                Query(
                    sum_by(["run_id", "scenario"], selector("tracer_outcome", 'outcome="ready"')),
                    "ready " + legend("scenario", "run_id"),
                )
            ],
            width=12,
            height=9,
        )
    )
    out.with_panel(
        timeseries(
            10,
            "Tracer outcomes",
            "Tracers per outcome (pending, ready, timeout, error) over time.",
            "short",
            [Query(sum_by(["outcome"], selector("tracer_outcome")), legend("outcome"))],
            width=12,
        )
    )
    out.with_panel(
        bargauge(
            11,
            "Provider ready time distribution",
            "Tracers per provider-ready bucket (cumulative `le` buckets turned into counts per"
            " bucket by Grafana's heatmap format)." + MAX_OF_GROWING_COUNT,
            Query(
                sum_by(["le"], selector("tracer_provider_ready_duration_seconds_bucket")),
                legend("le"),
                heatmap=True,
            ),
            width=12,
        )
    )
