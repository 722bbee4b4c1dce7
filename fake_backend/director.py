"""Director targets: which configs an agent sees, signed, and the targets version.

Pure policy: every method takes `now` (wall seconds) from the caller's clock.

What an agent sees. The director lists the catalogue configs of the products the agent reported
in the request, `products` + `new_products` (the real agent sends every product of its active
clients, already known ones in `products`, first-seen ones in `new_products`: datadog-agent
`refreshProducts` / `buildLatestConfigsRequest`, `pkg/config/remote/service/util.go`).

Targets version. The real director's version is epoch seconds (which is why the agent spaces two
refreshes by at least 1 s). Versions here only move forward and are never issued twice:
`next_version(now, previous) = max(int(now), previous + 1)`, with `previous` the latest version
issued to anyone, so a burst of changes within one second runs ahead of the clock by one per
change instead of reusing a number.

The director keeps, per agent (keyed by `agent_uuid`, else `hostname`), the last content it signed
for it. A new version is issued exactly when the content this agent would receive differs from
that: a target added or removed, a config's length/hash/`custom.v` changed, or a different
`agent_refresh_interval`. Changes that happen between two calls are coalesced into one version.

New products (decision). A product appearing in `new_products` whose configs exist changes the
set of targets the agent sees, so the agent receives a new version, even if nothing changed in
the catalogue. This is required: the agent answers tracers by version only (`hasUpdate =
director version != client targets_version`, service.go), so a tracer already at the old version
that just started asking for the product would never get it otherwise. A new product without any
config adds no target and does not move the version.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fake_backend.catalogue import ConfigEntry
from rc_protocol.cjson import canonical_json
from rc_protocol.targets import build_signed_targets


def next_version(now: float, previous: int) -> int:
    """The version after `previous` at wall time `now`: epoch seconds, strictly increasing."""
    return max(int(now), previous + 1)


@dataclass(frozen=True)
class SignedTargets:
    """Director targets signed for one agent."""

    version: int
    raw: bytes
    digest: str
    paths: tuple[str, ...]
    expires: int
    """Unix seconds at which these targets expire."""


class Director:
    """Issues signed director targets and their versions, per agent."""

    def __init__(
        self,
        *,
        agent_refresh_interval_s: int | None,
        expires_s: int,
    ) -> None:
        self._refresh_interval = agent_refresh_interval_s
        self._expires_s = expires_s
        self._latest_version = 0
        self._signed: dict[str, SignedTargets] = {}

    @property
    def latest_version(self) -> int:
        """Latest version issued to any agent (0 before the first call)."""
        return self._latest_version

    def current(self, agent_key: str) -> SignedTargets | None:
        """What was last signed for `agent_key`, if anything."""
        return self._signed.get(agent_key)

    def targets_for(
        self,
        agent_key: str,
        entries: Sequence[ConfigEntry],
        now: float,
        refresh_interval_s: int | None = None,
    ) -> SignedTargets:
        """Signed targets listing `entries` for `agent_key`, re-signed only on a content change.

        `refresh_interval_s`, when given, replaces the configured ``agent_refresh_interval``
        for this answer (the capacity model's overload value, `fake_backend.capacity`)."""
        refresh = self._refresh_interval if refresh_interval_s is None else refresh_interval_s
        digest = self._digest(entries, refresh)
        previous = self._signed.get(agent_key)
        if previous is not None and previous.digest == digest:
            return previous
        version = next_version(now, self._latest_version)
        self._latest_version = version
        expires = int(now) + self._expires_s
        signed = SignedTargets(
            version=version,
            raw=self._sign(entries, version, expires, refresh),
            digest=digest,
            paths=tuple(str(e.path) for e in entries),
            expires=expires,
        )
        self._signed[agent_key] = signed
        return signed

    def _digest(self, entries: Iterable[ConfigEntry], refresh: int | None) -> str:
        content = {
            "refresh": refresh,
            "targets": [
                [str(e.path), e.meta.length, e.meta.sha256, e.meta.version] for e in entries
            ],
        }
        return hashlib.sha256(canonical_json(content)).hexdigest()

    def _sign(
        self, entries: Sequence[ConfigEntry], version: int, expires: int, refresh: int | None
    ) -> bytes:
        return build_signed_targets(
            {str(e.path): e.meta for e in entries},
            version=version,
            expires=expires,
            opaque_backend_state=opaque_backend_state(version, entries),
            agent_refresh_interval=refresh,
        )


def opaque_backend_state(version: int, entries: Iterable[ConfigEntry]) -> str:
    """Base64 of a small JSON the backend would use for its own tracking (echoed by the agent)."""
    products = sorted({e.product for e in entries})
    state = {"version": version, "products": products}
    return base64.b64encode(canonical_json(state)).decode()
