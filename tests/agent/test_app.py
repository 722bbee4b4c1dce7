"""The HTTP layer in-process (httpx.ASGITransport) with a fake backend."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from agent.app import create_app
from agent.backend_client import FakeBackend
from agent.settings import Settings
from rc_protocol.clock import SystemClock
from rc_protocol.wire import encode_request
from tests.agent.conftest import FFE_PATH, FFE_RAW, Catalogue, request


@pytest.fixture
async def app() -> AsyncIterator[FastAPI]:
    clock = SystemClock()
    settings = Settings(refresh_spacing_s=0.0, max_body_bytes=64 * 1024, run_id="r1")
    application = create_app(settings, clock, FakeBackend(Catalogue(), clock))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
        yield c


async def test_info_lists_the_config_endpoint(client: httpx.AsyncClient) -> None:
    info = (await client.get("/info")).json()
    assert "/v0.7/config" in info["endpoints"]
    assert info["client_drop_p0s"] is True and "version" in info and "config" in info


async def test_health(client: httpx.AsyncClient) -> None:
    answer = await client.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "bytes_as"), [("POST", "base64"), ("GET", "array")])
async def test_new_client_gets_the_file_then_empty(
    client: httpx.AsyncClient, method: str, bytes_as: str
) -> None:
    body = encode_request(request(1, capabilities=b"\x40\x00"), bytes_as=bytes_as)  # type: ignore[arg-type]
    first = await client.request(method, "/v0.7/config", content=body)
    assert first.status_code == 200
    doc = first.json()
    assert doc["client_configs"] == [FFE_PATH]
    (sent,) = doc["target_files"]
    raw = base64.b64decode(sent["raw"])
    targets = json.loads(base64.b64decode(doc["targets"]))
    meta = targets["signed"]["targets"][FFE_PATH]
    assert raw == FFE_RAW and meta["length"] == len(raw)
    assert meta["hashes"]["sha256"] == hashlib.sha256(raw).hexdigest()
    version = targets["signed"]["version"]
    again = await client.request(
        method, "/v0.7/config", content=encode_request(request(1, targets_version=version))
    )
    assert again.status_code == 200 and again.content == b"{}"


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b'"x"', b'{"client": {"id": 5}}'])
async def test_undecodable_bodies_are_400(client: httpx.AsyncClient, body: bytes) -> None:
    answer = await client.post("/v0.7/config", content=body)
    assert answer.status_code == 400
    assert "error" in answer.json()


async def test_validation_errors_are_500_naming_the_field(client: httpx.AsyncClient) -> None:
    req = request(1)
    assert req.client is not None and req.client.client_tracer is not None
    req.client.client_tracer.language = ""
    answer = await client.post("/v0.7/config", content=encode_request(req))
    assert answer.status_code == 500
    assert "client.client_tracer.language" in answer.json()["error"]
    empty = await client.post("/v0.7/config", content=b"{}")
    assert empty.status_code == 500 and "client is a required field" in empty.json()["error"]


async def test_too_large_body_is_413_and_the_agent_keeps_serving(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v0.7/config", content=b" " * (64 * 1024 + 1))
    assert answer.status_code == 413
    assert (await client.get("/health")).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v0.4/traces",
        "/v0.5/traces",
        "/v0.7/traces",
        "/v0.6/stats",
        "/telemetry/proxy/api/v2/apmtelemetry",
        "/evp_proxy/v2/api/v2/exposures",
        "/evp_proxy/v4/x",
        "/debugger/v1/input",
        "/debugger/v1/diagnostics",
        "/symdb/v1/input",
        "/dogstatsd/v2/proxy",
    ],
)
async def test_discard_endpoints_answer_2xx(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.post(path, content=b"\x93\x01\x02")
    assert 200 <= answer.status_code < 300
    put = await client.put(path, content=b"[]")
    assert 200 <= put.status_code < 300


async def test_metrics_are_labelled_by_lane(client: httpx.AsyncClient) -> None:
    await client.post("/v0.7/config", content=encode_request(request(1)))
    await client.post("/v0.7/config", content=encode_request(request(2, ["APM_TRACING"])))
    await client.post("/v0.7/config", content=b"{nope")
    text = (await client.get("/metrics")).text
    assert 'agent_rc_requests_total{lane="fast",outcome="update"} 1.0' in text
    assert 'agent_rc_requests_total{lane="standard",outcome="update"} 1.0' in text
    assert 'agent_rc_requests_total{lane="standard",outcome="error_decode"} 1.0' in text
    assert 'agent_rc_bypass_total{lane="fast",result="refreshed"} 1.0' in text
    assert 'agent_rc_refreshes_total{reason="startup",result="ok"} 1.0' in text
    assert 'agent_rc_run_info{run_id="r1"} 1.0' in text
    for name in (
        "agent_rc_request_duration_seconds",
        "agent_rc_lock_wait_seconds",
        "agent_rc_active_clients",
        "agent_rc_targets_version",
        "agent_rc_backend_request_duration_seconds",
    ):
        assert name in text


async def test_rc_unavailable_is_answered_500_and_counted() -> None:
    clock = SystemClock()
    settings = Settings(rc_unavailable_s=3600.0, run_id="r1")
    application = create_app(settings, clock, FakeBackend(Catalogue(), clock))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            answer = await c.post("/v0.7/config", content=encode_request(request(1)))
            assert answer.status_code == 500 and "not serving yet" in answer.json()["error"]
            text = (await c.get("/metrics")).text
    assert 'agent_rc_requests_total{lane="fast",outcome="error_unavailable"} 1.0' in text
