"""TUF signing, and the director metadata around ``targets.json``: root, snapshot, timestamp.

Every document is ``{"signed": ..., "signatures": [{"keyid": ..., "sig": ...}]}`` with a real
ed25519 signature (`cryptography`) over the canonical JSON of ``signed`` (`rc_protocol.cjson`),
made by a deterministic key (seed of 32 zero bytes) unless another is given; key ids are TUF key
ids (sha256 of the canonical public-key object). Clients in agent mode parse but do not verify
them (libdatadog); the agent verifies them with its director root (the model checks the
director targets' signatures only, `agent.store`).
The targets document itself is `rc_protocol.targets`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rc_protocol.cjson import canonical_json
from rc_protocol.errors import TargetsError

__all__ = [
    "DEFAULT_EXPIRES",
    "build_root",
    "build_snapshot",
    "build_timestamp",
    "default_signing_key",
    "expires_iso",
    "key_id",
    "sign",
    "verify_signatures",
]

#: The far-future expiry of the reference doc's example director targets.
DEFAULT_EXPIRES = datetime(2032, 10, 24, 15, 10, 45, tzinfo=UTC)


# ---------------------------------------------------------------------------- keys


def default_signing_key() -> Ed25519PrivateKey:
    """The project's deterministic ed25519 key: the seed is 32 zero bytes."""
    return Ed25519PrivateKey.from_private_bytes(bytes(32))


def _public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _key_object(key: Ed25519PrivateKey | Ed25519PublicKey) -> dict[str, Any]:
    return {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": _public_hex(key)}}


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """TUF key id: hex sha256 of the canonical JSON of the public key object."""
    return hashlib.sha256(canonical_json(_key_object(key))).hexdigest()


# ---------------------------------------------------------------------------- signatures


def sign(signed: Mapping[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The canonical JSON of ``{"signed": signed, "signatures": [one by key]}``."""
    signature = {"keyid": key_id(key), "sig": key.sign(canonical_json(signed)).hex()}
    return canonical_json({"signed": signed, "signatures": [signature]})


def verify_signatures(
    raw: bytes, keys: Iterable[Ed25519PublicKey] | None = None, *, threshold: int = 1
) -> bool:
    """True when at least `threshold` signatures of `raw` verify with `keys`.

    `keys` defaults to the public half of `default_signing_key`.
    """
    doc = json.loads(raw)
    message = canonical_json(doc["signed"])
    by_id = {key_id(k): k for k in (keys or [default_signing_key().public_key()])}
    good = set()
    for sig in doc.get("signatures", []):
        public = by_id.get(sig.get("keyid", ""))
        if public is None:
            continue
        try:
            public.verify(bytes.fromhex(sig.get("sig", "")), message)
        except (InvalidSignature, ValueError):
            continue
        good.add(sig["keyid"])
    return len(good) >= threshold


def expires_iso(expires: datetime | int | float) -> str:
    """``signed.expires`` of an aware datetime or unix seconds: ``YYYY-MM-DDTHH:MM:SSZ``."""
    moment = expires if isinstance(expires, datetime) else datetime.fromtimestamp(expires, UTC)
    if moment.tzinfo is None:
        raise TargetsError(f"expires {moment!r} must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------- roles


def build_snapshot(
    version: int,
    expires: datetime | int = DEFAULT_EXPIRES,
    *,
    targets_version: int | None = None,
    key: Ed25519PrivateKey | None = None,
) -> bytes:
    """A signed TUF ``snapshot.json`` naming ``targets.json`` at `targets_version` (default
    `version`: the real director moves snapshot and targets versions together)."""
    signed = {
        "_type": "snapshot",
        "expires": expires_iso(expires),
        "meta": {
            "targets.json": {"version": version if targets_version is None else targets_version}
        },
        "spec_version": "1.0",
        "version": version,
    }
    return sign(signed, key or default_signing_key())


def build_timestamp(
    version: int,
    expires: datetime | int = DEFAULT_EXPIRES,
    *,
    snapshot: bytes | None = None,
    snapshot_version: int | None = None,
    key: Ed25519PrivateKey | None = None,
) -> bytes:
    """A signed TUF ``timestamp.json`` naming ``snapshot.json`` (with its length and sha256
    when the `snapshot` bytes are given)."""
    meta: dict[str, Any] = {"version": version if snapshot_version is None else snapshot_version}
    if snapshot is not None:
        meta["length"] = len(snapshot)
        meta["hashes"] = {"sha256": hashlib.sha256(snapshot).hexdigest()}
    signed = {
        "_type": "timestamp",
        "expires": expires_iso(expires),
        "meta": {"snapshot.json": meta},
        "spec_version": "1.0",
        "version": version,
    }
    return sign(signed, key or default_signing_key())


def build_root(
    version: int = 1,
    *,
    expires: datetime | int = DEFAULT_EXPIRES,
    key: Ed25519PrivateKey | None = None,
) -> bytes:
    """A minimal signed director ``root.json``: one ed25519 key for every role, threshold 1."""
    signing_key = key or default_signing_key()
    kid = key_id(signing_key)
    role = {"keyids": [kid], "threshold": 1}
    signed = {
        "_type": "root",
        "consistent_snapshot": True,
        "expires": expires_iso(expires),
        "keys": {kid: _key_object(signing_key)},
        "roles": {"root": role, "snapshot": role, "targets": role, "timestamp": role},
        "spec_version": "1.0",
        "version": version,
    }
    return sign(signed, signing_key)
