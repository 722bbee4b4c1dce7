"""The tracer's activities on greenlets: drive, GeventTasks, GeventPermits, GeventClock, and a
whole SimulatedTracer (the stub's own code) booting under them."""

from __future__ import annotations

import asyncio
import random

import gevent
import pytest
from openfeature import api

from rc_protocol.wire import decode_request
from tests.tracer_stub.test_tracer import GOOD_UFC, ffe_response
from tracer_locust.gevent_tasks import (
    AsyncioUnderGevent,
    GeventClock,
    GeventPermits,
    GeventTasks,
    drive,
)
from tracer_stub.client.driver import LanePermits
from tracer_stub.client.policy import Lane, MultiTargetFetcher, PermitPool
from tracer_stub.client.transport import FakeTransport, HttpResponse, RecordedRequest
from tracer_stub.metrics import StubMetrics
from tracer_stub.settings import Settings
from tracer_stub.tracer import Outcome, SimulatedTracer


def test_drive_runs_a_blocking_coroutine_to_its_result() -> None:
    async def add(a: int, b: int) -> int:
        await GeventClock().sleep(0.001)
        return a + b

    assert drive(add(2, 3)) == 5


def test_drive_refuses_a_coroutine_that_needs_an_asyncio_loop() -> None:
    async def needs_a_loop() -> None:
        await asyncio.sleep(0)

    with pytest.raises(AsyncioUnderGevent, match="needs an asyncio event loop"):
        drive(needs_a_loop())


def test_cancel_kills_the_greenlet_and_runs_its_finally_blocks() -> None:
    tasks = GeventTasks()
    events: list[str] = []

    async def activity() -> None:
        try:
            await GeventClock().sleep(30)
            events.append("woke")
        finally:
            events.append("cleaned up")

    handle = tasks.spawn(activity(), "activity")
    gevent.sleep(0.01)
    drive(tasks.cancel([handle]))
    assert events == ["cleaned up"]


def test_wait_for_raises_timeout_error_and_lets_a_fast_one_through() -> None:
    tasks, clock = GeventTasks(), GeventClock()

    async def slow() -> str:
        await clock.sleep(5)
        return "late"

    async def fast() -> str:
        return "now"

    with pytest.raises(TimeoutError):
        drive(tasks.wait_for(clock, slow(), 0.05))
    assert drive(tasks.wait_for(clock, fast(), 0.05)) == "now"


def test_permits_are_granted_in_fifo_order() -> None:
    permits = GeventPermits(PermitPool(1))
    order: list[str] = []

    def holder(name: str) -> None:
        drive(permits.acquire(name))
        order.append(name)
        gevent.sleep(0.01)
        permits.release(name)

    greenlets = [gevent.spawn(holder, n) for n in ("a", "b", "c")]
    gevent.joinall(greenlets, timeout=5)
    assert order == ["a", "b", "c"]


def test_a_waiter_killed_in_the_queue_leaves_it() -> None:
    pool = PermitPool(1)
    permits = GeventPermits(pool)
    drive(permits.acquire("first"))
    waiter = gevent.spawn(lambda: drive(permits.acquire("second")))
    gevent.sleep(0.01)
    assert pool.pending == 1
    waiter.kill()
    assert pool.pending == 0 and pool.holds("first")


def test_call_soon_threadsafe_runs_the_callback_in_the_hub() -> None:
    seen: list[int] = []
    GeventTasks().call_soon_threadsafe(seen.append, 7)
    gevent.sleep(0.01)
    assert seen == [7]


def test_the_stubs_tracer_boots_on_greenlets_and_turns_ready() -> None:
    """The stub's own SimulatedTracer, RC client and provider, unchanged, under GeventTasks."""
    requests: list[list[str]] = []

    def handler(req: RecordedRequest) -> HttpResponse:
        client = decode_request(req.body).client
        assert client is not None
        requests.append(list(client.products))
        return (
            ffe_response(GOOD_UFC)
            if "FFE_FLAGS" in client.products
            else HttpResponse(200, {}, b"{}")
        )

    settings = Settings(client_policy="fastlane")  # type: ignore[arg-type]
    metrics = StubMetrics()
    tracer = SimulatedTracer(
        3,
        settings,
        clock=GeventClock(),
        transport_factory=lambda lane: FakeTransport(handler=handler),
        permits=LanePermits(
            MultiTargetFetcher.from_settings(settings.policy_settings()), GeventPermits
        ),
        metrics=metrics,
        rng=random.Random(1),
        tasks=GeventTasks(),
    )
    try:
        drive(tracer.start())
        with gevent.Timeout(5):
            while tracer.times.first_evaluation is None:
                gevent.sleep(0.01)
        assert tracer.outcome is Outcome.READY
        assert metrics.value("tracer_provider_ready_seconds", "3") is not None
        assert ["FFE_FLAGS"] in requests  # the fast lane's own request
    finally:
        drive(tracer.aclose())
        api.clear_providers()
    assert all(not f.holding_permit for f in tracer.rc.fetchers.values())
    assert Lane.FAST in tracer.rc.fetchers
