"""A simulated tracer end to end in-process: fake agent, manual clock, real openfeature-sdk."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import pytest
from openfeature import api

from rc_protocol.clock import ManualClock
from rc_protocol.targets import build_signed_targets, file_meta
from rc_protocol.ufc_build import FlagSpec, ufc_bytes
from rc_protocol.wait import apoll_until
from rc_protocol.wire import ClientGetConfigsResponse, TargetFile, decode_request
from tracer_stub.client.driver import LanePermits
from tracer_stub.client.policy import Lane, MultiTargetFetcher
from tracer_stub.client.transport import FakeTransport, HttpResponse, RecordedRequest
from tracer_stub.metrics import StubMetrics
from tracer_stub.settings import Settings
from tracer_stub.tracer import Outcome, SimulatedTracer

FFE = "datadog/2/FFE_FLAGS/flags-1/config"
FLAG = "rc-fastlane-flag"
GOOD_UFC = ufc_bytes([FlagSpec.boolean(FLAG, True)], environment="prod")


def ffe_response(raw: bytes = GOOD_UFC) -> HttpResponse:
    targets = build_signed_targets({FFE: file_meta(raw, 1)}, version=5, opaque_backend_state=b"s")
    body = ClientGetConfigsResponse(
        targets=targets, target_files=[TargetFile(path=FFE, raw=raw)], client_configs=[FFE]
    ).to_json_bytes()
    return HttpResponse(200, {}, body)


class FakeAgent:
    """Serves FFE_FLAGS to requests asking for it once `serve_from` (clock time) is reached."""

    def __init__(self, clock: ManualClock, serve_from: float = 0.0, raw: bytes = GOOD_UFC):
        self.clock = clock
        self.serve_from = serve_from
        self.raw = raw
        self.requests: list[tuple[float, Lane, list[str]]] = []

    def factory(self, lane: Lane) -> FakeTransport:
        def handler(req: RecordedRequest) -> HttpResponse:
            client = decode_request(req.body).client
            assert client is not None
            self.requests.append((self.clock.monotonic(), lane, list(client.products)))
            if "FFE_FLAGS" in client.products and self.clock.monotonic() >= self.serve_from:
                return ffe_response(self.raw)
            return HttpResponse(200, {}, b"{}")

        return FakeTransport(handler=handler)


@pytest.fixture
async def tracers() -> AsyncIterator[list[SimulatedTracer]]:
    made: list[SimulatedTracer] = []
    yield made
    for t in made:
        await t.aclose()
    api.clear_providers()


def build(
    made: list[SimulatedTracer],
    clock: ManualClock,
    agent: FakeAgent,
    metrics: StubMetrics | None = None,
    index: int = 0,
    **settings: object,
) -> SimulatedTracer:
    s = Settings(**settings)  # type: ignore[arg-type]
    tracer = SimulatedTracer(
        index,
        s,
        clock=clock,
        transport_factory=agent.factory,
        permits=LanePermits(MultiTargetFetcher.from_settings(s.policy_settings())),
        metrics=metrics or StubMetrics("run-1"),
        rng=random.Random(0),
    )
    made.append(tracer)
    return tracer


def outcome_of(tracer: SimulatedTracer) -> Outcome:
    return tracer.outcome


async def until(check: Callable[[], object], what: str) -> None:
    await apoll_until(lambda: check() or None, timeout=10.0, interval=0.005, what=what)


async def test_event_mode_ready_on_first_poll_and_flag_evaluated(
    tracers: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    metrics = StubMetrics("run-1")
    tracer = build(tracers, clock, FakeAgent(clock), metrics, index=7)
    await tracer.start()
    await clock.advance(0)
    await until(lambda: tracer.times.first_evaluation is not None, "first evaluation")
    assert outcome_of(tracer) is Outcome.READY
    assert tracer.times.ready == 0.0
    assert tracer.evaluations[-1].value is True
    assert tracer.provider_error_events == 0
    assert metrics.value("tracer_outcome", "7", "ready") == 1
    assert metrics.value("tracer_provider_ready_seconds", "7") == 0.0
    assert metrics.registry.get_sample_value("tracer_settled") == 1


async def test_event_mode_ready_time_is_the_poll_that_delivered(
    tracers: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    tracer = build(tracers, clock, FakeAgent(clock, serve_from=12.0))
    await tracer.start()
    await clock.advance(15)
    await until(lambda: tracer.times.first_evaluation is not None, "first evaluation")
    assert tracer.times.ready == 15.0  # polls at 0, 5, 10, 15: the first at or after 12
    assert tracer.provider_error_events == 0


async def test_wait_mode_timeout_cliff_then_ready_later(
    tracers: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    metrics = StubMetrics()
    tracer = build(tracers, clock, FakeAgent(clock, serve_from=31.0), metrics, provider_mode="wait")
    await tracer.start()
    await clock.advance(30)
    await until(lambda: tracer.provider_error_events == 1, "PROVIDER_ERROR")
    assert outcome_of(tracer) is Outcome.TIMEOUT
    await until(lambda: tracer.evaluations, "evaluation after the failed wait")
    assert tracer.wait_failed
    assert tracer.evaluations[0].value is False  # the default: no config yet
    assert tracer.times.first_evaluation is None
    await clock.advance(5)  # poll at 35 delivers
    await until(lambda: tracer.times.first_evaluation is not None, "first evaluation")
    assert outcome_of(tracer) is Outcome.READY
    assert tracer.times.ready == 35.0
    assert tracer.evaluations[-1].value is True
    assert metrics.value("tracer_boot_total_seconds", "0") == 35.0
    assert metrics.value("tracer_provider_error_events_total", "0") == 1


async def test_wait_mode_returns_when_the_config_arrives_in_time(
    tracers: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    tracer = build(tracers, clock, FakeAgent(clock, serve_from=4.0), provider_mode="wait")
    await tracer.start()
    await clock.advance(5)
    await until(lambda: tracer.times.first_evaluation is not None, "first evaluation")
    await until(lambda: tracer.times.ready is not None, "READY handled")
    assert tracer.times.ready == 5.0 and tracer.provider_error_events == 0
    assert not tracer.wait_failed
    assert tracer.evaluations[0].value is True


async def test_event_mode_init_timeout_counts_one_error_then_turns_ready(
    tracers: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    tracer = build(tracers, clock, FakeAgent(clock, serve_from=31.0), provider_init_timeout_s=30.0)
    await tracer.start()
    await clock.advance(30)
    await until(lambda: tracer.provider_error_events == 1, "PROVIDER_ERROR")
    assert outcome_of(tracer) is Outcome.TIMEOUT
    await clock.advance(5)
    await until(lambda: tracer.times.first_evaluation is not None, "late READY")
    assert outcome_of(tracer) is Outcome.READY and tracer.times.ready == 35.0


async def test_provider_subscription_sends_ffe_flags_only_after_provider_creation(
    tracers: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    agent = FakeAgent(clock)
    tracer = build(tracers, clock, agent, ffe_subscription="provider", tracer_start_cost_ms=500)
    start = asyncio.ensure_future(tracer.start())
    await clock.advance(5)
    await start
    await until(lambda: tracer.times.first_evaluation is not None, "first evaluation")
    first, second = agent.requests[0], agent.requests[1]
    assert first[0] == 0.0 and "FFE_FLAGS" not in first[2]
    assert second[0] == 5.0 and "FFE_FLAGS" in second[2]
    assert tracer.times.ready == 5.0


async def test_fastlane_delivers_on_the_fast_lane(tracers: list[SimulatedTracer]) -> None:
    clock = ManualClock()
    agent = FakeAgent(clock, serve_from=2.5)
    tracer = build(tracers, clock, agent, client_policy="fastlane")
    await tracer.start()
    await clock.advance(3)
    await until(lambda: tracer.times.first_evaluation is not None, "first evaluation")
    assert tracer.times.ready == 3.0
    assert {lane for _, lane, _ in agent.requests} == {Lane.FAST, Lane.STANDARD}


async def test_invalid_ufc_is_an_error_outcome_and_reported_as_apply_error(
    tracers: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    agent = FakeAgent(clock, raw=b'{"flags": {}}')
    tracer = build(tracers, clock, agent)
    await tracer.start()
    await clock.advance(0.1)
    assert outcome_of(tracer) is Outcome.ERROR
    fetcher = tracer.rc.fetchers[Lane.STANDARD]
    state = fetcher.core.build_request().client.state  # type: ignore[union-attr]
    assert state is not None and state.config_states[0].apply_state == 3


async def test_a_tracer_whose_requests_never_reach_the_agent_is_served_once_they_do(
    tracers: list[SimulatedTracer],
) -> None:
    """The 1,000-tracer `instant` run's stuck tracers (issue 16): their requests sat in the
    agent's full accept queue and were never read, so every one timed out. The client's state
    stays clean through it (targets version 0, no file, nothing to answer `{}` to) and the first
    request that reaches the agent makes the tracer ready: nothing in the stub sticks."""
    clock = ManualClock()
    reached_from = 25.0
    agent = FakeAgent(clock)

    def factory(lane: Lane) -> FakeTransport:
        answer = agent.factory(lane)

        def handler(req: RecordedRequest) -> object:
            if clock.monotonic() < reached_from:
                return asyncio.get_running_loop().create_future()  # never read, never answered
            assert answer.handler is not None
            return answer.handler(req)

        return FakeTransport(handler=handler)  # type: ignore[arg-type]

    tracer = SimulatedTracer(
        0,
        s := Settings(
            client_policy="fastlane",  # the `instant` scenario's client
            fast_lane_interval_ms=500,
            request_timeout_s=10,
            provider_init_timeout_s=60,  # still initialising when the config comes
        ),
        clock=clock,
        transport_factory=factory,
        permits=LanePermits(MultiTargetFetcher.from_settings(s.policy_settings())),
        metrics=StubMetrics("run-1"),
        rng=random.Random(0),
    )
    tracers.append(tracer)
    await tracer.start()
    fast = tracer.rc.fetchers[Lane.FAST]
    await clock.advance(reached_from)
    assert outcome_of(tracer) is Outcome.PENDING and fast.fetches >= 2
    assert (fast.core.targets_version, fast.core.files) == (0, {})
    await clock.advance(20.0)
    await until(lambda: tracer.times.first_evaluation is not None, "first evaluation")
    sent_after = [t for t, lane, _ in agent.requests if lane is Lane.FAST]
    assert tracer.times.ready == sent_after[0] >= reached_from  # the first request it received
    assert fast.core.targets_version == 5 and list(fast.core.files) == [FFE]


async def test_provider_delay_subscribes_late_without_holding_up_start(
    tracers: list[SimulatedTracer],
) -> None:
    clock = ManualClock()
    agent = FakeAgent(clock)
    tracer = build(
        tracers,
        clock,
        agent,
        ffe_subscription="provider",
        first_poll="immediate",
        provider_delay_ms=6000,
    )
    await tracer.start()  # returns at once: the provider comes 6 s later, in its own task
    assert tracer.provider is None and clock.monotonic() == 0.0
    await clock.advance(5.9)
    assert [products for _, _, products in agent.requests] == [["APM_TRACING"], ["APM_TRACING"]]
    assert tracer.provider is None and tracer.outcome is Outcome.PENDING
    await clock.advance(4.1)  # provider created at 6 s; FFE_FLAGS in the 10 s poll
    await until(lambda: tracer.times.ready is not None, "ready")
    assert agent.requests[-1] == (10.0, Lane.STANDARD, ["APM_TRACING", "FFE_FLAGS"])
    assert tracer.times.ready == 10.0  # measured from tracer start, the delay included
