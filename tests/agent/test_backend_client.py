"""HttpBackend (headers, status mapping, timeouts, decode errors) and the request builder."""

from __future__ import annotations

import httpx
import pytest

from agent.backend_client import (
    ClientMessages,
    HttpBackend,
    RequestState,
    build_latest_configs_request,
    client_to_pb,
)
from agent.errors import BackendError
from rc_protocol.proto import remoteconfig_pb2 as pb
from tests.agent.conftest import request


def backend_answering(handler: httpx.MockTransport) -> HttpBackend:
    return HttpBackend("http://backend:1/", "key-1", transport=handler)


async def test_posts_protobuf_with_api_key_and_decodes_the_answer() -> None:
    seen: list[httpx.Request] = []
    answer = pb.LatestConfigsResponse(target_files=[pb.File(path="p", raw=b"x")])

    def handle(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, content=answer.SerializeToString())

    backend = backend_answering(httpx.MockTransport(handle))
    got = await backend.latest_configs(pb.LatestConfigsRequest(hostname="h"))
    await backend.aclose()
    assert got.target_files[0].raw == b"x"
    (req,) = seen
    assert req.method == "POST" and str(req.url) == "http://backend:1/api/v0.1/configurations"
    assert req.headers["DD-Api-Key"] == "key-1"
    assert req.headers["Content-Type"] == "application/x-protobuf"
    assert pb.LatestConfigsRequest.FromString(req.content).hostname == "h"


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "unauthorized"), (429, "4XX status code: 429"), (404, "4XX"), (503, "non-200")],
)
async def test_non_200_is_an_error(status: int, message: str) -> None:
    backend = backend_answering(httpx.MockTransport(lambda r: httpx.Response(status)))
    with pytest.raises(BackendError, match=message):
        await backend.latest_configs(pb.LatestConfigsRequest())


async def test_timeout_transport_error_and_garbage_are_errors() -> None:
    def timeout(req: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=req)

    def refused(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    with pytest.raises(BackendError, match="timed out"):
        await backend_answering(httpx.MockTransport(timeout)).latest_configs(
            pb.LatestConfigsRequest()
        )
    with pytest.raises(BackendError, match="is the backend running"):
        await backend_answering(httpx.MockTransport(refused)).latest_configs(
            pb.LatestConfigsRequest()
        )
    garbage = httpx.MockTransport(lambda r: httpx.Response(200, content=b"\xff\xff\xff"))
    with pytest.raises(BackendError, match="decode"):
        await backend_answering(garbage).latest_configs(pb.LatestConfigsRequest())


def test_build_request_carries_state_and_full_clients() -> None:
    wire = request(3, ["FFE_FLAGS", "ASM"], backend_client_state=b"\x01\x02")
    assert wire.client is not None
    state = RequestState(
        hostname="h",
        agent_version="7.70.0",
        trace_agent_env="prod",
        org_uuid="org",
        config_snapshot_version=4,
        config_root_version=2,
        director_root_version=3,
        products={"FFE_FLAGS"},
        new_products={"ASM"},
        active_clients=[client_to_pb(wire.client, 1234)],
        backend_client_state=b"opaque",
        last_error="api: boom",
    )
    req = build_latest_configs_request(state)
    assert (req.hostname, req.agentVersion, req.trace_agent_env, req.org_uuid) == (
        "h", "7.70.0", "prod", "org",
    )  # fmt: skip
    assert (req.current_config_snapshot_version, req.current_config_root_version) == (4, 2)
    assert req.current_director_root_version == 3
    assert list(req.products) == ["FFE_FLAGS"] and list(req.new_products) == ["ASM"]
    assert req.backend_client_state == b"opaque"
    assert req.has_error and req.error == "api: boom"
    (client,) = req.active_clients
    assert client.id == "client-3" and client.last_seen == 1234
    assert client.state.backend_client_state == b"\x01\x02"
    assert client.client_tracer.runtime_id == "runtime-3" and client.is_tracer


async def test_org_uuid_is_a_get_of_org_data() -> None:
    seen: list[httpx.Request] = []

    def handle(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, content=pb.OrgDataResponse(uuid="u-1").SerializeToString())

    assert await backend_answering(httpx.MockTransport(handle)).org_uuid() == "u-1"
    assert seen[0].method == "GET" and seen[0].url.path == "/api/v0.1/org"
    assert seen[0].headers["DD-Api-Key"] == "key-1"
    failing = httpx.MockTransport(lambda r: httpx.Response(401))
    with pytest.raises(BackendError, match="unauthorized"):
        await backend_answering(failing).org_uuid()


def test_client_messages_convert_each_client_object_once_and_set_its_last_seen() -> None:
    a, b = request(1).client, request(2).client
    assert a is not None and b is not None
    messages = ClientMessages()
    seen = {"client-1": 100, "client-2": 200}
    first = messages.of([a, b], seen.__getitem__)
    assert first == [client_to_pb(a, 100), client_to_pb(b, 200)]
    seen["client-1"] = 150
    again = messages.of([a], seen.__getitem__)
    assert again[0] is first[0] and again[0].last_seen == 150  # kept, not rebuilt
    rebuilt = messages.of([b], seen.__getitem__)  # b was forgotten when it was not active
    assert rebuilt[0] is not first[1] and rebuilt == [client_to_pb(b, 200)]
