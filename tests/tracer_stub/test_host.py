"""The stub process: start barrier, boot stagger, tracer labels, permit pools, /metrics, /health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from openfeature import api

from rc_protocol.clock import ManualClock
from tracer_stub.client.policy import Lane
from tracer_stub.client.transport import FakeTransport, HttpResponse, RecordedRequest
from tracer_stub.host import Host
from tracer_stub.settings import Settings


class Agent:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, int]] = []

    def factory(self, index: int, lane: Lane) -> FakeTransport:
        def handler(req: RecordedRequest) -> HttpResponse:
            self.sent.append((self.clock.monotonic(), index))
            return HttpResponse(200, {}, b"{}")

        return FakeTransport(handler=handler)


@pytest.fixture
async def hosts() -> AsyncIterator[list[Host]]:
    made: list[Host] = []
    yield made
    for h in made:
        await h.stop()
    api.clear_providers()


async def test_tracers_start_at_the_barrier_with_the_stagger(hosts: list[Host]) -> None:
    clock = ManualClock(start_wall=1_000.0)
    agent = Agent(clock)
    settings = Settings(tracers=3, tracer_index_base=40, start_at=1_010.0, boot_stagger_ms=250)
    host = Host(settings, clock=clock, transport_factory=agent.factory)
    hosts.append(host)
    assert [t.index for t in host.tracers] == [40, 41, 42]
    host.begin()
    await clock.advance(9.9)
    assert agent.sent == []
    await clock.advance(0.6)
    assert agent.sent == [(10.0, 40), (10.25, 41), (10.5, 42)]
    assert [t.times.start_wall for t in host.tracers] == [1010.0, 1010.25, 1010.5]


async def test_each_tracer_has_its_own_identity_and_pools_unless_shared(
    hosts: list[Host],
) -> None:
    clock = ManualClock()
    agent = Agent(clock)
    own = Host(Settings(tracers=2), clock=clock, transport_factory=agent.factory)
    shared = Host(
        Settings(tracers=2, shared_multitarget=True), clock=clock, transport_factory=agent.factory
    )
    hosts.extend([own, shared])
    a, b = own.tracers
    assert a.runtime_id != b.runtime_id
    assert (a.service, b.service) == ("rc-stub-0", "rc-stub-1")
    assert a.rc.permits is not b.rc.permits
    assert shared.tracers[0].rc.permits is shared.tracers[1].rc.permits


@pytest.mark.e2e
async def test_metrics_and_health_are_served(hosts: list[Host]) -> None:
    clock = ManualClock()
    agent = Agent(clock)
    host = Host(Settings(tracers=2, run_id="r1"), clock=clock, transport_factory=agent.factory)
    hosts.append(host)
    port = await host.serve()

    async def get(path: str) -> tuple[str, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = await reader.read()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return head.split(b"\r\n")[0].decode(), body

    status, body = await get("/health")
    assert status == "HTTP/1.1 200 OK" and body == b'{"status": "ok"}'
    status, body = await get("/metrics")
    assert status == "HTTP/1.1 200 OK"
    assert b'tracer_run_info{run_id="r1"} 1.0' in body
    assert b'tracer_outcome{tracer="1",outcome="pending"} 1.0' in body
    status, _ = await get("/nope")
    assert status.startswith("HTTP/1.1 404")
