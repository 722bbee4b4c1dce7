"""The stub process: start barrier, boot stagger, tracer labels, permit pools, /metrics, /health."""

from __future__ import annotations

import asyncio
import json
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


# ---- the start signal (docs/contracts.md, "The start signal") ---------------------------------


async def test_with_the_http_signal_tracers_wait_for_the_release_then_its_instant(
    hosts: list[Host],
) -> None:
    clock = ManualClock(start_wall=1_000.0)
    agent = Agent(clock)
    settings = Settings(tracers=2, start_signal="http", boot_stagger_ms=100)
    host = Host(settings, clock=clock, transport_factory=agent.factory)
    hosts.append(host)
    assert json.loads(host.readiness().body) == {"ready": True, "started": False, "tracers": 2}
    host.begin()
    await clock.advance(60.0)
    assert agent.sent == []  # no start_at, no deadline: it waits for the signal
    reply = host.release(1_061.0)
    assert (reply.status, json.loads(reply.body)) == (200, {"start_at": 1061.0, "late_s": 0.0})
    assert host.release(1_061.0) is reply  # the same instant again: the same answer
    assert host.release(1_062.0).status == 409  # the start cannot move
    await clock.advance(1.0)
    assert agent.sent == [(61.0, 0)]
    await clock.advance(0.1)
    assert agent.sent == [(61.0, 0), (61.1, 1)]
    doc = json.loads(host.readiness().body)
    assert doc == {"ready": True, "started": True, "tracers": 2, "start_at": 1061.0}


async def test_a_late_release_starts_at_once_and_says_how_late(hosts: list[Host]) -> None:
    clock = ManualClock(start_wall=1_000.0)
    agent = Agent(clock)
    host = Host(Settings(start_signal="http"), clock=clock, transport_factory=agent.factory)
    hosts.append(host)
    host.begin()
    await asyncio.sleep(0)
    reply = host.release(999.75)
    assert json.loads(reply.body) == {"start_at": 999.75, "late_s": 0.25}
    await clock.advance(0.0)
    assert agent.sent == [(0.0, 0)]


async def test_start_at_is_the_deadline_of_the_http_signal(hosts: list[Host]) -> None:
    clock = ManualClock(start_wall=1_000.0)
    agent = Agent(clock)
    settings = Settings(start_signal="http", start_at=1_005.0)
    host = Host(settings, clock=clock, transport_factory=agent.factory)
    hosts.append(host)
    host.begin()
    await clock.advance(5.0)
    assert agent.sent == [(5.0, 0)]  # nobody released it: it started at the deadline
    assert host.release(1_006.0).status == 409


async def test_without_the_http_signal_a_release_is_refused(hosts: list[Host]) -> None:
    clock = ManualClock(start_wall=1_000.0)
    host = Host(Settings(start_at=1_010.0), clock=clock, transport_factory=Agent(clock).factory)
    hosts.append(host)
    assert host.release(1_001.0).status == 409


@pytest.mark.e2e
async def test_the_start_signal_over_http(hosts: list[Host]) -> None:
    clock = ManualClock(start_wall=1_000.0)
    agent = Agent(clock)
    host = Host(Settings(start_signal="http"), clock=clock, transport_factory=agent.factory)
    hosts.append(host)
    port = await host.serve()
    host.begin()

    async def call(raw: bytes) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        data = await reader.read()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), body

    def post(body: bytes) -> bytes:
        return b"POST /start HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    status, body = await call(b"GET /ready-to-start HTTP/1.1\r\n\r\n")
    assert status == 200 and json.loads(body)["ready"] is True
    for bad in (b"{}", b"[1]", b'{"start_at": "soon"}', b'{"start_at": true}', b"nope"):
        assert (await call(post(bad)))[0] == 400
    assert (await call(b"GET /start HTTP/1.1\r\n\r\n"))[0] == 405
    status, body = await call(post(b'{"start_at": 1000.5}'))
    assert status == 200 and json.loads(body) == {"start_at": 1000.5, "late_s": 0.0}
    await clock.advance(0.5)
    assert agent.sent == [(0.5, 0)]
