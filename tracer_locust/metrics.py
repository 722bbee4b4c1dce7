"""The stub's metrics, also reported to Locust: each tracer's boot times are Locust requests.

`LocustMetrics` is the worker's `tracer_stub.metrics.StubMetrics` (the same ``/metrics``
exposition, scraped by the harness and by Prometheus) that also fires
``environment.events.request`` with request type ``RC`` when a tracer records a boot time, so
that Locust's statistics, CSV files and web UI show them live:

==================== ========================================================================
name                 response time
==================== ========================================================================
``provider_ready``   provider start -> PROVIDER_READY (a failure: ``init timeout`` when the
                     provider's init timed out, ``invalid config`` on a bad FFE_FLAGS payload)
``first_evaluation`` provider start -> first flag evaluation from the configuration
``boot_total``       tracer start -> first evaluation
``provider_error``   a PROVIDER_ERROR event (always a failure, response time 0)
==================== ========================================================================

Locust's percentiles round to about two significant figures; the harness's own report uses the
exact per-tracer values from ``/metrics``.
"""

from __future__ import annotations

from typing import Any

from tracer_stub.metrics import StubMetrics

__all__ = ["REQUEST_TYPE", "LocustMetrics", "ProviderFailure"]

REQUEST_TYPE = "RC"


class ProviderFailure(Exception):
    """Why a tracer's provider did not become ready (shown in Locust's failures)."""


class LocustMetrics(StubMetrics):
    """`StubMetrics` that fires a Locust request event for every boot time it records."""

    def __init__(self, request_event: Any, run_id: str = "") -> None:
        super().__init__(run_id)
        self.request_event = request_event

    def _fire(self, name: str, seconds: float, exception: Exception | None = None) -> None:
        self.request_event.fire(
            request_type=REQUEST_TYPE,
            name=name,
            response_time=seconds * 1000.0,
            response_length=0,
            exception=exception,
            context={},
        )

    def set_provider_ready(self, tracer: str, seconds: float) -> None:
        super().set_provider_ready(tracer, seconds)
        self._fire("provider_ready", seconds)

    def set_first_evaluation(self, tracer: str, seconds: float, boot_total: float) -> None:
        super().set_first_evaluation(tracer, seconds, boot_total)
        self._fire("first_evaluation", seconds)
        self._fire("boot_total", boot_total)

    def set_outcome(self, tracer: str, outcome: str) -> None:
        previous = self._outcomes.get(tracer)
        super().set_outcome(tracer, outcome)
        if outcome == previous:
            return
        if outcome == "timeout":
            self._fire("provider_ready", 0.0, ProviderFailure("init timeout"))
        elif outcome == "error":
            self._fire("provider_ready", 0.0, ProviderFailure("invalid config"))

    def inc_provider_errors(self, tracer: str) -> None:
        super().inc_provider_errors(tracer)
        self._fire("provider_error", 0.0, ProviderFailure("PROVIDER_ERROR event"))
