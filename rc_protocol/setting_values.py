"""A setting's value by its type: parse a text, describe what is expected, show a default.

The types :mod:`rc_protocol.settings` supports: ``bool``, ``int``, ``float``, ``str``,
``Literal[...]``, an ``Enum`` (by value), ``tuple[str, ...]`` (a comma list), and ``X | None``
(see :func:`strip_none`).

>>> convert(bool, "On"), convert(tuple[str, ...], "a, b,,c"), convert(Literal[500, 503], "503")
(True, ('a', 'b', 'c'), 503)
>>> describe(Literal["legacy", "fastlane"])
('one of legacy|fastlane', '{legacy,fastlane}')
>>> show(None), show(("a", "b")), show(False), show("")
('unset', 'a,b', 'false', "''")
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, Literal

__all__ = ["convert", "describe", "show", "strip_none"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def strip_none(kind: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, else ``(kind, False)``."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported settings type {kind!r}: one type or X | None")
        return args[0], True
    return kind, False


def _choices(kind: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(kind) is Literal:
        return typing.get_args(kind)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return tuple(kind)
    return None


def _text(value: Any) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


_SIMPLE: dict[Any, tuple[str, str]] = {
    bool: ("true or false", "BOOL"),
    int: ("an integer", "INT"),
    float: ("a number", "NUMBER"),
    str: ("text", "TEXT"),
}


def describe(kind: Any) -> tuple[str, str]:
    """What a value of ``kind`` is expected to be, and its metavar."""
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    choices = _choices(kind)
    if choices is not None:
        texts = [_text(c) for c in choices]
        return "one of " + "|".join(texts), "{" + ",".join(texts) + "}"
    if typing.get_origin(kind) is tuple and typing.get_args(kind) == (str, ...):
        return "a comma-separated list", "A,B,..."
    raise TypeError(f"unsupported settings type {kind!r}")


def convert(kind: Any, text: str) -> Any:
    """``text`` (stripped, non-empty) as ``kind``; ``ValueError`` when it is not one."""
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(text)
    if kind in (int, float, str):
        return kind(text)
    choices = _choices(kind)
    if choices is not None:
        for choice in choices:
            if _text(choice) == text:
                return choice
        raise ValueError(text)
    items = tuple(part.strip() for part in text.split(",") if part.strip())
    if not items:
        raise ValueError(text)
    return items


def show(value: Any) -> str:
    """A default as ``--help`` shows it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return _text(value) if value != "" else "''"
