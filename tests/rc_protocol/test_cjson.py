"""Canonical JSON, as TUF signs it."""

from __future__ import annotations

import pytest

from rc_protocol.cjson import canonical_json
from rc_protocol.errors import TargetsError


def test_canonical_json_sorted_compact_no_floats() -> None:
    assert canonical_json({"b": [1, "two"], "a": {"y": None, "x": True}}) == (
        b'{"a":{"x":true,"y":null},"b":[1,"two"]}'
    )
    assert canonical_json('a"b\\c\nd') == b'"a\\"b\\\\c\nd"'  # only \ and " escaped
    assert canonical_json("é") == '"é"'.encode()
    with pytest.raises(TargetsError, match="float"):
        canonical_json({"x": 1.5})
    with pytest.raises(TargetsError, match="not a string"):
        canonical_json({1: 2})
