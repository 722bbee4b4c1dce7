"""The agent's local TUF-ish state (the uptane client of ``pkg/config/remote/uptane``, reduced).

Holds what ``ClientGetConfigs`` serves from: the director targets (raw signed bytes as received,
and parsed with ``rc_protocol.targets.parse_signed_targets``), the target files by path, the
director roots by version, the director timestamp's expiry, the config-repo versions, and the
backend's opaque state and recommended refresh interval (``targets.signed.custom``).

``apply(response)`` mirrors ``Update`` + verification: the update is checked as a whole and
applied atomically, or rejected with :class:`~agent.errors.StoreError` (which ``refresh()``
counts as an error, ``lastUpdateErr = "tuf: ..."``):

- a new director targets document must parse, its signatures must verify against the targets
  role of the current director root (the embedded root's key before any root update; go-tuf
  does this in the real uptane client), and its version must not go backwards;
- every target it lists must have its file, either in this response or already stored with the
  same length and sha256 (``target file ... not found``);
- every file must match its target's ``length`` and ``sha256``.

Not modelled: signature checks of the other director roles (root, snapshot, timestamp), the
config repository's own metadata (only its versions are tracked and echoed), consistent
snapshots.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.errors import StoreError
from rc_protocol.errors import TargetsError
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.targets import SignedTargets, TargetMeta, parse_signed_targets
from rc_protocol.tuf import default_signing_key, verify_signatures


@dataclass(frozen=True)
class TufVersions:
    """``TUFVersionState``: what the agent reports as its current versions."""

    director_root: int
    director_targets: int
    config_root: int
    config_snapshot: int


def _signed_field(raw: bytes, key: str, what: str) -> Any:
    try:
        doc = json.loads(raw)
        return doc["signed"][key]
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{what}: cannot read signed.{key}: {exc!r}") from exc


def _signed_version(raw: bytes, what: str) -> int:
    """``signed.version`` of a TUF document; a non-integer one rejects the update."""
    version = _signed_field(raw, "version", what)
    if isinstance(version, bool) or not isinstance(version, int):
        raise StoreError(f"{what}: signed.version must be an integer, got {version!r}")
    return version


class Store:
    """Director targets, files and roots held by the agent."""

    def __init__(self) -> None:
        self.targets: SignedTargets | None = None
        self.files: dict[str, bytes] = {}
        self.director_roots: dict[int, bytes] = {}
        self.director_root_version = 1  # the embedded root
        self.config_root_version = 1
        self.config_snapshot_version = 0
        self.timestamp_expires: float | None = None
        self.org_uuid = ""
        self.generation = 0
        """Moves on every applied update: what a cached response to a tracer depends on."""
        self.per_client = False
        """True when a target has tracer predicates or an expiry: the files a tracer gets then
        depend on who it is or on the time, not only on its products and cached files."""

    # ---- read side -------------------------------------------------------------------------

    @property
    def targets_version(self) -> int:
        """Director targets version (0 before the first successful update)."""
        return 0 if self.targets is None else self.targets.version

    @property
    def targets_raw(self) -> bytes:
        """Raw signed director targets, as forwarded to tracers (empty before any update)."""
        return b"" if self.targets is None else self.targets.raw

    @property
    def target_metas(self) -> Mapping[str, TargetMeta]:
        """Config path -> target metadata of the current director targets (read-only, no copy)."""
        return {} if self.targets is None else self.targets.targets

    @property
    def opaque_backend_state(self) -> bytes:
        """``custom.opaque_backend_state`` decoded, echoed as ``backend_client_state``."""
        if self.targets is None:
            return b""
        try:
            return self.targets.opaque_backend_state_bytes
        except TargetsError:
            return b""

    @property
    def agent_refresh_interval_s(self) -> int:
        """``custom.agent_refresh_interval`` (0 when absent)."""
        if self.targets is None or self.targets.agent_refresh_interval is None:
            return 0
        return self.targets.agent_refresh_interval

    def versions(self, *, first_update: bool) -> TufVersions:
        """Versions sent to the backend; all zero before the first update (``refresh()``)."""
        if first_update:
            return TufVersions(0, 0, 0, 0)
        return TufVersions(
            director_root=self.director_root_version,
            director_targets=self.targets_version,
            config_root=self.config_root_version,
            config_snapshot=self.config_snapshot_version,
        )

    def expired(self, now_wall: float) -> bool:
        """True when the director timestamp (else the targets) expiry has passed."""
        if self.timestamp_expires is not None:
            return self.timestamp_expires < now_wall
        return self.targets is not None and self.targets.expires.timestamp() < now_wall

    def roots_after(self, version: int) -> list[bytes]:
        """``getNewDirectorRoots``: raw roots ``version+1 .. current``; missing ones error."""
        out: list[bytes] = []
        for v in range(version + 1, self.director_root_version + 1):
            if v not in self.director_roots:
                raise StoreError(f"director root version {v} is not stored")
            out.append(self.director_roots[v])
        return out

    # ---- write side ------------------------------------------------------------------------

    def apply(self, response: pb.LatestConfigsResponse) -> None:
        """Verify and apply one backend response atomically; raise StoreError if it fails."""
        director = response.director_metas
        roots = dict(self.director_roots)
        root_version = self.director_root_version
        for top in director.roots:
            version = int(top.version) or _signed_version(top.raw, "director root")
            roots[version] = bytes(top.raw)
            root_version = max(root_version, version)
        targets = self.targets
        if director.HasField("targets") and director.targets.raw:
            try:
                targets = parse_signed_targets(director.targets.raw)
            except TargetsError as exc:
                raise StoreError(f"director targets rejected: {exc}") from exc
            keys, threshold = _targets_role(roots.get(root_version))
            if not verify_signatures(director.targets.raw, keys, threshold=threshold):
                raise StoreError(
                    f"director targets version {targets.version} rejected: its signatures do "
                    f"not verify with director root version {root_version}"
                )
            if self.targets is not None and targets.version < self.targets.version:
                raise StoreError(
                    f"director targets version went backwards: {targets.version} < "
                    f"{self.targets.version}"
                )
        incoming = {f.path: bytes(f.raw) for f in response.target_files}
        files: dict[str, bytes] = {}
        metas = {} if targets is None else targets.targets
        for path, meta in metas.items():
            raw = incoming.get(path, self.files.get(path))
            if raw is None:
                raise StoreError(f"target file {path} not found in the update nor the store")
            if len(raw) != meta.length:
                raise StoreError(f"target file {path}: length {len(raw)} != {meta.length}")
            if not meta.matches(raw):
                raise StoreError(f"target file {path}: sha256 does not match the targets")
            files[path] = raw
        timestamp_expires = self.timestamp_expires
        if director.HasField("timestamp") and director.timestamp.raw:
            text = _signed_field(director.timestamp.raw, "expires", "director timestamp")
            try:
                timestamp_expires = datetime.fromisoformat(str(text)).timestamp()
            except ValueError as exc:
                raise StoreError(f"director timestamp: bad expires {text!r}") from exc
        config = response.config_metas
        # Commit.
        self.targets = targets
        self.files = files
        self.director_roots = roots
        self.director_root_version = root_version
        self.timestamp_expires = timestamp_expires
        for top in config.roots:
            self.config_root_version = max(self.config_root_version, int(top.version))
        if config.HasField("snapshot") and config.snapshot.version:
            self.config_snapshot_version = int(config.snapshot.version)
        self.generation += 1
        self.per_client = any(
            meta.expires != 0 or meta.tracer_predicates is not None for meta in metas.values()
        )


def _targets_role(root_raw: bytes | None) -> tuple[list[Ed25519PublicKey], int]:
    """The targets role's keys and threshold in a director root; the embedded root (the
    project's deterministic key, threshold 1) when no root was received yet."""
    if root_raw is None:
        return [default_signing_key().public_key()], 1
    try:
        signed = json.loads(root_raw)["signed"]
        role = signed["roles"]["targets"]
        keys = [
            Ed25519PublicKey.from_public_bytes(
                bytes.fromhex(signed["keys"][kid]["keyval"]["public"])
            )
            for kid in role["keyids"]
        ]
        return keys, int(role["threshold"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"director root: cannot read the targets role's keys: {exc!r}") from exc
