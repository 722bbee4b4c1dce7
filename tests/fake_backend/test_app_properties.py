"""Property: no client input gets a 5xx from the backend (its API and its admin API), and it
keeps serving. Small bodies here; the full-size fuzz against a real process (bodies up to 1 MiB)
is benchmarks/fuzz_services.py."""

from __future__ import annotations

import asyncio
import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_backend.app import create_app
from fake_backend.settings import Settings
from rc_protocol.clock import SystemClock
from rc_protocol.pbwire import wire_field
from rc_protocol.proto import remoteconfig_pb2 as pb

KEY = "property-key"
TOKEN = "property-token"


VALID = st.builds(
    lambda host, products: pb.LatestConfigsRequest(
        hostname=host, products=products, active_clients=[pb.Client(id=host, is_tracer=True)]
    ).SerializeToString(),
    st.text(max_size=10),
    st.lists(st.sampled_from(["FFE_FLAGS", "APM_TRACING", "NOPE", ""]), max_size=3),
)
PROTOBUF = (
    VALID
    | st.builds(lambda body, cut: body[:cut], VALID, st.integers(0, 40))
    | st.lists(
        st.builds(
            wire_field,
            st.sampled_from([1, 3, 4, 6, 10, 11, 16, 99]),
            st.integers(0, 7),
            st.binary(max_size=8),
        ),
        max_size=6,
    ).map(b"".join)
    | st.integers(1, 300).map(lambda n: wire_field(6, 3, b"") * n)
    | st.sampled_from([b"\x0a\x02\xc3\x28", b"\x32\xff\xff\xff\xff\x0f\x00"])
    | st.binary(max_size=64)
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=10,
)
NUMBER = st.integers(-(2**70), 2**70) | st.floats() | st.sampled_from(["1", None, []])
ADMIN_BODY = (
    st.fixed_dictionaries({}, optional={"latency_ms": NUMBER, "latency_spread_ms": NUMBER})
    | st.fixed_dictionaries({}, optional={"error_rate": NUMBER, "error_status": NUMBER})
    | st.fixed_dictionaries(
        {},
        optional={
            "kind": st.sampled_from(["outage", "rate_limit", "x"]),
            "start_s": NUMBER,
            "end_s": NUMBER,
            "for_s": NUMBER,
        },
    )
    | st.fixed_dictionaries(
        {},
        optional={"bump": JSON, "payload": JSON, "raw_base64": JSON, "config_id": JSON},
    )
    | JSON
).map(lambda doc: json.dumps(doc).encode()) | st.sampled_from([b"[" * 3000, b"{\xff}"])
ADMIN_ROUTE = st.sampled_from(
    [
        ("POST", "/admin/faults/latency"),
        ("POST", "/admin/faults/errors"),
        ("POST", "/admin/faults/windows"),
        ("POST", "/admin/configs/FFE_FLAGS"),
        ("POST", "/admin/configs/NOPE"),
        ("GET", "/admin/state"),
    ]
)


def test_no_client_input_gets_a_5xx_and_the_backend_keeps_serving() -> None:
    loop = asyncio.new_event_loop()
    app = create_app(
        Settings(api_key=KEY, admin_token=TOKEN, max_body_bytes=4096), clock=SystemClock()
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    seen: set[int] = set()

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=PROTOBUF, keyed=st.booleans())
    def api(body: bytes, keyed: bool) -> None:
        headers = {"DD-Api-Key": KEY} if keyed else {}
        answer = loop.run_until_complete(
            client.post("/api/v0.1/configurations", content=body, headers=headers)
        )
        assert answer.status_code in (200, 400, 401), answer.text
        seen.add(answer.status_code)

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=ADMIN_ROUTE, body=ADMIN_BODY)
    def admin(route: tuple[str, str], body: bytes) -> None:
        method, path = route
        answer = loop.run_until_complete(client.request(method, path, content=body, headers=auth))
        assert answer.status_code < 500, answer.text
        seen.add(answer.status_code)
        loop.run_until_complete(client.delete("/admin/faults", headers=auth))

    try:
        api()
        admin()
        assert loop.run_until_complete(client.get("/health")).status_code == 200
        assert {200, 400, 401, 422} <= seen
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
