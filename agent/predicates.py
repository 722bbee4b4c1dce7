"""Tracer predicates and config expiry (``tracer_predicates.go``).

``executeTracerPredicates``: for each director target whose product the client asked for and
that has not expired (``configExpired``: ``custom.expires`` unix seconds, 0 = never), keep it
when ``custom["tracer-predicates"]["tracer_predicates_v1"]`` is null (matches all) or when
``executePredicate`` matches: an empty list matches; otherwise any predicate whose non-empty
fields all equal the client's (``clientID``; for tracers ``runtimeID``, ``service``,
``environment``, ``language``, ``appVersion``) and whose ``tracerVersion`` constraint (Masterminds
semver) the tracer version satisfies. An unparsable tracer version or constraint is an error of
the whole request (the real agent returns it, the HTTP layer answers 500).

The semver constraint language here is Masterminds/semver's: ``=``, ``!=``, ``>``, ``<``,
``>=``, ``<=`` (``=<``), ``~`` / ``~>`` (minor range), ``^`` (major range), wildcards
``x``/``X``/``*``, hyphen ranges ``1.2 - 1.4.5``, ``,`` or space for AND, ``||`` for OR; a
version with a pre-release satisfies a comparison only if the constraint has one too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agent.errors import ResponseError

_VERSION = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_CONSTRAINT = re.compile(r"^\s*(!=|>=|<=|=<|~>|=|>|<|~|\^)?\s*(v?[0-9xX*][0-9A-Za-z.+\-xX*]*)\s*$")
_TOKEN = re.compile(r"(?:!=|>=|<=|=<|~>|[=><~^])?\s*[0-9A-Za-z.+\-*]+")
_WILDCARDS = {"x", "X", "*"}


@dataclass(frozen=True, order=False)
class Version:
    """A semantic version (lenient like Masterminds: ``1``, ``1.2`` and ``v1.2.3`` parse)."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(text.strip())
        if match is None:
            raise ValueError(f"invalid semantic version {text!r}")
        major, minor, patch, pre, _build = match.groups()
        return cls(
            int(major), int(minor or 0), int(patch or 0), tuple(pre.split(".")) if pre else ()
        )

    def _key(self) -> tuple[Any, ...]:
        pre_key: tuple[Any, ...]
        if not self.pre:
            pre_key = (1,)
        else:
            parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
            pre_key = (0, parts)
        return (self.major, self.minor, self.patch, pre_key)

    def compare(self, other: Version) -> int:
        a, b = self._key(), other._key()
        return (a > b) - (a < b)


Check = Callable[[Version], bool]


def _bounds(text: str) -> tuple[Version, Version | None, bool]:
    """Lower bound, exclusive upper bound (for wildcards) and whether ``text`` had a pre."""
    raw = text.lstrip("v")
    parts = raw.split("-", 1)[0].split("+", 1)[0].split(".")
    if not parts or parts[0] in _WILDCARDS:
        return Version(0, 0, 0), None, False
    nums: list[int] = []
    for part in parts[:3]:
        if part in _WILDCARDS:
            break
        nums.append(int(part))
    if len(nums) < len([p for p in parts[:3]]) or len(parts) < 3:
        # wildcard or missing component: 1.2.x / 1.2 -> [1.2.0, 1.3.0)
        if len(nums) == 1:
            return Version(nums[0], 0, 0), Version(nums[0] + 1, 0, 0), False
        if len(nums) == 2:
            return Version(nums[0], nums[1], 0), Version(nums[0], nums[1] + 1, 0), False
    version = Version.parse(text)
    return version, None, bool(version.pre)


def _single(op: str, text: str) -> Check:
    low, high, has_pre = _bounds(text)

    def pre_ok(v: Version) -> bool:
        return has_pre or not v.pre

    if op in ("", "="):
        if high is None and text.strip("v") not in _WILDCARDS:
            return lambda v: pre_ok(v) and v.compare(low) == 0
        return lambda v: pre_ok(v) and v.compare(low) >= 0 and (high is None or v.compare(high) < 0)
    if op == "!=":
        if high is None and text.strip("v") not in _WILDCARDS:
            return lambda v: pre_ok(v) and v.compare(low) != 0
        return lambda v: (
            pre_ok(v) and not (v.compare(low) >= 0 and (high is None or v.compare(high) < 0))
        )
    if op == ">":
        if high is not None:
            return lambda v: pre_ok(v) and v.compare(high) >= 0
        return lambda v: pre_ok(v) and v.compare(low) > 0
    if op == "<":
        return lambda v: pre_ok(v) and v.compare(low) < 0
    if op == ">=":
        return lambda v: pre_ok(v) and v.compare(low) >= 0
    if op in ("<=", "=<"):
        if high is not None:
            return lambda v: pre_ok(v) and v.compare(high) < 0
        return lambda v: pre_ok(v) and v.compare(low) <= 0
    if op in ("~", "~>"):
        upper = (
            Version(low.major + 1, 0, 0)
            if _component_count(text) == 1
            else Version(low.major, low.minor + 1, 0)
        )
        return lambda v: pre_ok(v) and v.compare(low) >= 0 and v.compare(upper) < 0
    if op == "^":
        upper = Version(low.major + 1, 0, 0)
        return lambda v: pre_ok(v) and v.compare(low) >= 0 and v.compare(upper) < 0
    raise ValueError(f"unknown constraint operator {op!r}")


def _component_count(text: str) -> int:
    parts = text.lstrip("v").split("-", 1)[0].split(".")
    return len([p for p in parts if p not in _WILDCARDS])


def parse_constraint(text: str) -> Check:
    """Compile a Masterminds constraint string into a predicate on :class:`Version`."""
    alternatives: list[list[Check]] = []
    for alternative in text.split("||"):
        alt = alternative.strip()
        if not alt:
            raise ValueError(f"invalid semantic version constraint {text!r}")
        checks: list[Check] = []
        hyphen = re.match(r"^\s*(\S+)\s+-\s+(\S+)\s*$", alt)
        if hyphen:
            checks += [_single(">=", hyphen.group(1)), _single("<=", hyphen.group(2))]
        else:
            tokens = _TOKEN.findall(alt.replace(",", " "))
            if _TOKEN.sub("", alt.replace(",", " ")).strip():
                raise ValueError(f"invalid semantic version constraint {text!r}")
            for token in tokens:
                match = _CONSTRAINT.match(token)
                if match is None:
                    raise ValueError(f"invalid semantic version constraint {text!r}")
                try:
                    checks.append(_single(match.group(1) or "", match.group(2)))
                except ValueError as exc:
                    raise ValueError(f"invalid semantic version constraint {text!r}") from exc
        alternatives.append(checks)
    return lambda v: any(all(check(v) for check in checks) for checks in alternatives)


class TracerInfo(Protocol):
    runtime_id: str
    service: str
    env: str
    language: str
    app_version: str
    tracer_version: str


def execute_predicate(
    client_id: str,
    tracer: TracerInfo | None,
    predicates: Sequence[Mapping[str, Any]],
) -> bool:
    """``executePredicate``: True when the list is empty or any predicate matches the client.

    Raises :class:`ResponseError` when a ``tracerVersion`` constraint or the tracer's version
    cannot be parsed (the real agent fails the whole request).
    """
    if not predicates:
        return True
    for predicate in predicates:
        want_client = str(predicate.get("clientID") or "")
        if want_client and want_client != client_id:
            continue
        if tracer is not None:
            pairs = (
                ("runtimeID", tracer.runtime_id),
                ("service", tracer.service),
                ("environment", tracer.env),
                ("language", tracer.language),
                ("appVersion", tracer.app_version),
            )
            if any(predicate.get(k) and str(predicate.get(k)) != have for k, have in pairs):
                continue
            constraint = str(predicate.get("tracerVersion") or "")
            if constraint:
                try:
                    version = Version.parse(tracer.tracer_version)
                    check = parse_constraint(constraint)
                except ValueError as exc:
                    raise ResponseError(
                        f"tracer predicate on tracerVersion failed: {exc}; fix the client's "
                        "client_tracer.tracer_version or the target's tracer-predicates"
                    ) from exc
                if not check(version):
                    continue
        return True
    return False


def predicates_v1(tracer_predicates: Any) -> list[Mapping[str, Any]] | None:
    """The ``tracer_predicates_v1`` list of a target's ``custom["tracer-predicates"]``.

    ``None`` means "null predicates" (matches every client). Accepts the wrapper object
    ``{"tracer_predicates_v1": [...]}`` or the bare list.
    """
    if tracer_predicates is None:
        return None
    if isinstance(tracer_predicates, Mapping):
        inner = tracer_predicates.get("tracer_predicates_v1")
        return None if inner is None else list(inner)
    return list(tracer_predicates)


def config_expired(expires_unix_s: int, now_wall: float) -> bool:
    """``configExpired``: 0 never expires; otherwise expired once ``now > expires``."""
    return expires_unix_s != 0 and now_wall > expires_unix_s
