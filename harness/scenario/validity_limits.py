"""The scenario's ``validity`` section: the limits of the harness's own distortion."""

from __future__ import annotations

from pydantic import Field

from harness.scenario.sections import Section

BUDGET_SHARE = "10 % of the fast lane's 500 ms block budget (proposal B3)"


class ValidityLimits(Section):
    """How much the harness may distort its own measurement before the run says so
    (``validity`` in summary.json, docs/validity.md); ``null`` turns a check off.

    Latency limits are a tenth of the smallest budget the harness is used to judge, the fast
    lane's 500 ms (proposal B3): beyond it the harness's own delay is a visible share of what
    the design under test is allowed. CPU limits are where a single-threaded process, or the
    machine, starts queueing work (an M/D/1 server waits 2 service times at 80 % load, 10 at
    95 %).
    """

    max_poll_lateness_p99_ms: float | None = Field(
        default=50.0, ge=0, description="tracer polls sent late (stub event loops): " + BUDGET_SHARE
    )
    max_agent_loop_lag_p99_ms: float | None = Field(
        default=50.0, ge=0, description="agent event-loop lag (every request waits it): "
        + BUDGET_SHARE,
    )  # fmt: skip
    max_agent_lock_wait_p99_ms: float | None = Field(
        default=50.0, ge=0, description="wait for the agent's lock when serve_cost_ms is 0 (the "
        "model's own CPU with the lock held): " + BUDGET_SHARE,
    )  # fmt: skip
    max_release_spread_ms: float | None = Field(
        default=50.0, ge=0, description="latest minus earliest tracer start: " + BUDGET_SHARE
    )
    max_agent_cpu_ratio: float | None = Field(
        default=0.8, ge=0, description="agent CPU seconds per second of collection (one core "
        "at most: a single-threaded process queues beyond 80 %)",
    )  # fmt: skip
    max_machine_cpu_ratio: float | None = Field(
        default=0.9, ge=0, le=1, description="busy share of all the machine's cores during "
        "collection (beyond, every process waits for a core)",
    )  # fmt: skip
    max_requests_lost: float | None = Field(
        default=0.0, ge=0, description="RC requests the tracers sent that the agent never "
        "received (a full accept queue, a starved agent)",
    )  # fmt: skip
    max_scrape_failures: float | None = Field(
        default=0.0, ge=0, description="/metrics scrapes that failed (data points lost)"
    )
