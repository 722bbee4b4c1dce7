"""Building FFE_FLAGS payloads (UFC documents, `rc_protocol.ufc`) for the fake backend and
tests: a `FlagSpec` per flag, served to everyone."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rc_protocol.errors import UfcError
from rc_protocol.ufc import VariationType

__all__ = ["DEFAULT_CREATED_AT", "FlagSpec", "build_ufc", "ufc_bytes"]

#: `createdAt` of built payloads: the reference example's timestamp, so payloads are stable.
DEFAULT_CREATED_AT = "2024-04-17T19:40:53.716Z"


@dataclass(frozen=True)
class FlagSpec:
    """A flag to build: its variations and the one served to everyone.

    >>> FlagSpec.boolean("my-bool-flag").serve
    'on'
    """

    key: str
    variation_type: VariationType
    variations: Mapping[str, Any]
    serve: str
    enabled: bool = True
    rules: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    @classmethod
    def boolean(cls, key: str, value: bool = True, *, enabled: bool = True) -> FlagSpec:
        """A BOOLEAN flag with variations ``on``/``off`` serving `value` to everyone."""
        return cls(key, "BOOLEAN", {"on": True, "off": False}, "on" if value else "off", enabled)

    @classmethod
    def string(
        cls,
        key: str,
        value: str,
        *,
        others: Iterable[str] = (),
        enabled: bool = True,
    ) -> FlagSpec:
        """A STRING flag serving `value` to everyone; `others` are extra variations."""
        variations = {v: v for v in (value, *others)}
        return cls(key, "STRING", variations, value, enabled)

    def to_json(self) -> dict[str, Any]:
        if self.serve not in self.variations:
            raise UfcError(f"flag {self.key!r}: served variation {self.serve!r} is not defined")
        return {
            "key": self.key,
            "enabled": self.enabled,
            "variationType": self.variation_type,
            "variations": {k: {"key": k, "value": v} for k, v in self.variations.items()},
            "allocations": [
                {
                    "key": "default",
                    "rules": [dict(r) for r in self.rules],
                    "splits": [{"variationKey": self.serve, "shards": []}],
                }
            ],
        }


def build_ufc(
    flags: Iterable[FlagSpec],
    *,
    environment: str = "test",
    created_at: str = DEFAULT_CREATED_AT,
) -> dict[str, Any]:
    """Build a UFC document (a dict) for `flags`."""
    out: dict[str, Any] = {}
    for spec in flags:
        if spec.key in out:
            raise UfcError(f"flag {spec.key!r} is defined twice")
        out[spec.key] = spec.to_json()
    return {
        "createdAt": created_at,
        "format": "SERVER",
        "environment": {"name": environment},
        "flags": out,
    }


def ufc_bytes(
    flags: Iterable[FlagSpec] | None = None,
    *,
    environment: str = "test",
    created_at: str = DEFAULT_CREATED_AT,
) -> bytes:
    """Compact JSON bytes of a UFC document. Default: one boolean flag ``my-bool-flag``."""
    specs = list(flags) if flags is not None else [FlagSpec.boolean("my-bool-flag")]
    doc = build_ufc(specs, environment=environment, created_at=created_at)
    return json.dumps(doc, separators=(",", ":")).encode()
