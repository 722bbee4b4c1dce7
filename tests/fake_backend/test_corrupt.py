"""The bad_payload fault, end to end through the backend app: what the agent receives during a
window and after it (fake_backend.corrupt)."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from fake_backend.corrupt import CORRUPT_UFC
from fake_backend.settings import Settings
from rc_protocol.clock import ManualClock
from rc_protocol.errors import UfcError
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.targets import parse_signed_targets
from rc_protocol.tuf import verify_signatures
from rc_protocol.ufc import parse_ufc
from tests.fake_backend.test_app import KEY, PROTO, T0, make_client, request_bytes

FFE = "datadog/2/FFE_FLAGS/rc-fastlane-flags/config"


async def answer(c: httpx.AsyncClient, **fields: object) -> pb.LatestConfigsResponse:
    response = await c.post(
        "/api/v0.1/configurations",
        content=request_bytes(products=["FFE_FLAGS"], **fields),
        headers=PROTO,
    )
    assert response.status_code == 200, response.text
    return pb.LatestConfigsResponse.FromString(response.content)


async def bad_window(c: httpx.AsyncClient, corruption: str, seconds: float = 10) -> None:
    body = {"kind": "bad_payload", "for_s": seconds, "corruption": corruption}
    assert (await c.post("/admin/faults/windows", json=body)).status_code == 200


def files(response: pb.LatestConfigsResponse) -> dict[str, bytes]:
    return {f.path: bytes(f.raw) for f in response.target_files}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start_wall=T0)


async def test_hash_corruption_lists_a_sha256_that_is_not_the_files(clock: ManualClock) -> None:
    async with make_client(Settings(), clock) as c:
        await bad_window(c, "hash")
        bad = await answer(c)
        targets = parse_signed_targets(bad.director_metas.targets.raw)
        raw = files(bad)[FFE]
        assert targets.targets[FFE].sha256 != hashlib.sha256(raw).hexdigest()
        assert verify_signatures(bad.director_metas.targets.raw)  # signed, but lying
        await clock.advance(10)
        good = await answer(c)
        fixed = parse_signed_targets(good.director_metas.targets.raw)
        assert fixed.targets[FFE].sha256 == hashlib.sha256(files(good)[FFE]).hexdigest()
        assert fixed.version > targets.version
        metrics = (await c.get("/metrics")).text
        assert 'backend_rc_faults_injected_total{kind="bad_payload"} 1.0' in metrics


async def test_signature_corruption_does_not_verify(clock: ManualClock) -> None:
    async with make_client(Settings(), clock) as c:
        await bad_window(c, "signature")
        bad = await answer(c)
        assert not verify_signatures(bad.director_metas.targets.raw)
        parse_signed_targets(bad.director_metas.targets.raw)  # well-formed otherwise
        await clock.advance(10)
        good = await answer(c)
        assert verify_signatures(good.director_metas.targets.raw)


async def test_ufc_corruption_is_a_bad_publish_then_a_fix(clock: ManualClock) -> None:
    async with make_client(Settings(), clock) as c:
        first = await answer(c)
        v1 = parse_signed_targets(first.director_metas.targets.raw)
        parse_ufc(files(first)[FFE])
        snapshot = first.config_metas.snapshot.version
        await bad_window(c, "ufc")
        await clock.advance(1)
        bad = await answer(c, current_config_snapshot_version=snapshot)
        v2 = parse_signed_targets(bad.director_metas.targets.raw)
        assert files(bad)[FFE] == CORRUPT_UFC
        assert v2.targets[FFE].sha256 == hashlib.sha256(CORRUPT_UFC).hexdigest()  # consistent
        with pytest.raises(UfcError):
            parse_ufc(CORRUPT_UFC)
        assert v2.version > v1.version and v2.targets[FFE].version > v1.targets[FFE].version
        await clock.advance(10)
        fixed = await answer(c, current_config_snapshot_version=bad.config_metas.snapshot.version)
        v3 = parse_signed_targets(fixed.director_metas.targets.raw)
        assert files(fixed)[FFE] == files(first)[FFE]  # sent again: a change after the snapshot
        assert v3.version > v2.version and v3.targets[FFE].version > v2.targets[FFE].version
        state = json.loads((await c.get("/admin/state")).content)
        assert state["faults"]["windows"] == []


async def test_admin_windows_take_the_kinds_own_fields(clock: ManualClock) -> None:
    async with make_client(Settings(), clock) as c:
        body = {"kind": "latency", "start_s": 100, "end_s": 105, "latency_ms": 700}
        added = await c.post("/admin/faults/windows", json=body)
        assert added.status_code == 200
        [window] = added.json()["windows"]
        assert window["latency_ms"] == 700 and window["start_in_s"] == 100
        errors = {"kind": "errors", "for_s": 5, "error_rate": 1.0, "status": 503}
        assert (await c.post("/admin/faults/windows", json=errors)).status_code == 200
        assert (await c.get("/api/v0.1/status", headers=KEY)).status_code == 503
        wrong = {"kind": "bad_payload", "for_s": 5}
        refused = await c.post("/admin/faults/windows", json=wrong)
        assert refused.status_code == 400 and "corruption None" in refused.json()["error"]
        assert (await c.get("/health")).status_code == 200
