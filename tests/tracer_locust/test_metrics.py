"""LocustMetrics: the stub's metrics, also fired as Locust requests of type RC."""

from __future__ import annotations

from typing import Any

from tracer_locust.metrics import REQUEST_TYPE, LocustMetrics, ProviderFailure


class Events:
    def __init__(self) -> None:
        self.fired: list[dict[str, Any]] = []

    def fire(self, **kwargs: Any) -> None:
        self.fired.append(kwargs)


def test_boot_times_are_rc_requests_and_stay_in_the_exposition() -> None:
    events = Events()
    metrics = LocustMetrics(events)
    metrics.add_tracer("7")
    metrics.set_provider_ready("7", 0.25)
    metrics.set_first_evaluation("7", 0.26, 0.3)
    names = [(f["request_type"], f["name"], round(f["response_time"])) for f in events.fired]
    assert names == [
        (REQUEST_TYPE, "provider_ready", 250),
        (REQUEST_TYPE, "first_evaluation", 260),
        (REQUEST_TYPE, "boot_total", 300),
    ]
    assert b'tracer_provider_ready_seconds{tracer="7"} 0.25' in metrics.render()


def test_a_timeout_and_a_provider_error_are_failures_once() -> None:
    events = Events()
    metrics = LocustMetrics(events)
    metrics.add_tracer("1")
    metrics.set_outcome("1", "timeout")
    metrics.set_outcome("1", "timeout")
    metrics.inc_provider_errors("1")
    failures = [(f["name"], str(f["exception"])) for f in events.fired]
    assert failures == [
        ("provider_ready", "init timeout"),
        ("provider_error", "PROVIDER_ERROR event"),
    ]
    assert all(isinstance(f["exception"], ProviderFailure) for f in events.fired)
