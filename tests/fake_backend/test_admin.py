"""The admin API's guard (token) and its answers to bad input (always 4xx, the service keeps
serving); the happy paths are in test_app.py."""

from __future__ import annotations

import httpx
import pytest

from fake_backend.app import create_app
from fake_backend.settings import Settings
from rc_protocol.clock import ManualClock

TOKEN = "0123456789abcdef"


def client(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, clock=ManualClock(start_wall=1_700_000_000.0))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://backend")


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
async def test_with_a_token_every_admin_route_needs_it(authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with client(Settings(admin_token=TOKEN)) as c:
        for method, path in [("GET", "/admin/state"), ("DELETE", "/admin/faults")]:
            refused = await c.request(method, path, headers=headers)
            assert refused.status_code == 401, path
            assert "RC_BACKEND_ADMIN_TOKEN" in refused.text
        bump = await c.post("/admin/configs/FFE_FLAGS", json={"bump": True}, headers=headers)
        assert bump.status_code == 401
        state = await c.get("/admin/state", headers={"Authorization": f"Bearer {TOKEN}"})
    assert state.status_code == 200
    assert state.json()["catalogue"]["snapshot_version"] == 1, "the refused bump changed nothing"


async def test_without_a_token_the_admin_api_is_open() -> None:
    async with client(Settings()) as c:
        assert (await c.get("/admin/state")).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/faults/errors", b'{"error_rate": NaN}'),
        ("/admin/faults/windows", b'{"kind": "outage", "for_s": Infinity}'),
        ("/admin/faults/windows", b'{"kind": "outage", "start_s": -1e308, "end_s": 1e308}'),
        ("/admin/faults/latency", b'{"latency_ms": 100000000000000000000}'),
        ("/admin/faults/latency", b"[" * 5000),
        ("/admin/configs/FFE_FLAGS", b'{"payload": NaN}'),
        ("/admin/configs/FFE_FLAGS", b'{"payload":' * 3000),
        ("/admin/configs/FFE_FLAGS", b'{"payload": "\xff"}'),
    ],
)
async def test_bad_admin_bodies_are_4xx_with_the_reason(path: str, body: bytes) -> None:
    async with client(Settings()) as c:
        answer = await c.post(path, content=body, headers={"Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, answer.text
        reason = answer.json()
        assert reason.get("error") or reason.get("detail")
        state = (await c.get("/admin/state")).json()
    assert state["faults"]["latency_ms"] == 0 and state["faults"]["windows"] == []
    assert state["catalogue"]["snapshot_version"] == 1
