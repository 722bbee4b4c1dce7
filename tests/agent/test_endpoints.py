"""Endpoints apart from any server: routing table, decoded bodies kept by their bytes, and the
answers served at once or after a wait."""

from __future__ import annotations

import asyncio

from agent.app import build_endpoints
from agent.backend_client import FakeBackend
from agent.endpoints import METHOD_NOT_ALLOWED, NOT_FOUND, Answer, Endpoints
from agent.settings import Settings
from rc_protocol.clock import ManualClock
from rc_protocol.wire import encode_request
from tests.agent.conftest import T0, Catalogue, request


async def started() -> tuple[Endpoints, ManualClock]:
    clock = ManualClock(start_wall=T0)
    endpoints = build_endpoints(Settings(loop_lag_interval_s=0), clock,
                                FakeBackend(Catalogue(), clock))  # fmt: skip
    endpoints.start()
    await clock.run_until_idle()
    return endpoints, clock


def test_routing_table() -> None:
    clock = ManualClock(start_wall=T0)
    endpoints = build_endpoints(Settings(), clock, FakeBackend(Catalogue(), clock))
    assert endpoints.find("GET", "/nope") is NOT_FOUND
    assert endpoints.find("DELETE", "/v0.7/config") is METHOD_NOT_ALLOWED
    assert endpoints.find("POST", "/info") is METHOD_NOT_ALLOWED
    discard = endpoints.find("PUT", "/telemetry/proxy/api/v2/apmtelemetry")
    assert not isinstance(discard, Answer)
    assert discard("/telemetry/proxy/x", b"") == Answer(202, b"{}")


async def test_an_active_client_is_answered_at_once_a_new_one_after_its_bypass() -> None:
    endpoints, clock = await started()
    new = endpoints.config(encode_request(request(1)))
    assert not isinstance(new, Answer)  # a new client waits for its bypass
    task = asyncio.ensure_future(new)
    await clock.advance(1.0)
    assert task.result().status == 200
    again = endpoints.config(encode_request(request(1)))
    assert isinstance(again, Answer) and again.body == task.result().body
    await endpoints.stop()


async def test_a_body_is_decoded_once_and_a_bad_one_every_time() -> None:
    endpoints, _ = await started()
    endpoints.service.clients.seen("client-1", request(1).client)  # type: ignore[arg-type]
    body = encode_request(request(1))
    for _ in range(3):
        answer = endpoints.config(body)
        assert isinstance(answer, Answer) and answer.status == 200
    assert (endpoints.decoded_hits, endpoints.decoded_misses) == (2, 1)
    for _ in range(2):
        bad = endpoints.config(b"{nope")
        assert isinstance(bad, Answer) and bad.status == 400
    assert endpoints.decoded_misses == 1
    await endpoints.stop()


async def test_the_oldest_decoded_body_is_forgotten_first() -> None:
    endpoints, _ = await started()
    endpoints.decoded_limit = 2
    bodies = [encode_request(request(n)) for n in range(3)]
    for n in range(3):  # active clients: answered at once
        endpoints.service.clients.seen(f"client-{n}", request(n).client)  # type: ignore[arg-type]
    for body in bodies:
        assert isinstance(endpoints.config(body), Answer)
    misses = endpoints.decoded_misses
    assert isinstance(endpoints.config(bodies[2]), Answer)  # still kept
    assert isinstance(endpoints.config(bodies[0]), Answer)  # the oldest: decoded again
    assert (endpoints.decoded_misses - misses, endpoints.decoded_hits) == (1, 1)
    await endpoints.stop()
