"""UFC parser: what real parsers reject, always as a UfcError."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from rc_protocol.errors import ProtocolError, UfcError
from rc_protocol.ufc import parse_ufc
from rc_protocol.ufc_eval import evaluate
from tests.rc_protocol.ufc_docs import REFERENCE, allocation, one_flag


def _broken(edit: Any) -> bytes:
    doc = copy.deepcopy(REFERENCE)
    edit(doc)
    return json.dumps(doc).encode()


def _flag_of(doc: dict[str, Any]) -> dict[str, Any]:
    flag: dict[str, Any] = doc["flags"]["my-bool-flag"]
    return flag


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("createdAt"), "createdAt is missing"),
        (lambda d: d.pop("environment"), "environment is missing"),
        (lambda d: d.pop("format"), "format is missing"),
        (lambda d: d.update(format="CLIENT"), "expected 'SERVER'"),
        (lambda d: d.pop("flags"), "flags is missing"),
        (lambda d: _flag_of(d).update(key="other"), "not its map key"),
        (lambda d: _flag_of(d).update(variationType="FLOAT"), "is not one of"),
        (lambda d: _flag_of(d).pop("variationType"), "variationType is missing"),
        (lambda d: _flag_of(d).update(enabled="yes"), "enabled has the wrong type"),
        (
            lambda d: _flag_of(d)["variations"].update(on={"key": "on", "value": "true"}),
            "is not BOOLEAN",
        ),
        (
            lambda d: _flag_of(d)["allocations"][0]["splits"][0].update(variationKey="nope"),
            "not a defined variation",
        ),
    ],
)
def test_parse_rejects_what_real_parsers_reject(edit: Any, message: str) -> None:
    with pytest.raises(UfcError, match=message) as info:
        parse_ufc(_broken(edit))
    assert isinstance(info.value, ProtocolError)


def _shard(**fields: Any) -> list[dict[str, Any]]:
    return [{"salt": "s", "totalShards": 10, "ranges": [{"start": 0, "end": 5}], **fields}]


@pytest.mark.parametrize(
    ("alloc", "message"),
    [
        ({"key": "x", "rules": [5], "splits": []}, r"rules\[0\] must be an object"),
        (
            {"key": "x", "rules": [{"conditions": [3]}], "splits": []},
            r"conditions must be an object",
        ),
        ({"key": "x", "rules": [], "splits": [5]}, r"splits\[0\] must be an object"),
        (allocation("x", [], "a", [[1]]), r"shards\[0\] must be an object"),
        (allocation("x", [], "a", _shard(totalShards=0)), "totalShards is 0, must be > 0"),
        (
            allocation("x", [], "a", _shard(ranges=[{"start": "a", "end": 5}])),
            "start has the wrong",
        ),
        (allocation("x", [], "a", _shard(ranges=[{"start": 0}])), r"ranges\[0\]\.end is missing"),
        (allocation("x", [], "a", _shard(ranges={"start": 0})), "ranges has the wrong type"),
        ({"key": "x", "rules": 5, "splits": []}, r"allocations\[0\]\.rules has the wrong type"),
        (
            {"key": "x", "splits": [{"variationKey": "a", "shards": 5}]},
            r"splits\[0\]\.shards has the wrong type",
        ),
    ],
)
def test_parse_rejects_malformed_allocations_with_a_ufc_error(alloc: Any, message: str) -> None:
    with pytest.raises(UfcError, match=message):
        parse_ufc(one_flag([alloc]))


@pytest.mark.parametrize("raw", [b"", b"nope", b"[]", b"null"])
def test_parse_rejects_non_objects(raw: bytes) -> None:
    with pytest.raises(UfcError):
        parse_ufc(raw)


def test_parse_accepts_dict_and_numeric_types() -> None:
    doc = copy.deepcopy(REFERENCE)
    doc["flags"] = {
        "n": {
            "key": "n",
            "enabled": True,
            "variationType": "NUMERIC",
            "variations": {"pi": {"key": "pi", "value": 3.14}, "one": {"key": "one", "value": 1}},
            "allocations": [allocation("d", [], "pi")],
        }
    }
    ufc = parse_ufc(doc)
    assert evaluate(ufc, "n", 0.0).value == 3.14
    assert evaluate(ufc, "n", 0).value == 3.14  # an int default is a valid NUMERIC
