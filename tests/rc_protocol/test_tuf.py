"""TUF signatures, and the root, snapshot and timestamp documents."""

from __future__ import annotations

import hashlib
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rc_protocol.cjson import canonical_json
from rc_protocol.tuf import (
    build_root,
    build_snapshot,
    build_timestamp,
    default_signing_key,
    key_id,
    verify_signatures,
)


def test_signature_is_real_ed25519_and_deterministic() -> None:
    raw = build_snapshot(5)
    assert raw == build_snapshot(5)  # deterministic key and canonical form
    assert verify_signatures(raw)
    other = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32)
    assert not verify_signatures(raw, [other.public_key()])
    tampered = json.loads(raw)
    tampered["signed"]["version"] += 1
    assert not verify_signatures(canonical_json(tampered))
    assert verify_signatures(build_snapshot(5, key=other), [other.public_key()])


def test_build_root() -> None:
    raw = build_root(2)
    doc = json.loads(raw)
    signed = doc["signed"]
    kid = key_id(default_signing_key())
    assert signed["_type"] == "root"
    assert signed["version"] == 2
    assert signed["keys"][kid]["keytype"] == "ed25519"
    assert signed["roles"]["targets"] == {"keyids": [kid], "threshold": 1}
    assert set(signed["roles"]) == {"root", "snapshot", "targets", "timestamp"}
    assert verify_signatures(raw)


def test_snapshot_and_timestamp() -> None:
    snapshot = build_snapshot(5, 1_900_000_000)
    doc = json.loads(snapshot)
    assert doc["signed"]["_type"] == "snapshot"
    assert doc["signed"]["meta"] == {"targets.json": {"version": 5}}
    assert doc["signed"]["expires"] == "2030-03-17T17:46:40Z"
    assert verify_signatures(snapshot)
    assert json.loads(build_snapshot(5, targets_version=9))["signed"]["meta"] == {
        "targets.json": {"version": 9}
    }
    timestamp = json.loads(build_timestamp(5, snapshot=snapshot))
    meta = timestamp["signed"]["meta"]["snapshot.json"]
    assert timestamp["signed"]["_type"] == "timestamp"
    assert meta["version"] == 5
    assert meta["length"] == len(snapshot)
    assert meta["hashes"]["sha256"] == hashlib.sha256(snapshot).hexdigest()
    assert json.loads(build_timestamp(3))["signed"]["meta"] == {"snapshot.json": {"version": 3}}
