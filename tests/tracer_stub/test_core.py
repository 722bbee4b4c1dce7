"""The response applier and request builder of the sans-IO client core."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from rc_protocol.capabilities import decode_capabilities
from rc_protocol.targets import TargetMeta, build_signed_targets, file_meta
from rc_protocol.wire import ClientGetConfigsResponse, TargetFile, decode_request
from tracer_stub.client.core import (
    ApplyKind,
    ChangeKind,
    ClientCore,
    ClientIdentity,
    ConfigChange,
)

FFE = "datadog/2/FFE_FLAGS/flags-1/config"
APM = "datadog/2/APM_TRACING/apm-1/config"
IDENTITY = ClientIdentity(
    client_id="client-1",
    runtime_id="runtime-1",
    language="go",
    tracer_version="v2.5.0",
    service="svc-0",
    env="prod",
    app_version="1.0.0",
)


def response(
    version: int,
    files: Mapping[str, bytes],
    *,
    client_configs: list[str] | None = None,
    send: list[str] | None = None,
    metas: Mapping[str, TargetMeta] | None = None,
    refresh: int | None = None,
) -> bytes:
    """A /v0.7/config answer: targets for `files`, raw bytes for `send` (default: all)."""
    targets = dict(metas or {p: file_meta(raw, 1) for p, raw in files.items()})
    signed = build_signed_targets(
        targets, version=version, opaque_backend_state=b"state-" + str(version).encode(),
        agent_refresh_interval=refresh,
    )  # fmt: skip
    sent = list(files) if send is None else send
    return ClientGetConfigsResponse(
        targets=signed,
        target_files=[TargetFile(path=p, raw=files[p]) for p in sent],
        client_configs=list(files) if client_configs is None else client_configs,
    ).to_json_bytes()


class Recorder:
    def __init__(self, error: str | None = None) -> None:
        self.changes: list[ConfigChange] = []
        self.error = error

    def __call__(self, change: ConfigChange) -> str | None:
        self.changes.append(change)
        return self.error


def core(listener: Recorder | None = None) -> ClientCore:
    c = ClientCore(IDENTITY, ["APM_TRACING", "FFE_FLAGS"], [12, 46])
    if listener is not None:
        c.subscribe(listener)
    return c


def test_request_carries_identity_products_capabilities_and_state() -> None:
    c = core()
    c.apply_response(200, response(7, {FFE: b'{"a":1}'}))
    req = c.build_request()
    assert req.client is not None and req.client.state is not None
    assert req.client.id == "client-1"
    assert req.client.products == ["APM_TRACING", "FFE_FLAGS"]
    assert decode_capabilities(req.client.capabilities) == {12, 46}
    assert req.client.client_tracer is not None
    assert req.client.client_tracer.runtime_id == "runtime-1"
    assert req.client.client_tracer.service == "svc-0"
    state = req.client.state
    assert (state.root_version, state.targets_version) == (1, 7)
    assert state.backend_client_state == b"c3RhdGUtNw=="  # the base64 string's bytes
    assert [(s.id, s.product, s.apply_state) for s in state.config_states] == [
        ("flags-1", "FFE_FLAGS", 2)
    ]
    assert [f.path for f in req.cached_target_files] == [FFE]
    assert req.cached_target_files[0].hashes[0].algorithm == "sha256"


def test_empty_body_is_no_change() -> None:
    rec = Recorder()
    c = core(rec)
    result = c.apply_response(200, b"{}")
    assert result.kind is ApplyKind.NO_CHANGE and result.ok
    assert rec.changes == [] and c.targets_version == 0


def test_new_file_is_added_and_version_updated() -> None:
    rec = Recorder()
    c = core(rec)
    result = c.apply_response(200, response(3, {FFE: b"v1"}))
    assert result.kind is ApplyKind.UPDATED
    assert c.targets_version == 3
    assert [(ch.kind, ch.product, ch.raw) for ch in rec.changes] == [
        (ChangeKind.ADDED, "FFE_FLAGS", b"v1")
    ]


def test_hash_mismatch_is_rejected_and_version_kept() -> None:
    rec = Recorder()
    c = core(rec)
    bad = {FFE: TargetMeta(length=2, sha256="0" * 64, version=1)}
    result = c.apply_response(200, response(3, {FFE: b"v1"}, metas=bad))
    assert result.kind is ApplyKind.REJECTED and not result.ok
    assert "did not match" in result.error
    assert c.targets_version == 0 and FFE not in c.files
    assert rec.changes == []


def test_client_config_that_ends_up_not_stored_is_rejected() -> None:
    c = core(Recorder())
    # FFE is listed in client_configs and in targets but its raw file is not sent.
    result = c.apply_response(200, response(4, {FFE: b"v1"}, send=[]))
    assert result.kind is ApplyKind.REJECTED
    assert "isn't stored" in result.error
    assert c.targets_version == 0


def test_target_without_a_file_and_not_selected_is_skipped() -> None:
    c = core(Recorder())
    result = c.apply_response(
        200, response(4, {FFE: b"v1", APM: b"a"}, client_configs=[FFE], send=[FFE])
    )
    assert result.kind is ApplyKind.UPDATED
    assert list(c.files) == [FFE]


def test_unchanged_hash_is_skipped_and_stored_file_not_listed_is_removed() -> None:
    rec = Recorder()
    c = core(rec)
    c.apply_response(200, response(1, {FFE: b"v1", APM: b"a"}))
    rec.changes.clear()
    # Same FFE hash (file not resent: skipped), APM no longer listed: removed.
    result = c.apply_response(200, response(2, {FFE: b"v1"}, send=[]))
    assert result.kind is ApplyKind.UPDATED
    assert list(c.files) == [FFE]
    assert [(ch.kind, ch.path) for ch in rec.changes] == [(ChangeKind.REMOVED, APM)]
    assert c.targets_version == 2


def test_changed_file_is_updated() -> None:
    rec = Recorder()
    c = core(rec)
    c.apply_response(200, response(1, {FFE: b"v1"}))
    c.apply_response(200, response(2, {FFE: b"v2"}))
    assert [ch.kind for ch in rec.changes] == [ChangeKind.ADDED, ChangeKind.UPDATED]
    assert c.files[FFE].raw == b"v2"


def test_404_removes_every_config() -> None:
    rec = Recorder()
    c = core(rec)
    c.apply_response(200, response(1, {FFE: b"v1", APM: b"a"}))
    rec.changes.clear()
    result = c.apply_response(404, b"")
    assert result.kind is ApplyKind.INACTIVE and result.ok
    assert c.files == {}
    assert sorted((ch.kind, ch.path) for ch in rec.changes) == [
        (ChangeKind.REMOVED, APM),
        (ChangeKind.REMOVED, FFE),
    ]


@pytest.mark.parametrize("status", [500, 503, 429, 400])
def test_other_non_200_is_an_error(status: int) -> None:
    c = core()
    result = c.apply_response(status, b"boom")
    assert result.kind is ApplyKind.ERROR and not result.ok
    assert str(status) in result.error


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b'{"targets": 5}', b'{"targets": "!!notbase64"}', b'{"targets": "e30="}'],
)
def test_malformed_200_bodies_are_rejected(body: bytes) -> None:
    c = core()
    result = c.apply_response(200, body)
    assert result.kind is ApplyKind.REJECTED and result.error


def test_non_integer_custom_v_is_rejected() -> None:
    signed = json.loads(
        build_signed_targets({FFE: file_meta(b"v1", 1)}, version=1, opaque_backend_state=b"")
    )
    signed["signed"]["targets"][FFE]["custom"]["v"] = "1"
    raw = json.dumps(signed).encode()
    body = ClientGetConfigsResponse(
        targets=raw, target_files=[TargetFile(path=FFE, raw=b"v1")], client_configs=[FFE]
    ).to_json_bytes()
    result = core().apply_response(200, body)
    assert result.kind is ApplyKind.REJECTED and "custom.v" in result.error


def test_refresh_interval_is_reported_in_seconds() -> None:
    result = core().apply_response(200, response(1, {FFE: b"v1"}, refresh=30))
    assert result.server_refresh_interval_s == 30.0


def test_listener_error_marks_the_config_state_as_error() -> None:
    c = core(Recorder(error="bad UFC"))
    c.apply_response(200, response(1, {FFE: b"v1"}))
    state = c.build_request().client.state  # type: ignore[union-attr]
    assert state is not None
    assert [(s.apply_state, s.apply_error) for s in state.config_states] == [(3, "bad UFC")]


def test_errors_are_not_reported_by_default_and_reported_once_when_enabled() -> None:
    quiet = core()
    quiet.apply_response(500, b"")
    assert quiet.build_request().client.state.has_error is False  # type: ignore[union-attr]
    loud = ClientCore(IDENTITY, ["FFE_FLAGS"], [46], report_errors=True)
    loud.apply_response(500, b"")
    first = loud.build_request().client.state  # type: ignore[union-attr]
    assert first is not None and first.has_error and "500" in first.error
    assert loud.build_request().client.state.has_error is False  # type: ignore[union-attr]


def test_encoded_request_reports_an_error_once_then_resends_the_clean_body() -> None:
    # The driver sends `encoded_request`: its cache must not keep the error-carrying body.
    loud = ClientCore(IDENTITY, ["FFE_FLAGS"], [46], report_errors=True)
    clean = loud.encoded_request("array")
    loud.apply_response(500, b"boom")
    states = [json.loads(loud.encoded_request("array"))["client"]["state"] for _ in range(3)]
    assert [s["has_error"] for s in states] == [True, False, False]
    assert "500" in states[0]["error"] and states[1]["error"] == ""
    assert loud.encoded_request("array") is clean  # the state did not change: cached bytes


def test_request_round_trips_through_the_agent_decoder_in_both_encodings() -> None:
    from rc_protocol.wire import encode_request

    c = core()
    c.apply_response(200, response(5, {FFE: b"v1"}))
    for bytes_as in ("array", "base64"):
        body = encode_request(c.build_request(), bytes_as=bytes_as)
        decoded = decode_request(body)
        assert decoded.client is not None
        assert decode_capabilities(decoded.client.capabilities) == {12, 46}
    assert b'"capabilities":[64,0,0,0,16,0]' in encode_request(c.build_request(), bytes_as="array")


def test_encoded_request_is_reused_until_the_state_changes() -> None:
    c = core()
    first = c.encoded_request("array")
    assert c.encoded_request("array") is first
    c.apply_response(200, b"{}")
    assert c.encoded_request("array") is first  # no change: same bytes
    assert c.encoded_request("base64") != first
    c.apply_response(200, response(9, {FFE: b"v1"}))
    after = c.encoded_request("array")
    assert after != first and b'"targets_version":9' in after
    c.set_products(["FFE_FLAGS"], [46])
    assert b'"products":["FFE_FLAGS"]' in c.encoded_request("array")
