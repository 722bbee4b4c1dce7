"""UFC builder, parser and evaluator."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from rc_protocol.errors import ProtocolError, UfcError
from rc_protocol.ufc import (
    FlagSpec,
    build_ufc,
    evaluate,
    parse_ufc,
    shard_of,
    ufc_bytes,
)

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


def test_static_evaluation() -> None:
    ufc = parse_ufc(ufc_bytes())
    res = evaluate(ufc, "my-bool-flag", False, "user-1")
    assert (res.value, res.reason, res.variant) == (True, "STATIC", "on")
    off = parse_ufc(ufc_bytes([FlagSpec.boolean("my-bool-flag", False)]))
    assert evaluate(off, "my-bool-flag", True).value is False


def test_disabled_not_found_not_ready_type_mismatch() -> None:
    ufc = parse_ufc(ufc_bytes([FlagSpec.boolean("f", enabled=False)]))
    assert evaluate(ufc, "f", False).reason == "DISABLED"
    assert evaluate(ufc, "f", False).value is False
    missing = evaluate(ufc, "other", "dflt")
    assert (missing.value, missing.reason, missing.error_code) == (
        "dflt",
        "FLAG_NOT_FOUND",
        "FLAG_NOT_FOUND",
    )
    assert evaluate(None, "f", 1).reason == "PROVIDER_NOT_READY"
    enabled = parse_ufc(ufc_bytes([FlagSpec.boolean("f")]))
    mismatch = evaluate(enabled, "f", "a string")
    assert (mismatch.value, mismatch.error_code) == ("a string", "TYPE_MISMATCH")
    assert evaluate(enabled, "f", 1).error_code == "TYPE_MISMATCH"  # int is not BOOLEAN


def _flag(allocations: list[dict[str, Any]], vtype: str = "STRING") -> bytes:
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


def _alloc(key: str, rules: list[Any], variation: str, shards: list[Any] | None = None) -> Any:
    return {
        "key": key,
        "rules": rules,
        "splits": [{"variationKey": variation, "shards": shards or []}],
    }


def _cond(attribute: str, operator: str, value: Any) -> dict[str, Any]:
    return {"attribute": attribute, "operator": operator, "value": value}


def test_rules_or_conditions_and_first_allocation_wins() -> None:
    rules = [
        {"conditions": [_cond("country", "ONE_OF", ["FR", "DE"]), _cond("age", "GTE", 18)]},
        {"conditions": [_cond("email", "MATCHES", "@datadoghq\\.com$")]},
    ]
    ufc = parse_ufc(_flag([_alloc("targeted", rules, "a"), _alloc("rest", [], "b")]))

    def value(attrs: dict[str, Any]) -> tuple[str, str]:
        res = evaluate(ufc, "f", "z", "key", attrs)
        return res.value, res.reason

    assert value({"country": "FR", "age": 30}) == ("A", "TARGETING_MATCH")
    assert value({"country": "FR", "age": 17}) == ("B", "STATIC")  # AND fails
    assert value({"country": "US", "email": "x@datadoghq.com"}) == ("A", "TARGETING_MATCH")
    assert value({"age": 30}) == ("B", "STATIC")  # missing attribute never matches ONE_OF
    assert value({}) == ("B", "STATIC")


@pytest.mark.parametrize(
    ("cond", "attrs", "matches"),
    [
        (_cond("n", "GT", 5), {"n": 6}, True),
        (_cond("n", "GT", 5), {"n": 5}, False),
        (_cond("n", "LTE", 5), {"n": 5.0}, True),
        (_cond("n", "LT", 5), {"n": "4"}, True),
        (_cond("n", "GTE", 5), {"n": "abc"}, False),
        (_cond("c", "NOT_ONE_OF", ["FR"]), {"c": "US"}, True),
        (_cond("c", "NOT_ONE_OF", ["FR"]), {"c": "FR"}, False),
        (_cond("c", "NOT_ONE_OF", ["FR"]), {}, False),
        (_cond("b", "ONE_OF", ["true"]), {"b": True}, True),
        (_cond("n", "ONE_OF", ["3"]), {"n": 3}, True),
        (_cond("s", "NOT_MATCHES", "^x"), {"s": "yes"}, True),
        (_cond("s", "MATCHES", "("), {"s": "yes"}, False),
        (_cond("s", "IS_NULL", True), {}, True),
        (_cond("s", "IS_NULL", False), {"s": 1}, True),
        (_cond("s", "UNKNOWN_OP", 1), {"s": 1}, False),
        (_cond("id", "ONE_OF", ["key"]), {}, True),  # id falls back to the targeting key
    ],
)
def test_operators(cond: dict[str, Any], attrs: dict[str, Any], matches: bool) -> None:
    ufc = parse_ufc(_flag([_alloc("x", [{"conditions": [cond]}], "a")]))
    res = evaluate(ufc, "f", "z", "key", attrs)
    assert (res.value == "A") is matches
    assert res.reason == ("TARGETING_MATCH" if matches else "DEFAULT")


def test_shard_is_md5_prefix() -> None:
    digest = hashlib.md5(b"salty-user-42").hexdigest()
    assert shard_of("salty", "user-42", 10_000) == int(digest[:8], 16) % 10_000


def test_split_by_shards_is_deterministic_and_roughly_even() -> None:
    half = [{"salt": "s", "totalShards": 10_000, "ranges": [{"start": 0, "end": 5_000}]}]
    other = [{"salt": "s", "totalShards": 10_000, "ranges": [{"start": 5_000, "end": 10_000}]}]
    alloc = {
        "key": "rollout",
        "rules": [],
        "splits": [
            {"variationKey": "a", "shards": half},
            {"variationKey": "b", "shards": other},
        ],
    }
    ufc = parse_ufc(_flag([alloc]))
    results = [evaluate(ufc, "f", "z", f"user-{i}") for i in range(2_000)]
    assert {r.reason for r in results} == {"SPLIT"}
    share_a = sum(r.value == "A" for r in results) / len(results)
    assert 0.45 < share_a < 0.55
    for i in range(20):
        expected = "A" if shard_of("s", f"user-{i}", 10_000) < 5_000 else "B"
        assert evaluate(ufc, "f", "z", f"user-{i}").value == expected


def test_no_split_match_falls_through_to_default() -> None:
    nobody = [{"salt": "s", "totalShards": 100, "ranges": []}]
    ufc = parse_ufc(_flag([_alloc("none", [], "a", nobody)]))
    assert evaluate(ufc, "f", "z", "k").reason == "DEFAULT"


def test_allocation_time_window() -> None:
    alloc = _alloc("window", [], "a")
    alloc["startAt"] = "2024-01-01T00:00:00Z"
    alloc["endAt"] = "2024-02-01T00:00:00Z"
    ufc = parse_ufc(_flag([alloc, _alloc("rest", [], "b")]))
    inside = evaluate(ufc, "f", "z", "k", now=datetime(2024, 1, 15, tzinfo=UTC))
    assert (inside.value, inside.reason) == ("A", "TARGETING_MATCH")
    after = evaluate(ufc, "f", "z", "k", now=datetime(2024, 2, 1, tzinfo=UTC))
    assert after.value == "B"
    with pytest.raises(UfcError, match="now="):
        evaluate(ufc, "f", "z", "k")
    alloc["startAt"] = "2024-01-01T00:00:00"  # no offset: evaluate could not compare it
    with pytest.raises(UfcError, match="startAt '2024-01-01T00:00:00' has no UTC offset"):
        parse_ufc(_flag([alloc]))


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
        (_alloc("x", [], "a", [[1]]), r"shards\[0\] must be an object"),
        (_alloc("x", [], "a", _shard(totalShards=0)), "totalShards is 0, must be > 0"),
        (_alloc("x", [], "a", _shard(ranges=[{"start": "a", "end": 5}])), "start has the wrong"),
        (_alloc("x", [], "a", _shard(ranges=[{"start": 0}])), r"ranges\[0\]\.end is missing"),
        (_alloc("x", [], "a", _shard(ranges={"start": 0})), "ranges has the wrong type"),
        ({"key": "x", "rules": 5, "splits": []}, r"allocations\[0\]\.rules has the wrong type"),
        (
            {"key": "x", "splits": [{"variationKey": "a", "shards": 5}]},
            r"splits\[0\]\.shards has the wrong type",
        ),
    ],
)
def test_parse_rejects_malformed_allocations_with_a_ufc_error(alloc: Any, message: str) -> None:
    with pytest.raises(UfcError, match=message):
        parse_ufc(_flag([alloc]))


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
            "allocations": [_alloc("d", [], "pi")],
        }
    }
    ufc = parse_ufc(doc)
    assert evaluate(ufc, "n", 0.0).value == 3.14
    assert evaluate(ufc, "n", 0).value == 3.14  # an int default is a valid NUMERIC
