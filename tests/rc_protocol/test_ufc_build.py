"""UFC builder: FlagSpec, build_ufc, ufc_bytes."""

from __future__ import annotations

import json

import pytest

from rc_protocol.errors import UfcError
from rc_protocol.ufc_build import FlagSpec, build_ufc, ufc_bytes
from tests.rc_protocol.ufc_docs import REFERENCE


def test_builder_reproduces_reference_payload() -> None:
    assert build_ufc([FlagSpec.boolean("my-bool-flag")]) == REFERENCE
    raw = ufc_bytes()
    assert json.loads(raw) == REFERENCE
    assert b" " not in raw
    assert 300 < len(raw) < 400  # the reference example, compact: 347 bytes


def test_string_flag_and_duplicates() -> None:
    doc = build_ufc([FlagSpec.string("color", "blue", others=["red"])], environment="prod")
    flag = doc["flags"]["color"]
    assert flag["variationType"] == "STRING"
    assert flag["variations"] == {
        "blue": {"key": "blue", "value": "blue"},
        "red": {"key": "red", "value": "red"},
    }
    assert doc["environment"] == {"name": "prod"}
    with pytest.raises(UfcError, match="twice"):
        build_ufc([FlagSpec.boolean("a"), FlagSpec.boolean("a")])
    with pytest.raises(UfcError, match="not defined"):
        build_ufc([FlagSpec("x", "STRING", {"a": "a"}, serve="b")])
