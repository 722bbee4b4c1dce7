"""Prometheus metrics of the agent model (one registry per app; names in docs/contracts.md).

Labels stay low-cardinality: ``lane`` (``fast`` | ``standard``), ``outcome``, ``result``,
``reason``. Both policies label by lane; only ``fastlane`` treats the lanes differently.

- ``agent_rc_requests_total{lane, outcome}``: ``update``, ``no_update`` (``{}``),
  ``config_expired``, ``error_decode`` (400), ``error_invalid`` (500 from ClientGetConfigs),
  ``error_too_large`` (413), ``error_unavailable`` (500 while ``rc_unavailable_s`` runs),
  ``error_internal`` (500, a bug). A body that cannot be decoded is
  labelled with the lane of its products when they can be read, else ``standard``.
- ``agent_rc_bypass_total{lane, result}``: ``refreshed`` (the limiter allowed it and the poll loop
  ran a refresh, whatever the refresh's result), ``rate_limited`` (answered at once from the
  cache), ``timed_out`` (the request's block budget ran out; it is served from the cache).
  Not exclusive, as in the real agent: a bypass handed off in time whose refresh outlives the
  budget counts ``timed_out`` (``IncTimeout``) for the request and ``refreshed`` for the loop.
- ``agent_rc_refreshes_total{reason, result}``: ``startup`` (the immediate refresh of
  ``startWithAgentPollLoop``), ``periodic``, ``bypass``, ``bypass_fast_lane``; ``ok``/``error``.

The harness's self-checks (``validity`` in summary.json) read two more families that measure the
model's process, not the modelled agent: ``agent_rc_event_loop_lag_seconds`` (how late a timer
of the event loop fires: every request waits that long before anything of the model runs) and
``agent_rc_process_cpu_seconds_total`` (with the other ``agent_rc_process_*`` series of
prometheus_client's ``ProcessCollector``).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

LANES = ("fast", "standard")
OUTCOMES = ("update", "no_update", "config_expired", "error_invalid", "error_decode",
            "error_too_large", "error_unavailable", "error_internal")  # fmt: skip
BYPASS_RESULTS = ("refreshed", "rate_limited", "timed_out")
REFRESH_REASONS = ("startup", "periodic", "bypass", "bypass_fast_lane")
REFRESH_RESULTS = ("ok", "error")

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.0, 2.5, 3.0, 5.0, 10.0)  # fmt: skip


class LaneHistogram:
    """A histogram with one ``lane`` label, for the per-request series (a collector).

    prometheus_client's ``Histogram.observe`` takes a lock and scans the buckets: two of them per
    request were a tenth of the cost of an up-to-date poll. The agent observes from its one
    event loop, so a child here is a list of counts and a sum, found by bisection; the
    exposition is the same (``_bucket{le}`` cumulative, ``_sum``, ``_count``).
    """

    def __init__(
        self, name: str, doc: str, buckets: Sequence[float], registry: CollectorRegistry
    ) -> None:
        self.name = name
        self.doc = doc
        self.bounds = (*buckets, math.inf)
        self.children = {lane: _Counts(self.bounds) for lane in LANES}
        registry.register(self)

    def labels(self, *, lane: str) -> _Counts:
        """The child of ``lane``."""
        return self.children[lane]

    def describe(self) -> list[HistogramMetricFamily]:
        return [HistogramMetricFamily(self.name, self.doc, labels=["lane"])]

    def collect(self) -> list[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.doc, labels=["lane"])
        for lane, child in self.children.items():
            le = [floatToGoString(b) for b in self.bounds]  # type: ignore[no-untyped-call]
            buckets = list(zip(le, itertools.accumulate(child.counts), strict=True))
            family.add_metric([lane], buckets, child.sum)
        return [family]


class _Counts:
    """One lane of a :class:`LaneHistogram`: a count per bucket (not cumulative) and a sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count ``value`` in the first bucket whose bound is >= it (Prometheus ``le``)."""
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value


class AgentMetrics:
    """The agent's collectors, registered in their own :class:`CollectorRegistry`."""

    def __init__(self, run_id: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "agent_rc_requests_total", "/v0.7/config requests by lane and outcome",
            ["lane", "outcome"], registry=r,
        )  # fmt: skip
        self.request_duration = LaneHistogram(
            "agent_rc_request_duration_seconds", "time spent serving one /v0.7/config request",
            _LATENCY_BUCKETS, r,
        )  # fmt: skip
        self.lock_wait = LaneHistogram(
            "agent_rc_lock_wait_seconds", "time a request waited for the service lock",
            _LATENCY_BUCKETS, r,
        )  # fmt: skip
        self.bypass = Counter(
            "agent_rc_bypass_total", "cache bypasses of new clients by lane and result",
            ["lane", "result"], registry=r,
        )  # fmt: skip
        self.refreshes = Counter(
            "agent_rc_refreshes_total", "refreshes from the backend by reason and result",
            ["reason", "result"], registry=r,
        )  # fmt: skip
        self.active_clients = Gauge(
            "agent_rc_active_clients", "clients seen within the TTL (at the last collection)",
            registry=r,
        )  # fmt: skip
        self.targets_version = Gauge(
            "agent_rc_targets_version", "director targets version held by the agent", registry=r
        )
        self.backend_duration = Histogram(
            "agent_rc_backend_request_duration_seconds", "duration of one backend call",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.run_info = Gauge("agent_rc_run_info", "run id of this agent", ["run_id"], registry=r)
        self.run_info.labels(run_id=run_id).set(1)
        self.loop_lag = Histogram(
            "agent_rc_event_loop_lag_seconds",
            "how late a periodic timer of the agent's event loop fired (the model's own delay)",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        ProcessCollector(namespace="agent_rc", registry=r)
        # Children bound once: a labels() lookup per request is a measurable share of its cost.
        self.request_duration_of = {lane: self.request_duration.labels(lane=lane) for lane in LANES}
        self.lock_wait_of = {lane: self.lock_wait.labels(lane=lane) for lane in LANES}
        self.requests_of = {
            (lane, outcome): self.requests.labels(lane=lane, outcome=outcome)
            for lane in LANES
            for outcome in OUTCOMES
        }
        for lane in LANES:
            for result in BYPASS_RESULTS:
                self.bypass.labels(lane=lane, result=result)
        for reason in REFRESH_REASONS:
            for result in REFRESH_RESULTS:
                self.refreshes.labels(reason=reason, result=result)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """Current value of a sample (tests and benchmarks); 0 when absent."""
        got = self.registry.get_sample_value(name, labels)
        return 0.0 if got is None else got
