"""TUF director metadata: signed ``targets.json`` and a minimal ``root.json``.

What the backend sends and the agent forwards to tracers (base64 in ``targets``) is a signed
TUF targets document (datadog-agent `pkg/config/remote/service`, go-tuf)::

    {"signed": {"_type": "targets", "spec_version": "1.0", "version": 1700000000,
      "expires": "2032-10-24T15:10:45Z",
      "custom": {"opaque_backend_state": "<base64>", "agent_refresh_interval": 5},
      "targets": {"datadog/2/FFE_FLAGS/flags-1/config":
         {"custom": {"v": 3}, "hashes": {"sha256": "<hex>"}, "length": 211}}},
     "signatures": [{"keyid": "<hex>", "sig": "<hex>"}]}

`parse_signed_targets` is as strict as libdatadog (`libdd-remote-config` `targets.rs`
``TargetsList``): ``signatures``, ``_type``, ``expires`` (ISO 8601), ``spec_version``,
``version``, ``custom.opaque_backend_state``, every target's ``custom``, ``hashes`` and
``length`` are required, and ``custom.v`` must be an integer.

Signing, canonical JSON and the other director documents (root, snapshot, timestamp) are
`rc_protocol.tuf` and `rc_protocol.cjson`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rc_protocol.errors import TargetsError
from rc_protocol.tuf import DEFAULT_EXPIRES, default_signing_key, expires_iso, sign

__all__ = [
    "SignedTargets",
    "TargetMeta",
    "TargetsError",
    "build_signed_targets",
    "file_meta",
    "parse_signed_targets",
]

_UINT32_MAX = 2**32 - 1


# ---------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetMeta:
    """One entry of ``signed.targets``.

    Args:
        length: file size in bytes.
        sha256: lower-case hex sha256 of the file.
        version: ``custom.v``, the config's version.
        expires: ``custom.expires``, unix seconds; 0 = never (datadog-agent `service.go`
            skips expired targets when building a tracer's response).
        tracer_predicates: ``custom["tracer-predicates"]["tracer_predicates_v1"]``: a list of
            predicate objects (keys ``clientID``, ``runtimeID``, ``service``, ``environment``,
            ``language``, ``appVersion``, ``tracerVersion``), or ``None`` to match every tracer.
    """

    length: int
    sha256: str
    version: int
    expires: int = 0
    tracer_predicates: Sequence[Mapping[str, str]] | None = field(default=None, hash=False)

    def to_json(self) -> dict[str, Any]:
        """The target entry as it appears in ``signed.targets``."""
        custom: dict[str, Any] = {"v": self.version}
        if self.expires:
            custom["expires"] = self.expires
        if self.tracer_predicates is not None:
            custom["tracer-predicates"] = {
                "tracer_predicates_v1": [dict(p) for p in self.tracer_predicates]
            }
        return {"custom": custom, "hashes": {"sha256": self.sha256}, "length": self.length}

    def matches(self, raw: bytes) -> bool:
        """True when `raw` has this length and sha256."""
        return len(raw) == self.length and hashlib.sha256(raw).hexdigest() == self.sha256


def file_meta(
    raw: bytes,
    version: int,
    *,
    expires: int = 0,
    tracer_predicates: Sequence[Mapping[str, str]] | None = None,
) -> TargetMeta:
    """The `TargetMeta` of a file's bytes."""
    return TargetMeta(
        length=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        version=version,
        expires=expires,
        tracer_predicates=tracer_predicates,
    )


def build_signed_targets(
    targets: Mapping[str, TargetMeta],
    *,
    version: int,
    expires: datetime | int = DEFAULT_EXPIRES,
    opaque_backend_state: bytes | str | None = None,
    agent_refresh_interval: int | None = None,
    custom: Mapping[str, Any] | None = None,
    spec_version: str = "1.0",
    key: Ed25519PrivateKey | None = None,
) -> bytes:
    """Build the raw signed director ``targets.json`` (canonical JSON bytes).

    Args:
        targets: config path -> `TargetMeta`.
        version: the director targets version (the real backend uses epoch seconds).
        expires: ``signed.expires``, as an aware datetime or unix seconds.
        opaque_backend_state: ``signed.custom.opaque_backend_state``, echoed back by the agent
            in ``backend_client_state``: raw bytes (base64-encoded here) or an already-base64
            string. Always present (empty by default), since libdatadog requires the key.
        agent_refresh_interval: ``signed.custom.agent_refresh_interval`` in seconds, or omitted.
        custom: further ``signed.custom`` keys (the two arguments above take precedence).
        key: signing key; `default_signing_key` when ``None``.
    """
    signed_custom: dict[str, Any] = dict(custom or {})
    if isinstance(opaque_backend_state, bytes):
        signed_custom["opaque_backend_state"] = base64.b64encode(opaque_backend_state).decode()
    elif isinstance(opaque_backend_state, str):
        signed_custom["opaque_backend_state"] = opaque_backend_state
    signed_custom.setdefault("opaque_backend_state", "")
    if agent_refresh_interval is not None:
        signed_custom["agent_refresh_interval"] = agent_refresh_interval
    signed = {
        "_type": "targets",
        "custom": signed_custom,
        "expires": expires_iso(expires),
        "spec_version": spec_version,
        "targets": {path: meta.to_json() for path, meta in targets.items()},
        "version": version,
    }
    return sign(signed, key or default_signing_key())


# ---------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class SignedTargets:
    """A parsed signed targets document. `raw` is the exact bytes that were parsed."""

    version: int
    expires: datetime
    spec_version: str
    opaque_backend_state: str
    agent_refresh_interval: int | None
    targets: Mapping[str, TargetMeta]
    signatures: tuple[tuple[str, str], ...]
    raw: bytes = field(repr=False)

    @property
    def opaque_backend_state_bytes(self) -> bytes:
        """``custom.opaque_backend_state`` decoded from base64 (what the agent echoes back)."""
        try:
            return base64.b64decode(self.opaque_backend_state, validate=True)
        except ValueError as exc:
            raise TargetsError(f"custom.opaque_backend_state is not base64: {exc}") from None

    def expired(self, now_wall: float) -> bool:
        """True when ``signed.expires`` is at or before `now_wall` (unix seconds)."""
        return self.expires.timestamp() <= now_wall


def _require(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise TargetsError(f"targets.json: {where}{key} is missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise TargetsError(
            f"targets.json: {where}{key} must be {names}, got {type(value).__name__} {value!r}"
        )
    return value


def _int(obj: Mapping[str, Any], key: str, where: str, lo: int, hi: int) -> int:
    value = _require(obj, key, int, where)  # rejects bools already
    if not lo <= value <= hi:
        raise TargetsError(f"targets.json: {where}{key} = {value!r} is out of range {lo}..{hi}")
    return int(value)


def _parse_target(path: str, entry: object) -> TargetMeta:
    where = f"signed.targets[{path!r}]."
    if not isinstance(entry, dict):
        raise TargetsError(f"targets.json: {where[:-1]} must be an object")
    custom = _require(entry, "custom", dict, where)
    hashes = _require(entry, "hashes", dict, where)
    for algorithm, digest in hashes.items():
        if not isinstance(digest, str):
            raise TargetsError(f"targets.json: {where}hashes.{algorithm} must be a string")
    length = _int(entry, "length", where, 0, _UINT32_MAX)
    version = _int(custom, "v", where + "custom.", 0, 2**64 - 1)
    expires = 0
    if custom.get("expires") is not None:
        expires = _int(custom, "expires", where + "custom.", 0, 2**63 - 1)
    predicates: list[dict[str, str]] | None = None
    tp = custom.get("tracer-predicates")
    if isinstance(tp, dict) and tp.get("tracer_predicates_v1") is not None:
        raw_predicates = tp["tracer_predicates_v1"]
        if not isinstance(raw_predicates, list) or not all(
            isinstance(p, dict) for p in raw_predicates
        ):
            raise TargetsError(
                f"targets.json: {where}custom.tracer-predicates.tracer_predicates_v1 "
                "must be a list of objects"
            )
        predicates = raw_predicates
    return TargetMeta(
        length=length,
        sha256=str(hashes.get("sha256", "")),
        version=version,
        expires=expires,
        tracer_predicates=predicates,
    )


def parse_signed_targets(raw: bytes | str) -> SignedTargets:
    """Parse a signed targets document as strictly as libdatadog does.

    Raises:
        TargetsError: naming the first missing or malformed field.
    """
    return _parse_signed_targets(raw.encode() if isinstance(raw, str) else bytes(raw))


@functools.lru_cache(maxsize=256)
def _parse_signed_targets(data: bytes) -> SignedTargets:
    # Cached by the exact bytes: a fleet of clients parses the same few documents over and
    # over (a hundred thousand in ``harness simulate``), and the result is never mutated.
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise TargetsError(f"targets.json is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise TargetsError("targets.json must be a JSON object")
    signatures = _require(doc, "signatures", list, "")
    sigs: list[tuple[str, str]] = []
    for i, sig in enumerate(signatures):
        if not isinstance(sig, dict):
            raise TargetsError(f"targets.json: signatures[{i}] must be an object")
        sigs.append(
            (
                _require(sig, "keyid", str, f"signatures[{i}]."),
                _require(sig, "sig", str, f"signatures[{i}]."),
            )
        )
    signed = _require(doc, "signed", dict, "")
    _require(signed, "_type", str, "signed.")
    spec_version = _require(signed, "spec_version", str, "signed.")
    expires_text = _require(signed, "expires", str, "signed.")
    try:
        expires = datetime.fromisoformat(expires_text)
    except ValueError:
        raise TargetsError(
            f"targets.json: signed.expires {expires_text!r} is not an ISO 8601 date-time"
        ) from None
    if expires.tzinfo is None:
        raise TargetsError(f"targets.json: signed.expires {expires_text!r} has no UTC offset")
    version = _int(signed, "version", "signed.", -(2**63), 2**63 - 1)
    custom = _require(signed, "custom", dict, "signed.")
    opaque = _require(custom, "opaque_backend_state", str, "signed.custom.")
    refresh: int | None = None
    if custom.get("agent_refresh_interval") is not None:
        refresh = _int(custom, "agent_refresh_interval", "signed.custom.", 0, 2**64 - 1)
    targets_obj = _require(signed, "targets", dict, "signed.")
    targets = {path: _parse_target(path, entry) for path, entry in targets_obj.items()}
    return SignedTargets(
        version=version,
        expires=expires,
        spec_version=spec_version,
        opaque_backend_state=opaque,
        agent_refresh_interval=refresh,
        targets=targets,
        signatures=tuple(sigs),
        raw=data,
    )
