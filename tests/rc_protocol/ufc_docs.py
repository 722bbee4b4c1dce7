"""UFC documents the ufc tests share: the reference payload, and one flag with given
allocations."""

from __future__ import annotations

import copy
import json
from typing import Any

REFERENCE = {
    "createdAt": "2024-04-17T19:40:53.716Z",
    "format": "SERVER",
    "environment": {"name": "test"},
    "flags": {
        "my-bool-flag": {
            "key": "my-bool-flag",
            "enabled": True,
            "variationType": "BOOLEAN",
            "variations": {
                "on": {"key": "on", "value": True},
                "off": {"key": "off", "value": False},
            },
            "allocations": [
                {"key": "default", "rules": [], "splits": [{"variationKey": "on", "shards": []}]}
            ],
        }
    },
}


def one_flag(allocations: list[dict[str, Any]], vtype: str = "STRING") -> bytes:
    """A payload with one flag ``f``, variations ``a`` = "A" and ``b`` = "B"."""
    doc = copy.deepcopy(REFERENCE)
    doc["flags"] = {
        "f": {
            "key": "f",
            "enabled": True,
            "variationType": vtype,
            "variations": {
                "a": {"key": "a", "value": "A"},
                "b": {"key": "b", "value": "B"},
            },
            "allocations": allocations,
        }
    }
    return json.dumps(doc).encode()


def allocation(key: str, rules: list[Any], variation: str, shards: list[Any] | None = None) -> Any:
    """An allocation serving `variation` to the subjects of `shards` (everyone by default)."""
    return {
        "key": key,
        "rules": rules,
        "splits": [{"variationKey": variation, "shards": shards or []}],
    }
