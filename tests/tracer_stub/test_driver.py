"""The asyncio driver: schedules on a manual clock, a fake transport, permits, timeouts."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable

import pytest

from rc_protocol.capabilities import Capability, decode_capabilities
from rc_protocol.clock import ManualClock
from rc_protocol.targets import build_signed_targets, file_meta
from rc_protocol.wire import ClientGetConfigsResponse, TargetFile, decode_request
from tracer_stub.client.core import ClientIdentity, ConfigChange
from tracer_stub.client.driver import LanePermits, RcClient
from tracer_stub.client.policy import (
    ClientPolicy,
    FirstPoll,
    Lane,
    MultiTargetFetcher,
    PolicySettings,
)
from tracer_stub.client.transport import FakeTransport, HttpResponse, RecordedRequest
from tracer_stub.errors import TransportError

FFE_CAP = int(Capability.FFE_FLAG_CONFIGURATION_RULES)


class Observer:
    def __init__(self) -> None:
        self.calls: list[tuple[Lane, str, float, float]] = []

    def on_request(self, lane: Lane, outcome: str, duration_s: float, lateness_s: float) -> None:
        self.calls.append((lane, outcome, duration_s, lateness_s))


class Agent:
    """Fake transports per lane that stamp each request with the manual clock's time."""

    def __init__(self, clock: ManualClock, respond: Callable[[Lane], HttpResponse] | None = None):
        self.clock = clock
        self.respond = respond
        self.sent: dict[Lane, list[tuple[float, RecordedRequest]]] = {}
        self.transports: dict[Lane, FakeTransport] = {}

    def transport(self, lane: Lane) -> FakeTransport:
        def handler(req: RecordedRequest) -> HttpResponse:
            self.sent.setdefault(lane, []).append((self.clock.monotonic(), req))
            return self.respond(lane) if self.respond else HttpResponse(200, {}, b"{}")

        t = FakeTransport(handler=handler)
        self.transports[lane] = t
        return t

    def times(self, lane: Lane) -> list[float]:
        return [t for t, _ in self.sent.get(lane, [])]


_ids = itertools.count()


def make_client(
    clock: ManualClock,
    agent: Agent,
    observer: Observer | None = None,
    permits: LanePermits | None = None,
    **policy: object,
) -> RcClient:
    settings = PolicySettings(**policy)  # type: ignore[arg-type]

    def identity(client_id: str) -> ClientIdentity:
        return ClientIdentity(client_id, "rt", "go", "v2.5.0", "svc", "prod", "1")

    def listener(change: ConfigChange) -> str | None:
        return None

    return RcClient(
        settings,
        runtime_id="rt",
        identity=identity,
        transport_factory=agent.transport,
        clock=clock,
        rng=random.Random(1),
        permits=permits or LanePermits(MultiTargetFetcher.from_settings(settings)),
        observer=observer or Observer(),
        listener=listener,
        client_id_factory=lambda: f"client-{next(_ids)}",
    )


async def test_legacy_polls_at_start_then_every_5s_after_completion() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    client = make_client(clock, agent)
    client.start(["APM_TRACING", "FFE_FLAGS"])
    await clock.advance(16)
    assert agent.times(Lane.STANDARD) == [0.0, 5.0, 10.0, 15.0]
    assert list(agent.sent) == [Lane.STANDARD]
    await client.aclose()
    assert agent.transports[Lane.STANDARD].closed


async def test_after_interval_first_poll() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    client = make_client(clock, agent, first_poll=FirstPoll.AFTER_INTERVAL)
    client.start(["FFE_FLAGS"])
    await clock.advance(11)
    assert agent.times(Lane.STANDARD) == [5.0, 10.0]
    await client.aclose()


async def test_slow_agent_delays_the_next_poll_by_its_latency() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    observer = Observer()
    client = make_client(clock, agent, observer)

    async def slow(req: RecordedRequest) -> HttpResponse:
        agent.sent.setdefault(Lane.STANDARD, []).append((clock.monotonic(), req))
        await clock.sleep(1.5)
        return HttpResponse(200, {}, b"{}")

    client.start(["FFE_FLAGS"])
    agent.transports[Lane.STANDARD].handler = slow
    await clock.advance(14)
    assert agent.times(Lane.STANDARD) == [0.0, 6.5, 13.0]
    assert [c[2] for c in observer.calls] == [1.5, 1.5]
    assert all(c[3] == 0.0 for c in observer.calls)  # sent exactly when intended
    await client.aclose()


async def test_request_timeout_is_enforced_on_the_clock() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    observer = Observer()
    client = make_client(clock, agent, observer)
    client.start(["FFE_FLAGS"])

    async def hang(req: RecordedRequest) -> HttpResponse:
        agent.sent.setdefault(Lane.STANDARD, []).append((clock.monotonic(), req))
        await clock.sleep(3600)
        raise AssertionError("unreachable")

    agent.transports[Lane.STANDARD].handler = hang
    await clock.advance(9)
    # legacy: 3 s timeout, then the fixed 5 s delay
    assert agent.times(Lane.STANDARD) == [0.0, 8.0]
    assert observer.calls[0][1] == "timeout" and observer.calls[0][2] == 3.0
    await client.aclose()


async def test_transport_errors_back_off_under_phase1() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    observer = Observer()
    client = make_client(clock, agent, observer, policy=ClientPolicy.PHASE1)
    client.start(["FFE_FLAGS"])
    agent.transports[Lane.STANDARD].queue(TransportError("refused"), TransportError("refused"))
    await clock.advance(60)
    times = agent.times(Lane.STANDARD)
    # Only handler calls are stamped: the two errors came first (at 0 and 10..12.5).
    assert times[0] >= 10.0 + 20.0  # third request after 10..12.5 + 20..25 of backoff
    assert [c[1] for c in observer.calls[:2]] == ["transport_error", "transport_error"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g == pytest.approx(5.0) for g in gaps)  # reset after the success
    await client.aclose()


async def test_429_retry_after_under_phase1() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    client = make_client(clock, agent, policy=ClientPolicy.PHASE1)
    client.start(["FFE_FLAGS"])
    agent.transports[Lane.STANDARD].queue(HttpResponse(429, {"retry-after": "20"}, b""))
    await clock.advance(26)
    assert agent.times(Lane.STANDARD) == [20.0, 25.0]
    await client.aclose()


async def test_fastlane_runs_two_fetchers_with_own_ids_products_and_capabilities() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    client = make_client(clock, agent, policy=ClientPolicy.FASTLANE)
    client.start(["APM_TRACING", "FFE_FLAGS"])
    await clock.advance(5.5)
    assert agent.times(Lane.FAST) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert agent.times(Lane.STANDARD) == [0.0, 5.0]
    fast = decode_request(agent.sent[Lane.FAST][0][1].body).client
    std = decode_request(agent.sent[Lane.STANDARD][0][1].body).client
    assert fast is not None and std is not None
    assert fast.products == ["FFE_FLAGS"] and std.products == ["APM_TRACING"]
    assert decode_capabilities(fast.capabilities) == {FFE_CAP}
    assert FFE_CAP not in decode_capabilities(std.capabilities)
    assert fast.id != std.id
    assert fast.client_tracer is not None and std.client_tracer is not None
    assert fast.client_tracer.runtime_id == std.client_tracer.runtime_id
    await client.aclose()


async def test_late_subscription_adds_ffe_flags_to_the_next_request() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    client = make_client(clock, agent)
    client.start(["APM_TRACING"])
    await clock.advance(1)
    client.subscribe("FFE_FLAGS")
    await clock.advance(5)
    first, second = (decode_request(r.body).client for _, r in agent.sent[Lane.STANDARD])
    assert first is not None and second is not None
    assert first.products == ["APM_TRACING"]
    assert second.products == ["APM_TRACING", "FFE_FLAGS"]
    assert FFE_CAP in decode_capabilities(second.capabilities)
    await client.aclose()


async def test_late_subscription_under_fastlane_starts_the_fast_fetcher() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    client = make_client(clock, agent, policy=ClientPolicy.FASTLANE)
    client.start(["APM_TRACING"])
    await clock.advance(2)
    assert Lane.FAST not in agent.sent
    client.subscribe("FFE_FLAGS")
    await clock.advance(1.5)
    assert agent.times(Lane.FAST) == [2.0, 3.0]
    await client.aclose()


async def test_shared_permit_pool_keeps_targets_beyond_the_limit_pending() -> None:
    clock = ManualClock()
    agent_a, agent_b = Agent(clock), Agent(clock)
    settings = PolicySettings(standard_permits=1)
    shared = LanePermits(MultiTargetFetcher.from_settings(settings))
    a = make_client(clock, agent_a, permits=shared, standard_permits=1)
    b = make_client(clock, agent_b, permits=shared, standard_permits=1)
    a.start(["FFE_FLAGS"])
    b.start(["FFE_FLAGS"])
    await clock.advance(11)
    assert agent_a.times(Lane.STANDARD) == [0.0, 5.0, 10.0]
    assert Lane.STANDARD not in agent_b.sent  # pending: the only permit is held by a
    await a.aclose()  # a's loop ends: its permit goes to b
    await clock.advance(0.5)
    assert agent_b.times(Lane.STANDARD) == [11.0]
    await b.aclose()


async def test_own_pools_per_tracer_do_not_limit_each_other() -> None:
    clock = ManualClock()
    agents = [Agent(clock) for _ in range(3)]
    clients = [make_client(clock, ag, standard_permits=1) for ag in agents]
    for c in clients:
        c.start(["FFE_FLAGS"])
    await clock.advance(0.1)
    assert [ag.times(Lane.STANDARD) for ag in agents] == [[0.0]] * 3
    await asyncio.gather(*(c.aclose() for c in clients))


async def test_a_crashing_listener_ends_the_loop_loudly(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    ffe = "datadog/2/FFE_FLAGS/flags-1/config"
    targets = build_signed_targets({ffe: file_meta(b"v1", 1)}, version=1, opaque_backend_state=b"")
    body = ClientGetConfigsResponse(
        targets=targets, target_files=[TargetFile(path=ffe, raw=b"v1")], client_configs=[ffe]
    ).to_json_bytes()
    agent = Agent(clock, respond=lambda lane: HttpResponse(200, {}, body))
    client = make_client(clock, agent)

    def crash(change: ConfigChange) -> str | None:
        raise RuntimeError("listener bug")

    client.listener = crash
    client.start(["FFE_FLAGS"])
    await clock.advance(11)
    assert agent.times(Lane.STANDARD) == [0.0]  # the loop ended with the crash
    assert "RC fetch loop of lane standard stopped" in caplog.text
    assert "listener bug" in caplog.text
    await client.aclose()


async def test_poll_on_subscribe_sends_the_new_product_at_once() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    client = make_client(clock, agent, first_poll=FirstPoll.AFTER_INTERVAL, poll_on_subscribe=True)
    client.start(["APM_TRACING"])
    await clock.advance(1)
    assert agent.times(Lane.STANDARD) == []
    client.subscribe("FFE_FLAGS")
    await clock.advance(0)
    await clock.run_until_idle()
    assert agent.times(Lane.STANDARD) == [1.0]  # dd-trace-go >= 2.10: at once
    ((_, sent),) = agent.sent[Lane.STANDARD]
    body = decode_request(sent.body).client
    assert body is not None and body.products == ["APM_TRACING", "FFE_FLAGS"]
    client.subscribe("FFE_FLAGS")  # already subscribed: no extra poll
    await clock.advance(9.5)
    assert agent.times(Lane.STANDARD) == [1.0, 5.0, 10.0]  # the ticker kept its grid
    await client.aclose()


async def test_without_poll_on_subscribe_the_product_waits_for_the_next_poll() -> None:
    clock = ManualClock()
    agent = Agent(clock)
    client = make_client(clock, agent, first_poll=FirstPoll.AFTER_INTERVAL)
    client.start(["APM_TRACING"])
    await clock.advance(1)
    client.subscribe("FFE_FLAGS")
    await clock.advance(3.9)
    assert agent.times(Lane.STANDARD) == []
    await clock.advance(0.1)
    assert agent.times(Lane.STANDARD) == [5.0]
    await client.aclose()
