"""Prometheus metrics of a stub process (names from docs/contracts.md "Tracer stub").

Per-tracer values are gauges with a ``tracer`` label (the global index) so that the harness
recovers each exact sample; histograms carry no tracer label.

Durations, in the decomposition the proposal's load test reports ("TOTAL BOOT TIME (tracer
start + provider ready + first eval)"), on each tracer's monotonic clock:

- ``tracer_start_seconds``: tracer start-up cost (start -> RC client running);
- ``tracer_provider_ready_seconds``: provider start (set right after tracer start) ->
  PROVIDER_READY handled;
- ``tracer_first_evaluation_seconds``: provider start -> first flag evaluation that resolved
  from the configuration;
- ``tracer_boot_total_seconds``: tracer start -> that evaluation (tracer start included).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from tracer_stub.client.policy import Lane

__all__ = ["OUTCOMES", "StubMetrics"]

OUTCOMES = ("pending", "ready", "timeout", "error")

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10)
LATENESS_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5)
READY_BUCKETS = (
    0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 12.5, 15, 17.5, 20, 22.5, 25, 27.5, 30, 32.5, 35, 40,
    50, 60, 90, 120,
)  # fmt: skip


class StubMetrics:
    """Every metric of one stub process, in its own registry."""

    def __init__(self, run_id: str = "", registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.outcome = Gauge(
            "tracer_outcome", "1 for the tracer's current outcome", ["tracer", "outcome"],
            registry=r,
        )  # fmt: skip
        self.start = Gauge("tracer_start_seconds", "tracer start-up cost", ["tracer"], registry=r)
        self.provider_ready = Gauge(
            "tracer_provider_ready_seconds", "provider start -> PROVIDER_READY", ["tracer"],
            registry=r,
        )  # fmt: skip
        self.first_evaluation = Gauge(
            "tracer_first_evaluation_seconds",
            "provider start -> first flag evaluation from the config",
            ["tracer"],
            registry=r,
        )
        self.boot_total = Gauge(
            "tracer_boot_total_seconds", "tracer start -> first evaluation", ["tracer"],
            registry=r,
        )  # fmt: skip
        self.start_wall = Gauge(
            "tracer_start_wall_seconds", "unix time the tracer started", ["tracer"], registry=r
        )
        self.provider_errors = Counter(
            "tracer_provider_error_events", "PROVIDER_ERROR events", ["tracer"], registry=r
        )
        self.ready_duration = Histogram(
            "tracer_provider_ready_duration_seconds",
            "provider start -> PROVIDER_READY",
            buckets=READY_BUCKETS,
            registry=r,
        )
        self.rc_requests = Counter(
            "tracer_rc_requests", "RC requests by lane and outcome", ["lane", "outcome"],
            registry=r,
        )  # fmt: skip
        self.rc_duration = Histogram(
            "tracer_rc_request_duration_seconds", "RC request latency", ["lane"],
            buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self.rc_lateness = Histogram(
            "tracer_rc_poll_lateness_seconds", "actual - intended poll send time", ["lane"],
            buckets=LATENESS_BUCKETS, registry=r,
        )  # fmt: skip
        self.hosted = Gauge("tracer_hosted", "tracers hosted by this process", registry=r)
        self.settled = Gauge("tracer_settled", "hosted tracers no longer pending", registry=r)
        self.run_info = Gauge("tracer_run_info", "run id of this process", ["run_id"], registry=r)
        self.run_info.labels(run_id).set(1)
        self._duration = {lane: self.rc_duration.labels(str(lane)) for lane in Lane}
        self._lateness = {lane: self.rc_lateness.labels(str(lane)) for lane in Lane}
        self._outcomes: dict[str, str] = {}
        self._settled = 0

    # -- RequestObserver --------------------------------------------------------------------

    def on_request(self, lane: Lane, outcome: str, duration_s: float, lateness_s: float) -> None:
        self.rc_requests.labels(str(lane), outcome).inc()
        self._duration[lane].observe(duration_s)
        self._lateness[lane].observe(max(0.0, lateness_s))

    # -- per tracer -------------------------------------------------------------------------

    def add_tracer(self, tracer: str) -> None:
        self.hosted.inc()
        self.provider_errors.labels(tracer)  # present at 0 from the start
        self.set_outcome(tracer, "pending")

    def set_outcome(self, tracer: str, outcome: str) -> None:
        previous = self._outcomes.get(tracer)
        if previous == outcome:
            return
        self._outcomes[tracer] = outcome
        for name in OUTCOMES:
            self.outcome.labels(tracer, name).set(1 if name == outcome else 0)
        self._settled += (outcome != "pending") - (previous not in (None, "pending"))
        self.settled.set(self._settled)
