"""Prometheus metrics of the fake backend, on a per-app `CollectorRegistry`.

Names follow docs/contracts.md: `backend_rc_requests_total{endpoint, status}`,
`backend_rc_request_duration_seconds{endpoint}`, `backend_rc_response_bytes_total{endpoint}`,
`backend_rc_targets_version`, `backend_rc_faults_injected_total{kind}`,
`backend_rc_run_info{run_id}`. `endpoint` is a fixed route name (never a raw URL), so labels
stay low-cardinality.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from fake_backend.faults import FaultKind

# Buckets from 1 ms to 30 s: covers an in-memory answer and the largest injected latency.
DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)


class BackendMetrics:
    """The backend's collectors, registered on their own registry (one per app)."""

    def __init__(self, run_id: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # backend_rc_process_cpu_seconds_total & co: the harness's self-checks (CPU per component)
        ProcessCollector(namespace="backend_rc", registry=self.registry)
        self.requests = Counter(
            "backend_rc_requests_total",
            "Backend API and admin requests by endpoint and HTTP status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "backend_rc_request_duration_seconds",
            "Time to answer a request, injected latency included.",
            ["endpoint"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.response_bytes = Counter(
            "backend_rc_response_bytes",
            "Bytes of response bodies served, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.targets_version = Gauge(
            "backend_rc_targets_version",
            "Latest director targets version issued (epoch seconds).",
            registry=self.registry,
        )
        self.faults = Counter(
            "backend_rc_faults_injected",
            "Faults injected, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.capacity_rejected = Counter(
            "backend_rc_capacity_rejected",
            "Configurations calls answered 429 for capacity, by reason (rate, queue).",
            ["reason"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "backend_rc_queue_wait_seconds",
            "Time a configurations call waited for a serving slot (capacity model).",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.run_info = Gauge(
            "backend_rc_run_info",
            "Always 1; carries the run id.",
            ["run_id"],
            registry=self.registry,
        )
        self.run_info.labels(run_id=run_id).set(1)
        for kind in FaultKind:
            self.faults.labels(kind=kind.value)
        for reason in ("rate", "queue"):
            self.capacity_rejected.labels(reason=reason)

    def observe(self, endpoint: str, status: int, seconds: float, body_bytes: int) -> None:
        """Record one answered request."""
        self.requests.labels(endpoint=endpoint, status=str(status)).inc()
        self.duration.labels(endpoint=endpoint).observe(seconds)
        self.response_bytes.labels(endpoint=endpoint).inc(body_bytes)

    def fault(self, kind: FaultKind) -> None:
        """Count one injected fault."""
        self.faults.labels(kind=kind.value).inc()

    def render(self) -> bytes:
        """Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
