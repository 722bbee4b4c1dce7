"""FFE_FLAGS payloads: the Universal Flag Configuration (UFC) JSON, its model and a strict parser.

Shape (tracer-rc-clients.md; dd-trace-go `openfeature`, libdatadog `datadog-ffe`)::

    {"createdAt": "...", "format": "SERVER", "environment": {"name": "test"},
     "flags": {"my-flag": {"key": "my-flag", "enabled": true, "variationType": "BOOLEAN",
       "variations": {"on": {"key": "on", "value": true}},
       "allocations": [{"key": "default", "rules": [],
                        "splits": [{"variationKey": "on", "shards": []}]}]}}}

`parse_ufc` requires what real parsers require: ``createdAt``, ``environment``, ``format ==
"SERVER"`` (Go), each flag's ``key`` equal to its map key, ``variationType`` in BOOLEAN, STRING,
INTEGER, NUMERIC, JSON, every split naming a defined variation, and shards with integer
``totalShards > 0`` and integer range bounds. Anything malformed raises `UfcError`, never a
bare `KeyError`/`TypeError`, so a client reports it as an apply error.

Building payloads is `rc_protocol.ufc_build`; evaluating flags, `rc_protocol.ufc_eval`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from rc_protocol.errors import UfcError

__all__ = [
    "VARIATION_TYPES",
    "Allocation",
    "Condition",
    "Flag",
    "Rule",
    "Shard",
    "Split",
    "Ufc",
    "UfcError",
    "VariationType",
    "parse_ufc",
    "value_fits",
]

VariationType = Literal["BOOLEAN", "STRING", "INTEGER", "NUMERIC", "JSON"]
VARIATION_TYPES: frozenset[str] = frozenset({"BOOLEAN", "STRING", "INTEGER", "NUMERIC", "JSON"})


# ---------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition: ``attribute operator value``."""

    attribute: str
    operator: str
    value: Any


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule matches when all its conditions match."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Shard:
    """A hash bucket test: `salt`, `total_shards` and ``[start, end)`` ranges."""

    salt: str
    total_shards: int
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Split:
    """Serve `variation_key` to subjects in every shard."""

    variation_key: str
    shards: tuple[Shard, ...]


@dataclass(frozen=True, slots=True)
class Allocation:
    """An allocation: optional time window, rules, splits."""

    key: str
    rules: tuple[Rule, ...]
    splits: tuple[Split, ...]
    start_at: datetime | None = None
    end_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    """A parsed flag."""

    key: str
    enabled: bool
    variation_type: str
    variations: Mapping[str, Any]
    allocations: tuple[Allocation, ...]


@dataclass(frozen=True, slots=True)
class Ufc:
    """A parsed UFC payload."""

    created_at: str
    format: str
    environment: str
    flags: Mapping[str, Flag]


# ---------------------------------------------------------------------------- parser


def _need(obj: object, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, Mapping):
        raise UfcError(
            f"UFC: {where[:-1] or 'payload'} must be an object, got {type(obj).__name__}"
        )
    if key not in obj:
        raise UfcError(f"UFC: {where}{key} is missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UfcError(f"UFC: {where}{key} has the wrong type ({type(value).__name__})")
    return value


def _optional_list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    """`obj[key]` when it is a list; absent or ``null`` is an empty list."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UfcError(f"UFC: {where}{key} has the wrong type ({type(value).__name__})")
    return value


def _time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UfcError(f"UFC: {where} must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UfcError(f"UFC: {where} {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:  # RFC 3339, as Go's time.Time decodes it, needs an offset
        raise UfcError(f"UFC: {where} {value!r} has no UTC offset (e.g. end it with 'Z')")
    return moment


def value_fits(variation_type: str, value: object) -> bool:
    """Whether `value` is of `variation_type` (JSON: anything; a bool is never a number)."""
    if variation_type == "BOOLEAN":
        return isinstance(value, bool)
    if variation_type == "STRING":
        return isinstance(value, str)
    if variation_type == "INTEGER":
        return isinstance(value, int) and not isinstance(value, bool)
    if variation_type == "NUMERIC":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True  # JSON: anything


def _parse_shard(raw: object, where: str) -> Shard:
    if not isinstance(raw, Mapping):
        raise UfcError(f"UFC: {where[:-1]} must be an object, got {type(raw).__name__}")
    salt = _need(raw, "salt", str, where)
    total = _need(raw, "totalShards", int, where)
    if total <= 0:  # every subject's shard is taken modulo totalShards
        raise UfcError(f"UFC: {where}totalShards is {total}, must be > 0")
    ranges = tuple(
        (
            _need(r, "start", int, f"{where}ranges[{i}]."),
            _need(r, "end", int, f"{where}ranges[{i}]."),
        )
        for i, r in enumerate(_optional_list(raw, "ranges", where))
    )
    return Shard(salt, total, ranges)


def _parse_flag(key: str, raw: object) -> Flag:
    where = f"flags[{key!r}]."
    if not isinstance(raw, dict):
        raise UfcError(f"UFC: flags[{key!r}] must be an object")
    flag_key = _need(raw, "key", str, where)
    if flag_key != key:
        raise UfcError(f"UFC: {where}key is {flag_key!r}, not its map key {key!r}")
    variation_type = _need(raw, "variationType", str, where)
    if variation_type not in VARIATION_TYPES:
        raise UfcError(
            f"UFC: {where}variationType {variation_type!r} is not one of "
            f"{', '.join(sorted(VARIATION_TYPES))}"
        )
    enabled = _need(raw, "enabled", bool, where)
    variations: dict[str, Any] = {}
    for vkey, variation in _need(raw, "variations", dict, where).items():
        if not isinstance(variation, dict) or "value" not in variation:
            raise UfcError(f"UFC: {where}variations[{vkey!r}] needs a value")
        if not value_fits(variation_type, variation["value"]):
            raise UfcError(
                f"UFC: {where}variations[{vkey!r}] value {variation['value']!r} "
                f"is not {variation_type}"
            )
        variations[vkey] = variation["value"]
    allocations = []
    for i, alloc in enumerate(_need(raw, "allocations", list, where)):
        awhere = f"{where}allocations[{i}]."
        if not isinstance(alloc, dict):
            raise UfcError(f"UFC: {awhere[:-1]} must be an object")
        rules = []
        for j, rule in enumerate(_optional_list(alloc, "rules", awhere)):
            conds = []
            for cond in _need(rule, "conditions", list, f"{awhere}rules[{j}]."):
                cwhere = f"{awhere}rules[{j}].conditions."
                conds.append(
                    Condition(
                        _need(cond, "attribute", str, cwhere),
                        _need(cond, "operator", str, cwhere),
                        cond.get("value"),
                    )
                )
            rules.append(Rule(tuple(conds)))
        splits = []
        for k, split in enumerate(_need(alloc, "splits", list, awhere)):
            swhere = f"{awhere}splits[{k}]."
            vkey = _need(split, "variationKey", str, swhere)
            if vkey not in variations:
                raise UfcError(f"UFC: {swhere}variationKey {vkey!r} is not a defined variation")
            shards = tuple(
                _parse_shard(s, f"{swhere}shards[{n}].")
                for n, s in enumerate(_optional_list(split, "shards", swhere))
            )
            splits.append(Split(vkey, shards))
        allocations.append(
            Allocation(
                key=str(alloc.get("key", "")),
                rules=tuple(rules),
                splits=tuple(splits),
                start_at=_time(alloc.get("startAt"), awhere + "startAt"),
                end_at=_time(alloc.get("endAt"), awhere + "endAt"),
            )
        )
    return Flag(key, enabled, variation_type, variations, tuple(allocations))


def parse_ufc(raw: bytes | str | Mapping[str, Any]) -> Ufc:
    """Parse and validate a UFC payload.

    Raises:
        UfcError: naming the field or flag that real parsers would reject.
    """
    if isinstance(raw, Mapping):
        return _parse_doc(raw)
    return _parse_text(raw)


@functools.lru_cache(maxsize=64)
def _parse_text(raw: bytes | str) -> Ufc:
    # Cached by the exact bytes: every tracer of a fleet parses the same payload, and the
    # parsed flags are never mutated.
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise UfcError(f"UFC payload is not JSON: {exc}") from None
    return _parse_doc(doc)


def _parse_doc(doc: Any) -> Ufc:
    if not isinstance(doc, dict):
        raise UfcError("UFC payload must be a JSON object")
    created_at = _need(doc, "createdAt", str, "")
    env = _need(doc, "environment", dict, "")
    fmt = _need(doc, "format", str, "")
    if fmt != "SERVER":
        raise UfcError(f"UFC: format is {fmt!r}, expected 'SERVER'")
    flags_raw = _need(doc, "flags", dict, "")
    flags = {key: _parse_flag(key, value) for key, value in flags_raw.items()}
    return Ufc(created_at, fmt, str(env.get("name", "")), flags)
