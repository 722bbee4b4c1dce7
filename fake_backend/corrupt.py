"""The `bad_payload` fault: a corrupt FFE_FLAGS target while a window lasts, then a good one.

Three corruptions, each caught where the real system catches it:

- `hash`: the director targets give FFE_FLAGS files a sha256 that is not the file's. The agent
  verifies every target file against its targets metadata and rejects the whole update
  (datadog-agent `pkg/config/remote/uptane`, the model's `agent.store.Store.apply`): a failed
  refresh, with its backoff. Nothing is stored, so the next good answer simply applies.
- `signature`: the director targets' signature does not verify (one byte of it flipped). The
  agent verifies the targets role against its director root's keys and rejects the update
  (go-tuf in the uptane client; `agent.store`). Tracers never see it.
- `ufc`: a well-formed target whose file is not a Universal Flag Configuration. The agent
  cannot tell (it does not read payloads) and serves it; each tracer's provider fails to parse
  it (`tracer_stub.provider`). This one is a catalogue change, as a bad publish is: the config
  gets a new version with the bad bytes when the window starts, and a newer version with the
  good bytes again when it ends (:class:`BadUfc`), so that the agent and the tracers, which
  compare versions and hashes, pick up both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from fake_backend.catalogue import Catalogue, ConfigEntry
from fake_backend.director import SignedTargets
from rc_protocol.cjson import canonical_json
from rc_protocol.products import Product

CORRUPT_UFC = canonical_json(
    {"corrupt": "rc-fastlane bad_payload fault: this is not a Universal Flag Configuration"}
)
"""What an FFE_FLAGS config holds during a `bad_payload` window with `corruption: ufc`."""


def is_ffe(entry: ConfigEntry) -> bool:
    """Whether the entry is an FFE_FLAGS config (the product the fault corrupts)."""
    return entry.product == Product.FFE_FLAGS.value


def wrong_hashes(entries: Sequence[ConfigEntry]) -> list[ConfigEntry]:
    """`entries` with every FFE_FLAGS target's sha256 replaced by one its file does not have
    (the files themselves are untouched)."""
    out = []
    for e in entries:
        if is_ffe(e):
            bogus = hashlib.sha256(b"bad_payload:" + e.raw).hexdigest()
            e = replace(e, meta=replace(e.meta, sha256=bogus))
        out.append(e)
    return out


def bad_signature(signed: SignedTargets) -> SignedTargets:
    """``signed`` with its signature(s) no longer matching its ``signed`` part."""
    doc = json.loads(signed.raw)
    for sig in doc.get("signatures", []):
        text = str(sig.get("sig", ""))
        if text:
            flipped = "0" if text[0] != "0" else "1"
            sig["sig"] = flipped + text[1:]
    return replace(signed, raw=canonical_json(doc))


@dataclass
class BadUfc:
    """Publishes the corrupt UFC when a `ufc` window starts and the good bytes back when it
    ends: two catalogue changes, each a new config version (see the module docstring)."""

    good: dict[tuple[str, str], bytes] | None = None

    def sync(self, catalogue: Catalogue, active: bool) -> str | None:
        """Bring the catalogue in line with ``active``; a line for the log when it changed."""
        if active and self.good is None:
            ffe = [e for e in catalogue.entries([Product.FFE_FLAGS.value])]
            self.good = {(e.product, e.config_id): e.raw for e in ffe}
            for e in ffe:
                catalogue.put(e.product, CORRUPT_UFC, e.config_id)
            return f"bad_payload: published a corrupt UFC for {len(ffe)} FFE_FLAGS config(s)"
        if not active and self.good is not None:
            for (product, config_id), raw in self.good.items():
                catalogue.put(product, raw, config_id)
            count, self.good = len(self.good), None
            return f"bad_payload: published the good UFC again for {count} FFE_FLAGS config(s)"
        return None


def has_ffe(entries: Sequence[ConfigEntry]) -> bool:
    """Whether any entry is an FFE_FLAGS config."""
    return any(is_ffe(e) for e in entries)
