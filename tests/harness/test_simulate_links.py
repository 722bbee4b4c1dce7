"""The in-memory links: the tracer-side link answers as the agent's HTTP app does, and the
backend link answers, refuses and records as the fake backend's app and ``HttpBackend`` do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from agent.app import create_app
from agent.backend_client import FakeBackend
from agent.errors import BackendError
from agent.settings import Settings
from fake_backend.settings import Settings as BackendSettings
from fake_backend.state import BackendState
from harness.simulate.links import AgentLink, BackendRefusal, SimBackend
from rc_protocol.clock import ManualClock, SystemClock
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.wire import encode_request
from tests.agent.conftest import Catalogue, request

BODIES = {
    "new client": encode_request(request(1)),
    "same client again": encode_request(request(1)),
    "not JSON": b"{nope",
    "wrong type": b'{"client": {"products": 3}}',
    "invalid (no client)": b"{}",
    "too large": b" " * 70_000,
}


async def agent_app() -> FastAPI:
    clock = SystemClock()
    settings = Settings(refresh_spacing_s=0.0, max_body_bytes=64 * 1024, run_id="r1")
    return create_app(settings, clock, FakeBackend(Catalogue(), clock))


@pytest.fixture
async def apps() -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    a, b = await agent_app(), await agent_app()
    async with a.router.lifespan_context(a), b.router.lifespan_context(b):
        yield a, b


async def test_agent_link_answers_as_the_http_app(apps: tuple[FastAPI, FastAPI]) -> None:
    over_http, in_memory = apps
    link = AgentLink(in_memory.state.service, in_memory.state.metrics, SystemClock())
    transport = httpx.ASGITransport(app=over_http)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
        for what, body in BODIES.items():
            http = await client.post("/v0.7/config", content=body)
            mem = await link.post("/v0.7/config", body, 3.0)
            assert mem.status == http.status_code, what
            assert json.loads(mem.body) == http.json(), what
    counted = in_memory.state.metrics.render().decode()
    for line in over_http.state.metrics.render().decode().splitlines():
        if line.startswith("agent_rc_requests_total{"):
            assert line in counted  # the same requests counted the same way


def backend(clock: ManualClock, **settings: object) -> SimBackend:
    state = BackendState.from_settings(BackendSettings(**settings), clock)  # type: ignore[arg-type]
    return SimBackend(state, clock)


def refresh(host: str = "a") -> pb.LatestConfigsRequest:
    return pb.LatestConfigsRequest(hostname=host, new_products=["FFE_FLAGS"])


async def test_backend_answers_and_records_every_call() -> None:
    clock = ManualClock()
    sim = backend(clock, latency_ms=200)
    task = asyncio.create_task(sim.configurations(refresh()))
    await clock.advance(0.2)
    reply = await task
    assert [t.path for t in reply.target_files] == ["datadog/2/FFE_FLAGS/rc-fastlane-flags/config"]
    assert [(c.arrived, c.ended, c.status) for c in sim.calls] == [(0.0, 0.2, 200)]
    org = asyncio.create_task(sim.org_uuid())
    await clock.advance(0.2)
    assert await org == sim.state.settings.org_uuid


async def test_backend_over_capacity_refuses_with_429_as_the_agent_sees_it() -> None:
    clock = ManualClock()
    sim = backend(clock, capacity_calls_per_s=1.0)
    await sim.configurations(refresh("a"))
    with pytest.raises(BackendError, match="4XX status code: 429") as caught:
        await sim.configurations(refresh("b"))
    assert isinstance(caught.value, BackendRefusal) and caught.value.status == 429
    assert [c.status for c in sim.calls] == [200, 429]
    rejected = sim.state.metrics.capacity_rejected.labels(reason="rate")._value.get()
    assert rejected == 1


async def test_backend_fault_windows_refuse_as_the_app_does() -> None:
    clock = ManualClock()
    sim = backend(clock, outage_windows="0-10")
    with pytest.raises(BackendError, match="non-200 response code: 503"):
        await sim.configurations(refresh())
    with pytest.raises(BackendError, match="503"):
        await sim.org_uuid()
    assert [c.status for c in sim.calls] == [503]
