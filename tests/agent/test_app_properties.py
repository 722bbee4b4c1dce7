"""Property: any body on /v0.7/config gives 200/400/413, or the real agent's 500 for a request
that fails ``validateRequest``; never an internal error, and the app still serves.

Bodies: the request's shape with wrong types, JSON nested past the recursion limit, invalid
UTF-8, random bytes (the full-size fuzz against real processes: benchmarks/fuzz_services.py)."""

from __future__ import annotations

import asyncio
import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.app import create_app
from agent.backend_client import FakeBackend
from agent.settings import Settings
from rc_protocol.clock import SystemClock
from tests.agent.conftest import Catalogue

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
ANY = JSON | st.text(max_size=30) | st.integers()
PATHS = st.sampled_from(["datadog/2/FFE_FLAGS/f/config", "employee/ASM/x/config", "bad", ""])
HASH = st.fixed_dictionaries(
    {},
    optional={
        "algorithm": st.sampled_from(["sha256", "", 3]),
        "hash": st.sampled_from(["ab", "", "zz", None]),
    },
)
CACHED = st.fixed_dictionaries(
    {},
    optional={
        "path": PATHS | ANY,
        "length": st.integers(-2, 300) | ANY,
        "hashes": st.lists(HASH, max_size=2) | ANY,
    },
)
TRACER = st.fixed_dictionaries(
    {},
    optional={
        "runtime_id": st.sampled_from(["rt", "c"]) | ANY,
        "language": st.sampled_from(["go", ""]) | ANY,
        "tracer_version": st.text(max_size=8),
        "service": st.text(max_size=5),
        "tags": st.lists(st.text(max_size=5)) | ANY,
    },
)
STATE = st.fixed_dictionaries(
    {},
    optional={
        "root_version": st.integers(-1, 3) | ANY,
        "targets_version": st.integers(0, 5) | ANY,
        "backend_client_state": st.sampled_from(["", "eyJ9", "!!"])
        | st.lists(st.integers(-1, 300), max_size=3),
        "config_states": st.lists(
            st.dictionaries(st.text(max_size=5), ANY, max_size=3), max_size=2
        ),
    },
)
CLIENT = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["c", "rt", ""]) | st.uuids().map(str) | ANY,
        "state": STATE | ANY,
        "products": st.lists(st.sampled_from(["FFE_FLAGS", "ASM", "X"]), max_size=3) | ANY,
        "is_tracer": st.booleans() | ANY,
        "is_agent": st.booleans(),
        "is_updater": st.booleans(),
        "client_tracer": TRACER | ANY,
        "client_agent": st.just({}) | ANY,
        "capabilities": st.sampled_from(["QA==", "%%"]) | st.lists(st.integers(0, 255), max_size=3),
    },
)
REQUEST = st.fixed_dictionaries(
    {}, optional={"client": CLIENT | ANY, "cached_target_files": st.lists(CACHED, max_size=2) | ANY}
)
DOCUMENTS = (REQUEST | JSON).map(lambda doc: json.dumps(doc).encode())
DEEP = st.builds(
    lambda n, opener: opener * n, st.integers(900, 5000), st.sampled_from([b"[", b'{"client":'])
)
NOT_UTF8 = st.builds(
    lambda doc, bad, at: doc[: at % (len(doc) + 1)] + bad + doc[at % (len(doc) + 1) :],
    DOCUMENTS,
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"]),
    st.integers(0, 200),
)
BODIES = DOCUMENTS | DEEP | NOT_UTF8 | st.binary(max_size=64)


def test_any_body_gets_a_status_and_the_app_keeps_serving() -> None:
    loop = asyncio.new_event_loop()
    clock = SystemClock()
    app = create_app(
        Settings(refresh_spacing_s=0.0, max_body_bytes=4096), clock, FakeBackend(Catalogue(), clock)
    )
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://agent")
    seen: dict[int, int] = {}

    async def post(body: bytes, method: str) -> httpx.Response:
        return await client.request(method, "/v0.7/config", content=body)

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=BODIES, method=st.sampled_from(["POST", "GET"]))
    def check(body: bytes, method: str) -> None:
        answer = loop.run_until_complete(post(body, method))
        assert answer.status_code in (200, 400, 413, 500), answer.text
        if answer.status_code != 200:
            assert "error" in answer.json()
        else:
            json.loads(answer.content)
        seen[answer.status_code] = seen.get(answer.status_code, 0) + 1

    try:
        check()
        health = loop.run_until_complete(client.get("/health"))
        assert health.status_code == 200
        assert seen.get(400, 0) > 0 and seen.get(500, 0) > 0  # both error paths exercised
        metrics = loop.run_until_complete(client.get("/metrics")).text
        counts = {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("agent_rc_requests_total{")
        }
        internal = {k: v for k, v in counts.items() if 'outcome="error_internal"' in k and v}
        assert internal == {}, "every 500 is validateRequest's, none an internal error"
        assert any('outcome="error_invalid"' in k and v for k, v in counts.items())
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
