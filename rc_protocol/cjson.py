"""Canonical JSON, the bytes TUF signs (securesystemslib / go-securesystemslib ``cjson``).

Keys sorted, no whitespace, strings escape only ``\\`` and ``"``, and only null, booleans,
integers, strings, arrays and objects: anything else (floats included) is a `TargetsError`.
"""

from __future__ import annotations

from collections.abc import Mapping

from rc_protocol.errors import TargetsError

__all__ = ["canonical_json"]


def _canonical(obj: object, out: list[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(str(int(obj)))
    elif isinstance(obj, str):
        out.append('"' + obj.replace("\\", "\\\\").replace('"', '\\"') + '"')
    elif isinstance(obj, Mapping):
        out.append("{")
        for i, key in enumerate(sorted(obj)):
            if not isinstance(key, str):
                raise TargetsError(f"canonical JSON: object key {key!r} is not a string")
            if i:
                out.append(",")
            _canonical(key, out)
            out.append(":")
            _canonical(obj[key], out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _canonical(item, out)
        out.append("]")
    else:
        raise TargetsError(
            f"canonical JSON: {type(obj).__name__} {obj!r} is not allowed "
            "(only null, bools, integers, strings, arrays and objects)"
        )


def canonical_json(obj: object) -> bytes:
    """Canonical JSON as securesystemslib / go-securesystemslib ``cjson`` write it.

    Keys sorted, no whitespace, strings escape only ``\\`` and ``"``, no floats.

    >>> canonical_json({"b": 1, "a": [True, None, "x\\"y"]})
    b'{"a":[true,null,"x\\\\"y"],"b":1}'
    """
    out: list[str] = []
    _canonical(obj, out)
    return "".join(out).encode("utf-8")
