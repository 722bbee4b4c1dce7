"""/v0.7/config wire models."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rc_protocol.capabilities import encode_capabilities
from rc_protocol.errors import WireDecodeError, WireError, WireValidationError
from rc_protocol.wire import (
    ClientGetConfigsRequest,
    ClientGetConfigsResponse,
    ConfigState,
    TargetFile,
    TargetFileHash,
    TargetFileMeta,
    decode_request,
    decode_response,
    encode_request,
    tracer_request,
)

CAPS = encode_capabilities([46])


def body(**client: Any) -> dict[str, Any]:
    """The reference request of tracer-rc-clients.md, with client fields overridden."""
    base: dict[str, Any] = {
        "state": {
            "root_version": 1,
            "targets_version": 0,
            "config_states": [],
            "has_error": False,
            "error": "",
            "backend_client_state": "",
        },
        "id": "client-uuid",
        "products": ["APM_TRACING", "FFE_FLAGS"],
        "is_tracer": True,
        "client_tracer": {
            "runtime_id": "runtime-uuid",
            "language": "python",
            "tracer_version": "4.16.0",
            "service": "svc",
            "env": "prod",
            "app_version": "1.0",
            "tags": [],
            "extra_services": [],
            "process_tags": [],
            "container_tags": [],
        },
        "capabilities": base64.b64encode(CAPS).decode(),
    }
    base.update(client)
    return {
        "client": base,
        "cached_target_files": [
            {
                "path": "datadog/2/FFE_FLAGS/flags-1/config",
                "length": 211,
                "hashes": [{"algorithm": "sha256", "hash": "ab" * 32}],
            }
        ],
    }


def dumps(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_decode_reference_request() -> None:
    req = decode_request(dumps(body()))
    assert req.client is not None
    assert req.client.id == "client-uuid"
    assert req.client.products == ["APM_TRACING", "FFE_FLAGS"]
    assert req.client.capabilities == CAPS
    assert req.client.state is not None and req.client.state.root_version == 1
    assert req.client.client_tracer is not None
    assert req.client.client_tracer.language == "python"
    assert req.cached_target_files[0].hashes[0].algorithm == "sha256"


def test_bytes_as_int_array_like_libdatadog() -> None:
    req = decode_request(
        dumps(body(capabilities=list(CAPS), state={"root_version": 1, "backend_client_state": [7]}))
    )
    assert req.client is not None and req.client.state is not None
    assert req.client.capabilities == CAPS
    assert req.client.state.backend_client_state == b"\x07"


def test_unknown_keys_ignored_and_null_is_zero_value() -> None:
    raw = body(future_field={"x": 1}, error=None, client_tracer=None)
    raw["also_unknown"] = [1, 2]
    req = decode_request(dumps(raw))
    assert req.client is not None
    assert req.client.client_tracer is None
    assert decode_request(b"null") == ClientGetConfigsRequest()
    assert decode_request(b"{}") == ClientGetConfigsRequest()


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe", b"[]", b"1", b'"x"', b"true"])
def test_undecodable_or_non_object_is_decode_error(raw: bytes) -> None:
    with pytest.raises(WireDecodeError):
        decode_request(raw)


@pytest.mark.parametrize(
    ("client", "field"),
    [
        ({"state": {"root_version": "1"}}, "client.state.root_version"),
        ({"state": {"root_version": 1.0}}, "client.state.root_version"),
        ({"state": {"root_version": -1}}, "client.state.root_version"),
        ({"state": {"targets_version": 2**64}}, "client.state.targets_version"),
        ({"is_tracer": 1}, "client.is_tracer"),
        ({"products": ["FFE_FLAGS", 3]}, "client.products[1]"),
        ({"capabilities": "***"}, "client.capabilities"),
        ({"capabilities": [1, 256]}, "client.capabilities"),
        ({"capabilities": [1.0]}, "client.capabilities"),
        ({"capabilities": [True]}, "client.capabilities"),
        ({"capabilities": 5}, "client.capabilities"),
        ({"client_tracer": "python"}, "client.client_tracer"),
        ({"state": {"config_states": [{"version": "x"}]}}, "client.state.config_states[0].version"),
    ],
)
def test_wrong_types_name_the_field(client: dict[str, Any], field: str) -> None:
    with pytest.raises(WireValidationError) as info:
        decode_request(dumps(body(**client)))
    assert f"{field}:" in str(info.value)
    assert isinstance(info.value, WireError)


def test_cached_file_length_is_int64() -> None:
    raw = body()
    raw["cached_target_files"][0]["length"] = -5
    req = decode_request(dumps(raw))
    assert req.cached_target_files[0].length == -5
    raw["cached_target_files"][0]["length"] = "211"
    with pytest.raises(WireValidationError, match=r"cached_target_files\[0\]\.length"):
        decode_request(dumps(raw))


@pytest.mark.parametrize("bytes_as", ["base64", "array"])
def test_encode_round_trip_both_encodings(bytes_as: str) -> None:
    req = tracer_request(
        client_id="c",
        runtime_id="r",
        products=["FFE_FLAGS"],
        capabilities=CAPS,
        backend_client_state=b"\x00\x01",
        config_states=[ConfigState(id="flags-1", version=3, product="FFE_FLAGS", apply_state=2)],
        cached_target_files=[
            TargetFileMeta(
                path="datadog/2/FFE_FLAGS/flags-1/config",
                length=10,
                hashes=[TargetFileHash(algorithm="sha256", hash="00")],
            )
        ],
    )
    raw = encode_request(req, bytes_as=bytes_as)  # type: ignore[arg-type]
    obj = json.loads(raw)
    caps = obj["client"]["capabilities"]
    if bytes_as == "array":
        assert caps == [0x40, 0, 0, 0, 0, 0]
    else:
        assert caps == "QAAAAAAA"
    assert decode_request(raw) == req
    assert obj["client"]["is_tracer"] is True
    assert "client_agent" not in obj["client"]


def test_empty_response_is_braces() -> None:
    resp = ClientGetConfigsResponse()
    assert resp.is_empty
    assert resp.to_json_bytes() == b"{}"


def test_response_omits_empty_fields_in_proto_order() -> None:
    resp = ClientGetConfigsResponse(
        targets=b"{}",
        target_files=[TargetFile(path="datadog/2/FFE_FLAGS/f/config", raw=b"abc")],
        client_configs=["datadog/2/FFE_FLAGS/f/config"],
    )
    raw = resp.to_json_bytes()
    assert raw == (
        b'{"targets":"e30=","target_files":[{"path":"datadog/2/FFE_FLAGS/f/config","raw":"YWJj"}],'
        b'"client_configs":["datadog/2/FFE_FLAGS/f/config"]}'
    )
    full = ClientGetConfigsResponse(roots=[b"r1", b"r2"], targets=b"t", config_status=1)
    assert json.loads(full.to_json_bytes()) == {
        "roots": ["cjE=", "cjI="],
        "targets": "dA==",
        "config_status": 1,
    }
    assert not full.is_empty


def test_decode_response_round_trip_and_short_body() -> None:
    resp = ClientGetConfigsResponse(
        roots=[b"root"],
        targets=b"targets",
        target_files=[TargetFile(path="p", raw=b"\x00\xff")],
        client_configs=["p"],
    )
    assert decode_response(resp.to_json_bytes()) == resp
    assert decode_response(b"{}").is_empty
    assert decode_response(b"").is_empty
    with pytest.raises(WireError):
        decode_response(b'{"targets": 5}')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

field_names = st.sampled_from(
    [
        "client",
        "state",
        "root_version",
        "targets_version",
        "products",
        "capabilities",
        "is_tracer",
        "client_tracer",
        "id",
        "cached_target_files",
        "path",
        "length",
        "hashes",
        "config_states",
        "backend_client_state",
        "language",
        "tags",
    ]
)

shaped = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.lists(st.integers(min_value=-1, max_value=300), max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(field_names, children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=300)
@given(json_values | shaped)
def test_any_json_decodes_or_raises_a_wire_error(value: object) -> None:
    raw = json.dumps(value).encode()
    try:
        req = decode_request(raw)
    except WireError:
        return
    assert isinstance(req, ClientGetConfigsRequest)


@given(st.binary(max_size=64))
def test_any_bytes_decodes_or_raises_a_wire_error(raw: bytes) -> None:
    try:
        req = decode_request(raw)
    except WireError:
        return
    assert isinstance(req, ClientGetConfigsRequest)
