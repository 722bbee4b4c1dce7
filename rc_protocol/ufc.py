"""FFE_FLAGS payloads: the Universal Flag Configuration (UFC) JSON, a builder, a strict parser,
and an evaluator.

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
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from rc_protocol.errors import UfcError

__all__ = [
    "VARIATION_TYPES",
    "Allocation",
    "Condition",
    "Flag",
    "FlagSpec",
    "Resolution",
    "Rule",
    "Shard",
    "Split",
    "Ufc",
    "UfcError",
    "build_ufc",
    "evaluate",
    "parse_ufc",
    "shard_of",
    "ufc_bytes",
]

VariationType = Literal["BOOLEAN", "STRING", "INTEGER", "NUMERIC", "JSON"]
VARIATION_TYPES: frozenset[str] = frozenset({"BOOLEAN", "STRING", "INTEGER", "NUMERIC", "JSON"})

#: `createdAt` of built payloads: the reference example's timestamp, so payloads are stable.
DEFAULT_CREATED_AT = "2024-04-17T19:40:53.716Z"


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


@dataclass(frozen=True, slots=True)
class Resolution:
    """The result of `evaluate`: `value`, `reason`, `variant` (``None`` when defaulted) and, on
    errors, an OpenFeature error code (``FLAG_NOT_FOUND``, ``TYPE_MISMATCH``)."""

    value: Any
    reason: str
    variant: str | None = None
    error_code: str | None = None


# ---------------------------------------------------------------------------- builder


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


def _value_ok(variation_type: str, value: object) -> bool:
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
        if not _value_ok(variation_type, variation["value"]):
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
        doc: Any = raw
    else:
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise UfcError(f"UFC payload is not JSON: {exc}") from None
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


# ---------------------------------------------------------------------------- evaluation


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
    if default is not None and not _value_ok(flag.variation_type, default):
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
