"""Evaluating a flag of a parsed UFC payload (`rc_protocol.ufc`) for a subject.

`evaluate` follows the UFC rules: a disabled flag gives the default (DISABLED); a missing flag
gives the default (FLAG_NOT_FOUND); the first allocation whose time window, rules and a split
all match wins; an allocation with no rules matches everyone; rules are OR'd, a rule's conditions
AND'd; a split matches when every shard matches, a shard when
``int(md5(f"{salt}-{targetingKey}").hexdigest()[:8], 16) % totalShards`` falls in one of its
``[start, end)`` ranges (Eppo/`datadog-ffe` sharder). Reasons: TARGETING_MATCH when the winning
allocation has rules or a time window, SPLIT when its split has shards, else STATIC; DEFAULT
when no allocation matches. (The reason rule is our reading of `datadog-ffe`, unconfirmed.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rc_protocol.errors import UfcError
from rc_protocol.ufc import Condition, Split, Ufc, value_fits

__all__ = ["Resolution", "evaluate", "shard_of"]


@dataclass(frozen=True, slots=True)
class Resolution:
    """The result of `evaluate`: `value`, `reason`, `variant` (``None`` when defaulted) and, on
    errors, an OpenFeature error code (``FLAG_NOT_FOUND``, ``TYPE_MISMATCH``)."""

    value: Any
    reason: str
    variant: str | None = None
    error_code: str | None = None


def shard_of(salt: str, targeting_key: str, total_shards: int) -> int:
    """The shard of a subject: first 4 bytes of md5(``salt-targetingKey``) mod `total_shards`."""
    digest = hashlib.md5(f"{salt}-{targeting_key}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % total_shards


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _as_string(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_NUMERIC_OPS = {
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
}


def _condition_matches(cond: Condition, attributes: Mapping[str, Any], targeting_key: str) -> bool:
    value = attributes.get(cond.attribute)
    if value is None and cond.attribute == "id":
        value = targeting_key
    op = cond.operator
    if op == "IS_NULL":
        return (value is None) == bool(cond.value)
    if value is None:
        return False
    if op in _NUMERIC_OPS:
        left, right = _as_number(value), _as_number(cond.value)
        return left is not None and right is not None and bool(_NUMERIC_OPS[op](left, right))
    if op in ("MATCHES", "NOT_MATCHES"):
        try:
            found = re.search(str(cond.value), _as_string(value)) is not None
        except re.error:
            return False
        return found if op == "MATCHES" else not found
    if op in ("ONE_OF", "NOT_ONE_OF"):
        options = cond.value if isinstance(cond.value, list) else []
        inside = _as_string(value) in {_as_string(o) for o in options}
        return inside if op == "ONE_OF" else not inside
    return False  # unknown operator: the condition cannot match


def _split_matches(split: Split, targeting_key: str) -> bool:
    for shard in split.shards:
        bucket = shard_of(shard.salt, targeting_key, shard.total_shards)
        if not any(start <= bucket < end for start, end in shard.ranges):
            return False
    return True


def evaluate(
    ufc: Ufc | None,
    flag_key: str,
    default: Any,
    targeting_key: str = "",
    attributes: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> Resolution:
    """Evaluate `flag_key` for a subject. `now` (aware) is only needed for allocation windows.

    With no configuration (`ufc` is ``None``) the reason is PROVIDER_NOT_READY.
    """
    if ufc is None:
        return Resolution(default, "PROVIDER_NOT_READY", None, "PROVIDER_NOT_READY")
    flag = ufc.flags.get(flag_key)
    if flag is None:
        return Resolution(default, "FLAG_NOT_FOUND", None, "FLAG_NOT_FOUND")
    if default is not None and not value_fits(flag.variation_type, default):
        return Resolution(default, "ERROR", None, "TYPE_MISMATCH")
    if not flag.enabled:
        return Resolution(default, "DISABLED")
    attrs = attributes or {}
    for alloc in flag.allocations:
        if alloc.start_at is not None or alloc.end_at is not None:
            if now is None:
                raise UfcError(
                    f"flag {flag_key!r}: allocation {alloc.key!r} has a time window; pass now="
                )
            if alloc.start_at is not None and now < alloc.start_at:
                continue
            if alloc.end_at is not None and now >= alloc.end_at:
                continue
        if alloc.rules and not any(
            all(_condition_matches(c, attrs, targeting_key) for c in rule.conditions)
            for rule in alloc.rules
        ):
            continue
        for split in alloc.splits:
            if _split_matches(split, targeting_key):
                if alloc.rules or alloc.start_at is not None or alloc.end_at is not None:
                    reason = "TARGETING_MATCH"
                elif split.shards:
                    reason = "SPLIT"
                else:
                    reason = "STATIC"
                return Resolution(flag.variations[split.variation_key], reason, split.variation_key)
    return Resolution(default, "DEFAULT")
