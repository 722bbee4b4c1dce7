"""The SDK seam: the inline SDK (virtual time, no thread) gives the tracer the same events, at the
same instants, as the real openfeature-sdk does in test_tracer.py's scenarios."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from rc_protocol.clock import ManualClock
from tests.tracer_stub.test_tracer import FakeAgent
from tracer_stub.client.driver import LanePermits
from tracer_stub.client.policy import MultiTargetFetcher
from tracer_stub.metrics import StubMetrics
from tracer_stub.sdk import InlineSdk
from tracer_stub.settings import Settings
from tracer_stub.tracer import Outcome, SimulatedTracer


@pytest.fixture
async def made() -> AsyncIterator[list[SimulatedTracer]]:
    tracers: list[SimulatedTracer] = []
    yield tracers
    for t in tracers:
        await t.aclose()


def inline_tracer(
    made: list[SimulatedTracer], clock: ManualClock, agent: FakeAgent, **settings: object
) -> SimulatedTracer:
    s = Settings(**settings)  # type: ignore[arg-type]
    tracer = SimulatedTracer(
        0,
        s,
        clock=clock,
        transport_factory=agent.factory,
        permits=LanePermits(MultiTargetFetcher.from_settings(s.policy_settings())),
        metrics=StubMetrics(),
        rng=random.Random(0),
        sdk=InlineSdk(),
    )
    made.append(tracer)
    return tracer


async def test_event_mode_ready_and_evaluated_at_the_delivering_poll(
    made: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    tracer = inline_tracer(made, clock, FakeAgent(clock, serve_from=12.0))
    await tracer.start()
    await clock.advance(14)
    assert tracer.outcome is Outcome.PENDING and tracer.evaluations == []
    await clock.advance(1)
    assert tracer.outcome is Outcome.READY
    assert tracer.times.ready == 15.0 and tracer.times.first_evaluation == 15.0
    assert tracer.evaluations[-1].value is True and tracer.provider_error_events == 0


async def test_config_before_the_provider_makes_it_ready_when_created(
    made: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    agent = FakeAgent(clock)
    tracer = inline_tracer(made, clock, agent, tracer_start_cost_ms=500)
    start = asyncio.ensure_future(tracer.start())
    await clock.advance(0.5)  # the first poll (t=0) delivered during the 0.5 s start cost
    await start
    assert tracer.times.ready == 0.5 and tracer.outcome is Outcome.READY


async def test_wait_mode_timeout_error_then_late_ready(made: list[SimulatedTracer]) -> None:
    clock = ManualClock()
    tracer = inline_tracer(made, clock, FakeAgent(clock, serve_from=31.0), provider_mode="wait")
    await tracer.start()
    await clock.advance(30)
    assert tracer.outcome is Outcome.TIMEOUT and tracer.provider_error_events == 1
    assert tracer.wait_failed and tracer.evaluations[0].value is False
    await clock.advance(5)
    assert tracer.outcome is Outcome.READY and tracer.times.ready == 35.0
    assert tracer.evaluations[-1].value is True


async def test_wait_mode_returns_ready_when_the_config_comes_in_time(
    made: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    tracer = inline_tracer(made, clock, FakeAgent(clock, serve_from=4.0), provider_mode="wait")
    await tracer.start()
    await clock.advance(5)
    assert tracer.times.ready == 5.0 and not tracer.wait_failed
    assert tracer.evaluations[0].value is True and tracer.provider_error_events == 0


async def test_invalid_config_is_an_error_and_never_ready(made: list[SimulatedTracer]) -> None:
    clock = ManualClock()
    tracer = inline_tracer(made, clock, FakeAgent(clock, raw=b'{"flags": {}}'))
    await tracer.start()
    await clock.advance(0.1)
    assert tracer.outcome is Outcome.ERROR and tracer.times.ready is None


async def test_closing_before_any_config_delivers_nothing(made: list[SimulatedTracer]) -> None:
    clock = ManualClock()
    tracer = inline_tracer(made, clock, FakeAgent(clock, serve_from=100.0))
    await tracer.start()
    await tracer.aclose()
    await clock.advance(200)
    assert tracer.outcome is Outcome.PENDING and tracer.evaluations == []
