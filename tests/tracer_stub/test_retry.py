"""The dd-trace-js request retry (tracer_stub.client.retry) and the driver applying it."""

from __future__ import annotations

import random

from rc_protocol.clock import ManualClock
from tests.tracer_stub.test_driver import Agent, Observer, make_client
from tracer_stub.client.policy import Lane
from tracer_stub.client.retry import RetryPlan
from tracer_stub.client.transport import HttpResponse, RecordedRequest


def delays(plan: RetryPlan, reached: bool, since: float = 1.0) -> list[float | None]:
    rng = random.Random(7)
    return [plan.delay_s(n, reached=reached, since_start_s=since, rng=rng) for n in (1, 2, 3, 4, 5)]


def test_after_the_agent_answered_one_retry_after_5_to_7_5_s() -> None:
    first, *rest = delays(RetryPlan("dd-trace-js"), reached=True)
    assert first is not None and 5.0 <= first <= 7.5
    assert rest == [None, None, None, None]


def test_before_any_answer_exponential_backoff_up_to_5_attempts() -> None:
    got = delays(RetryPlan("dd-trace-js"), reached=False)
    assert got[4] is None
    for n, (low, value) in enumerate(zip((1.0, 2.0, 4.0, 8.0), got[:4], strict=True), 1):
        assert value is not None and low <= value <= low + 0.5, (n, value)


def test_the_startup_phase_ends_after_30_s() -> None:
    assert delays(RetryPlan("dd-trace-js"), reached=False, since=31.0)[1] is None


def test_libdatadog_and_go_never_retry_a_request() -> None:
    assert delays(RetryPlan("none"), reached=True) == [None] * 5


async def test_a_timed_out_poll_is_resent_by_the_http_layer_then_polls_go_on() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    observer = Observer()
    client = make_client(
        clock,
        agent,
        observer,
        request_timeout_s=2.0,
        request_retry="dd-trace-js",
        agent_reached_at_start=True,
    )
    calls = 0

    async def first_hangs(req: RecordedRequest) -> HttpResponse:
        nonlocal calls
        calls += 1
        agent.sent.setdefault(Lane.STANDARD, []).append((clock.monotonic(), req))
        if calls == 1:
            await clock.sleep(3600)
        return HttpResponse(200, {}, b"{}")

    client.start(["FFE_FLAGS"])
    agent.transports[Lane.STANDARD].handler = first_hangs
    await clock.advance(20)
    times = agent.times(Lane.STANDARD)
    assert times[0] == 0.0
    assert 7.0 <= times[1] <= 9.5  # 2 s timeout + 5..7.5 s, inside the same poll
    assert times[2] == times[1] + 5.0  # fixed delay after the poll completed
    assert [c[1] for c in observer.calls[:2]] == ["timeout", "no_change"]
    await client.aclose()
