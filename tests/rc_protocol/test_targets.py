"""Signed director targets: built, then parsed as strictly as libdatadog."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from rc_protocol.cjson import canonical_json
from rc_protocol.errors import ProtocolError, TargetsError
from rc_protocol.targets import TargetMeta, build_signed_targets, file_meta, parse_signed_targets
from rc_protocol.tuf import DEFAULT_EXPIRES, default_signing_key, key_id

PATH = "datadog/2/FFE_FLAGS/flags-1/config"
UFC = b'{"flags":{}}'


def build(**kw: Any) -> bytes:
    args: dict[str, Any] = {
        "opaque_backend_state": b'{"file_hashes":["x"]}',
        "expires": DEFAULT_EXPIRES,
        "agent_refresh_interval": 5,
    }
    args.update(kw)
    return build_signed_targets({PATH: file_meta(UFC, 3)}, version=1_700_000_000, **args)


def test_file_meta() -> None:
    meta = file_meta(b"abc", 7)
    assert meta == TargetMeta(
        length=3,
        sha256="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        version=7,
    )
    assert meta.matches(b"abc")
    assert not meta.matches(b"abd")


def test_build_matches_reference_shape() -> None:
    raw = build()
    doc = json.loads(raw)
    assert raw == canonical_json(doc)
    signed = doc["signed"]
    assert signed["_type"] == "targets"
    assert signed["spec_version"] == "1.0"
    assert signed["version"] == 1_700_000_000
    assert signed["expires"] == "2032-10-24T15:10:45Z"
    assert signed["custom"]["agent_refresh_interval"] == 5
    assert base64.b64decode(signed["custom"]["opaque_backend_state"]) == b'{"file_hashes":["x"]}'
    assert signed["targets"][PATH] == {
        "custom": {"v": 3},
        "hashes": {"sha256": file_meta(UFC, 3).sha256},
        "length": len(UFC),
    }
    assert len(doc["signatures"]) == 1
    assert doc["signatures"][0]["keyid"] == key_id(default_signing_key())


def test_refresh_interval_omitted_when_none() -> None:
    doc = json.loads(build(agent_refresh_interval=None))
    assert "agent_refresh_interval" not in doc["signed"]["custom"]
    assert parse_signed_targets(build(agent_refresh_interval=None)).agent_refresh_interval is None


def test_round_trip_with_expires_and_predicates() -> None:
    predicates = [{"service": "svc", "language": "python", "tracerVersion": ">=4.0.0"}]
    meta = file_meta(UFC, 4, expires=1_800_000_000, tracer_predicates=predicates)
    raw = build_signed_targets(
        {PATH: meta, "datadog/2/APM_TRACING/a/config": file_meta(b"{}", 1)},
        version=42,
        opaque_backend_state=b"state",
        expires=datetime(2030, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    )
    doc = json.loads(raw)
    custom = doc["signed"]["targets"][PATH]["custom"]
    assert custom["expires"] == 1_800_000_000
    assert custom["tracer-predicates"] == {"tracer_predicates_v1": predicates}
    parsed = parse_signed_targets(raw)
    assert parsed.version == 42
    assert parsed.expires == datetime(2030, 1, 1, tzinfo=UTC)
    assert doc["signed"]["expires"] == "2030-01-01T00:00:00Z"
    assert parsed.targets[PATH] == meta
    assert parsed.targets[PATH].tracer_predicates == predicates
    assert parsed.opaque_backend_state_bytes == b"state"
    assert parsed.raw == raw
    assert not parsed.expired(datetime(2029, 1, 1, tzinfo=UTC).timestamp())
    assert parsed.expired(datetime(2030, 1, 1, tzinfo=UTC).timestamp())


def test_naive_expires_rejected() -> None:
    with pytest.raises(TargetsError, match="timezone-aware"):
        build(expires=datetime(2030, 1, 1))


def _mutated(edit: Any) -> bytes:
    doc = json.loads(build())
    doc = copy.deepcopy(doc)
    edit(doc)
    return json.dumps(doc).encode()


def _del(*keys: str) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        obj = doc
        for k in keys[:-1]:
            obj = obj[k]
        del obj[keys[-1]]

    return edit


def _set(value: object, *keys: str) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        obj = doc
        for k in keys[:-1]:
            obj = obj[k]
        obj[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_del("signatures"), "signatures is missing"),
        (_set("x", "signatures"), "signatures must be list"),
        (_set([{"keyid": "k"}], "signatures"), r"signatures\[0\]\.sig is missing"),
        (_del("signed"), "signed is missing"),
        (_del("signed", "_type"), "signed._type is missing"),
        (_del("signed", "expires"), "signed.expires is missing"),
        (_set("tomorrow", "signed", "expires"), "not an ISO 8601"),
        (_del("signed", "spec_version"), "signed.spec_version is missing"),
        (_del("signed", "version"), "signed.version is missing"),
        (_set("1", "signed", "version"), "signed.version must be int"),
        (_del("signed", "custom"), "signed.custom is missing"),
        (_del("signed", "custom", "opaque_backend_state"), "opaque_backend_state is missing"),
        (_set(-1, "signed", "custom", "agent_refresh_interval"), "out of range"),
        (_del("signed", "targets"), "signed.targets is missing"),
        (_del("signed", "targets", PATH, "length"), "length is missing"),
        (_set(-1, "signed", "targets", PATH, "length"), "length = -1 is out of range"),
        (_del("signed", "targets", PATH, "hashes"), "hashes is missing"),
        (_del("signed", "targets", PATH, "custom"), "custom is missing"),
        (_del("signed", "targets", PATH, "custom", "v"), "custom.v is missing"),
        (_set("3", "signed", "targets", PATH, "custom", "v"), "custom.v must be int"),
        (_set(3.0, "signed", "targets", PATH, "custom", "v"), "custom.v must be int"),
        (_set(True, "signed", "targets", PATH, "custom", "v"), "custom.v"),
    ],
)
def test_strict_parse_rejects(edit: Any, message: str) -> None:
    with pytest.raises(TargetsError, match=message) as info:
        parse_signed_targets(_mutated(edit))
    assert isinstance(info.value, ProtocolError)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"null"])
def test_parse_rejects_non_objects(raw: bytes) -> None:
    with pytest.raises(TargetsError):
        parse_signed_targets(raw)


def test_custom_and_opaque_state_forms() -> None:
    raw = build_signed_targets(
        {},
        version=7,
        expires=1_900_000_000,
        custom={"opaque_backend_state": "c3RhdGU=", "extra": 1},
    )
    parsed = parse_signed_targets(raw)
    assert parsed.opaque_backend_state_bytes == b"state"
    assert json.loads(raw)["signed"]["custom"]["extra"] == 1
    assert parsed.expires == datetime.fromtimestamp(1_900_000_000, UTC)
    # opaque_backend_state is always present (libdatadog requires it), empty by default
    bare = parse_signed_targets(build_signed_targets({}, version=1))
    assert bare.opaque_backend_state == ""
    assert bare.targets == {}
    # the explicit argument wins over `custom`
    both = build_signed_targets(
        {}, version=1, opaque_backend_state=b"x", custom={"opaque_backend_state": "eQ=="}
    )
    assert parse_signed_targets(both).opaque_backend_state_bytes == b"x"
