"""Prometheus metrics of a stub process (names from docs/contracts.md "Tracer stub").

Per-tracer values are gauges (and one counter) with a ``tracer`` label (the global index) so
that the harness recovers each exact sample; histograms carry no tracer label.

Durations, in the decomposition the proposal's load test reports ("TOTAL BOOT TIME (tracer
start + provider ready + first eval)"), on each tracer's monotonic clock:

- ``tracer_start_seconds``: tracer start-up cost (start -> RC client running);
- ``tracer_provider_ready_seconds``: provider start (set right after tracer start) ->
  PROVIDER_READY handled;
- ``tracer_first_evaluation_seconds``: provider start -> first flag evaluation that resolved
  from the configuration;
- ``tracer_boot_total_seconds``: tracer start -> that evaluation (tracer start included).

``tracer_rc_requests_total{lane, outcome}`` outcomes: ``update`` (a new targets version
applied), ``no_change`` (``{}``), ``inactive`` (404), ``error`` (another status),
``rejected`` (a 200 the client refused), ``rate_limited`` (429), ``timeout``,
``transport_error``.

Why per-tracer series are rendered here rather than by prometheus-client: with a thousand
tracers they are ~8,000 samples, which ``generate_latest`` formats in ~125 ms, blocking the
event loop that times the polls at every scrape. Each sample's line is rendered once when its
value changes, and a scrape joins the lines (~1 ms); the few lane-labelled metrics stay in a
prometheus-client registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from tracer_stub.client.policy import Lane

__all__ = ["OUTCOMES", "StubMetrics"]

OUTCOMES = ("pending", "ready", "timeout", "error")

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10)
LATENESS_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5)
READY_BUCKETS = (
    0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 12.5, 15, 17.5, 20, 22.5, 25, 27.5, 30, 32.5, 35, 40,
    50, 60, 90, 120,
)  # fmt: skip

#: (name, type, help) of every per-tracer family, in exposition order.
TRACER_FAMILIES = (
    ("tracer_outcome", "gauge", "1 for the tracer's current outcome, 0 for the others"),
    ("tracer_start_seconds", "gauge", "tracer start-up cost"),
    ("tracer_provider_ready_seconds", "gauge", "provider start -> PROVIDER_READY"),
    ("tracer_first_evaluation_seconds", "gauge", "provider start -> first evaluation"),
    ("tracer_boot_total_seconds", "gauge", "tracer start -> first evaluation"),
    ("tracer_start_wall_seconds", "gauge", "unix time the tracer started"),
    ("tracer_provider_error_events_total", "counter", "PROVIDER_ERROR events"),
)


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(float(value))


@dataclass
class _Family:
    name: str
    kind: str
    help: str
    lines: dict[tuple[str, str], str] = field(default_factory=dict)
    values: dict[tuple[str, str], float] = field(default_factory=dict)

    def set(self, tracer: str, value: float, outcome: str = "") -> None:
        key = (tracer, outcome)
        self.values[key] = value
        labels = f'tracer="{tracer}",outcome="{outcome}"' if outcome else f'tracer="{tracer}"'
        self.lines[key] = f"{self.name}{{{labels}}} {_fmt(value)}\n"

    def render(self) -> str:
        head = f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.kind}\n"
        return head + "".join(self.lines.values())


class StubMetrics:
    """Every metric of one stub process."""

    def __init__(self, run_id: str = "", registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
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
        # tracer_process_cpu_seconds_total & co: the harness's self-checks (CPU per component)
        ProcessCollector(namespace="tracer", registry=r)
        self._duration = {lane: self.rc_duration.labels(str(lane)) for lane in Lane}
        self._lateness = {lane: self.rc_lateness.labels(str(lane)) for lane in Lane}
        self._families = {name: _Family(name, kind, text) for name, kind, text in TRACER_FAMILIES}
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
        self._families["tracer_provider_error_events_total"].set(tracer, 0.0)
        self.set_outcome(tracer, "pending")

    def set_outcome(self, tracer: str, outcome: str) -> None:
        previous = self._outcomes.get(tracer)
        if previous == outcome:
            return
        self._outcomes[tracer] = outcome
        family = self._families["tracer_outcome"]
        for name in OUTCOMES:
            family.set(tracer, 1.0 if name == outcome else 0.0, name)
        self._settled += (outcome != "pending") - (previous not in (None, "pending"))
        self.settled.set(self._settled)

    def set_start(self, tracer: str, start_wall: float) -> None:
        self._families["tracer_start_wall_seconds"].set(tracer, start_wall)

    def set_tracer_started(self, tracer: str, seconds: float) -> None:
        self._families["tracer_start_seconds"].set(tracer, seconds)

    def set_provider_ready(self, tracer: str, seconds: float) -> None:
        self._families["tracer_provider_ready_seconds"].set(tracer, seconds)
        self.ready_duration.observe(seconds)

    def set_first_evaluation(self, tracer: str, seconds: float, boot_total: float) -> None:
        self._families["tracer_first_evaluation_seconds"].set(tracer, seconds)
        self._families["tracer_boot_total_seconds"].set(tracer, boot_total)

    def inc_provider_errors(self, tracer: str) -> None:
        family = self._families["tracer_provider_error_events_total"]
        family.set(tracer, family.values.get((tracer, ""), 0.0) + 1)

    # -- reading ----------------------------------------------------------------------------

    def value(self, name: str, tracer: str, outcome: str = "") -> float | None:
        """A per-tracer sample's value (None when absent)."""
        return self._families[name].values.get((tracer, outcome))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric of the process."""
        per_tracer = "".join(f.render() for f in self._families.values())
        return generate_latest(self.registry) + per_tracer.encode()
