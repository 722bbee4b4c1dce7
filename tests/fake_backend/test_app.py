from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest

from fake_backend.app import create_app
from fake_backend.catalogue import Catalogue, ConfigEntry
from fake_backend.errors import SettingsError
from fake_backend.settings import Settings
from rc_protocol.clock import ManualClock
from rc_protocol.proto import remoteconfig_pb2 as pb

T0 = 1_700_000_000.0
KEY = {"DD-Api-Key": "k"}
PROTO = {"Content-Type": "application/x-protobuf", **KEY}


def make_client(settings: Settings, clock: ManualClock) -> httpx.AsyncClient:
    app = create_app(settings, clock=clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://backend")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start_wall=T0)


@pytest.fixture
async def client(clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(Settings(products=("FFE_FLAGS", "APM_TRACING")), clock) as c:
        yield c


def request_bytes(**fields: object) -> bytes:
    message = pb.LatestConfigsRequest(hostname="h", agent_uuid="u", **fields)
    return message.SerializeToString()


async def configurations(client: httpx.AsyncClient, **fields: object) -> pb.LatestConfigsResponse:
    response = await client.post(
        "/api/v0.1/configurations", content=request_bytes(**fields), headers=PROTO
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    return pb.LatestConfigsResponse.FromString(response.content)


async def test_api_key_required(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v0.1/configurations", content=request_bytes())
    assert response.status_code == 401
    assert "DD-Api-Key" in response.text
    assert (await client.get("/api/v0.1/org")).status_code == 401


async def test_api_key_must_match_when_configured(clock: ManualClock) -> None:
    async with make_client(Settings(api_key="right"), clock) as c:
        wrong = await c.get("/api/v0.1/org", headers={"DD-Api-Key": "wrong"})
        right = await c.get("/api/v0.1/org", headers={"DD-Api-Key": "right"})
    assert wrong.status_code == 401
    assert "does not match" in wrong.text
    assert right.status_code == 200


async def test_garbage_body_is_400_and_service_keeps_serving(client: httpx.AsyncClient) -> None:
    bad = await client.post("/api/v0.1/configurations", content=b"\xff\xff\xff\xff", headers=PROTO)
    assert bad.status_code == 400
    assert "LatestConfigsRequest" in bad.text
    good = await configurations(client, new_products=["FFE_FLAGS"])
    assert len(good.target_files) == 1


async def test_protobuf_round_trip_files_match_targets(client: httpx.AsyncClient) -> None:
    response = await configurations(client, new_products=["FFE_FLAGS", "APM_TRACING"])
    signed = json.loads(response.director_metas.targets.raw)["signed"]
    assert signed["version"] == int(T0)
    assert response.director_metas.targets.version == int(T0)
    assert len(response.target_files) == 2
    for file in response.target_files:
        meta = signed["targets"][file.path]
        assert meta["length"] == len(file.raw)
        assert meta["hashes"]["sha256"] == hashlib.sha256(file.raw).hexdigest()


async def test_admin_bump_changes_the_version(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    first = await configurations(client, new_products=["FFE_FLAGS"])
    snapshot = first.config_metas.snapshot.version
    bump = await client.post("/admin/configs/FFE_FLAGS", json={"bump": True})
    assert bump.status_code == 200, bump.text
    assert bump.json()["version"] == 2
    await clock.advance(3)
    second = await configurations(
        client, products=["FFE_FLAGS"], current_config_snapshot_version=snapshot
    )
    assert second.director_metas.targets.version == int(T0) + 3
    assert [f.raw for f in second.target_files] != [f.raw for f in first.target_files]
    state = (await client.get("/admin/state")).json()
    assert state["targets_version"] == int(T0) + 3
    ffe = [c for c in state["catalogue"]["configs"] if c["product"] == "FFE_FLAGS"]
    assert ffe[0]["version"] == 2


async def test_admin_payload_and_bad_input(client: httpx.AsyncClient) -> None:
    put = await client.post("/admin/configs/APM_TRACING", json={"payload": {"a": 1}})
    assert put.status_code == 200
    assert put.json()["length"] == len(b'{"a":1}')
    for body in ({}, {"bump": True, "payload": 1}, {"raw_base64": "%%%"}):
        bad = await client.post("/admin/configs/APM_TRACING", json=body)
        assert bad.status_code == 400
        assert "APM_TRACING" in bad.json()["error"]
    unknown = await client.post("/admin/configs/NOPE", json={"bump": True})
    assert unknown.status_code == 400
    not_json = await client.post("/admin/configs/FFE_FLAGS", content=b"{")
    assert not_json.status_code == 400
    assert (await client.get("/health")).json() == {"status": "ok"}


async def test_error_rate_and_metrics(clock: ManualClock) -> None:
    settings = Settings(error_rate=1.0, error_status=503, run_id="run-7")
    async with make_client(settings, clock) as c:
        failed = await c.post("/api/v0.1/configurations", content=request_bytes(), headers=PROTO)
        assert failed.status_code == 503
        cleared = await c.delete("/admin/faults")
        assert cleared.json()["error_rate"] == 0.0
        await configurations(c, new_products=["FFE_FLAGS"])
        text = (await c.get("/metrics")).text
    assert 'backend_rc_requests_total{endpoint="configurations",status="503"} 1.0' in text
    assert 'backend_rc_requests_total{endpoint="configurations",status="200"} 1.0' in text
    assert 'backend_rc_faults_injected_total{kind="error"} 1.0' in text
    assert 'backend_rc_run_info{run_id="run-7"} 1.0' in text
    version_line = next(x for x in text.splitlines() if x.startswith("backend_rc_targets_version "))
    assert float(version_line.split()[1]) == int(T0)
    assert 'backend_rc_response_bytes_total{endpoint="configurations"}' in text
    assert "backend_rc_request_duration_seconds_bucket" in text


async def test_rate_limit_window_from_admin(client: httpx.AsyncClient, clock: ManualClock) -> None:
    added = await client.post("/admin/faults/windows", json={"kind": "rate_limit", "for_s": 10})
    assert added.status_code == 200
    assert added.json()["windows"][0]["active"] is True
    limited = await client.get("/api/v0.1/status", headers=KEY)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "10"
    await clock.advance(10)
    assert (await client.get("/api/v0.1/status", headers=KEY)).status_code == 200
    bad = await client.post("/admin/faults/windows", json={"kind": "outage", "start_s": 5})
    assert bad.status_code == 400


async def test_outage_window_from_settings(clock: ManualClock) -> None:
    async with make_client(Settings(outage_windows="0-5"), clock) as c:
        assert (await c.get("/api/v0.1/org", headers=KEY)).status_code == 503
        await clock.advance(5)
        assert (await c.get("/api/v0.1/org", headers=KEY)).status_code == 200


def test_bad_window_setting_names_the_variable(clock: ManualClock) -> None:
    with pytest.raises(SettingsError, match="RC_BACKEND_OUTAGE_WINDOWS") as info:
        create_app(Settings(outage_windows="10"), clock=clock)
    assert "'start-end'" in str(info.value)


async def test_latency_waits_on_the_clock(clock: ManualClock) -> None:
    async with make_client(Settings(latency_ms=500), clock) as c:
        task = asyncio.create_task(c.get("/api/v0.1/status", headers=KEY))
        await clock.advance(0.4)
        assert not task.done()
        await clock.advance(0.1)
        response = await asyncio.wait_for(task, timeout=5)
    assert response.status_code == 200


async def test_org_and_status(client: httpx.AsyncClient) -> None:
    org = pb.OrgDataResponse.FromString((await client.get("/api/v0.1/org", headers=KEY)).content)
    assert org.uuid == Settings().org_uuid
    status = pb.OrgStatusResponse.FromString(
        (await client.get("/api/v0.1/status", headers=KEY)).content
    )
    assert (status.enabled, status.authorized) == (True, True)


class BrokenCatalogue(Catalogue):
    """A catalogue whose reads fail, standing in for a bug in the answer path."""

    def entries(self, products: Iterable[str] | None = None) -> list[ConfigEntry]:
        raise RuntimeError("catalogue exploded")


async def test_a_failing_answer_is_a_500_and_the_service_keeps_serving(
    clock: ManualClock,
) -> None:
    app = create_app(Settings(), clock=clock)
    app.state.backend.catalogue = BrokenCatalogue(2, {})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://backend") as c:
        failed = await c.post("/api/v0.1/configurations", content=request_bytes(), headers=PROTO)
        assert failed.status_code == 500
        assert "catalogue exploded" in failed.text
        assert (await c.get("/health")).status_code == 200
        metrics = (await c.get("/metrics")).text
    assert 'backend_rc_requests_total{endpoint="configurations",status="500"} 1.0' in metrics


async def test_a_keyless_call_is_refused_before_any_fault_logic(clock: ManualClock) -> None:
    """401 without the key, and the seeded fault sequence and the fault counters untouched:
    the keyed calls after keyless ones fail exactly as they would have without them."""

    async def outcomes(keyless_first: int) -> tuple[list[int], str]:
        async with make_client(Settings(error_rate=0.5, latency_spread_ms=0, seed=7), clock) as c:
            for _ in range(keyless_first):
                refused = await c.post("/api/v0.1/configurations", content=request_bytes())
                assert refused.status_code == 401
            statuses = [
                (
                    await c.post("/api/v0.1/configurations", content=request_bytes(), headers=PROTO)
                ).status_code
                for _ in range(12)
            ]
            return statuses, (await c.get("/metrics")).text

    alone, alone_metrics = await outcomes(0)
    after_keyless, metrics = await outcomes(5)
    assert after_keyless == alone and 500 in alone and 200 in alone
    faults = [x for x in metrics.splitlines() if x.startswith("backend_rc_faults_injected_total")]
    assert faults == [
        x for x in alone_metrics.splitlines() if x.startswith("backend_rc_faults_injected_total")
    ]
    assert 'backend_rc_requests_total{endpoint="configurations",status="401"} 5.0' in metrics


async def test_a_body_over_the_limit_is_413_on_every_route(clock: ManualClock) -> None:
    async with make_client(Settings(max_body_bytes=1000), clock) as c:
        big = b"\x0a" + b"x" * 2000
        api = await c.post("/api/v0.1/configurations", content=big, headers=PROTO)
        admin = await c.post("/admin/configs/FFE_FLAGS", content=b"{" * 2000)
        assert (api.status_code, admin.status_code) == (413, 413)
        assert "max_body_bytes" in api.text
        assert (await configurations(c, new_products=["FFE_FLAGS"])).target_files
