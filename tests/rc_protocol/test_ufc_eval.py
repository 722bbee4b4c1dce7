"""UFC evaluation: reasons, rules and operators, shards, time windows."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from rc_protocol.errors import UfcError
from rc_protocol.ufc import parse_ufc
from rc_protocol.ufc_build import FlagSpec, ufc_bytes
from rc_protocol.ufc_eval import evaluate, shard_of
from tests.rc_protocol.ufc_docs import allocation, one_flag


def _cond(attribute: str, operator: str, value: Any) -> dict[str, Any]:
    return {"attribute": attribute, "operator": operator, "value": value}


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


def test_rules_or_conditions_and_first_allocation_wins() -> None:
    rules = [
        {"conditions": [_cond("country", "ONE_OF", ["FR", "DE"]), _cond("age", "GTE", 18)]},
        {"conditions": [_cond("email", "MATCHES", "@datadoghq\\.com$")]},
    ]
    ufc = parse_ufc(one_flag([allocation("targeted", rules, "a"), allocation("rest", [], "b")]))

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
    ufc = parse_ufc(one_flag([allocation("x", [{"conditions": [cond]}], "a")]))
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
    ufc = parse_ufc(one_flag([alloc]))
    results = [evaluate(ufc, "f", "z", f"user-{i}") for i in range(2_000)]
    assert {r.reason for r in results} == {"SPLIT"}
    share_a = sum(r.value == "A" for r in results) / len(results)
    assert 0.45 < share_a < 0.55
    for i in range(20):
        expected = "A" if shard_of("s", f"user-{i}", 10_000) < 5_000 else "B"
        assert evaluate(ufc, "f", "z", f"user-{i}").value == expected


def test_no_split_match_falls_through_to_default() -> None:
    nobody = [{"salt": "s", "totalShards": 100, "ranges": []}]
    ufc = parse_ufc(one_flag([allocation("none", [], "a", nobody)]))
    assert evaluate(ufc, "f", "z", "k").reason == "DEFAULT"


def test_allocation_time_window() -> None:
    alloc = allocation("window", [], "a")
    alloc["startAt"] = "2024-01-01T00:00:00Z"
    alloc["endAt"] = "2024-02-01T00:00:00Z"
    ufc = parse_ufc(one_flag([alloc, allocation("rest", [], "b")]))
    inside = evaluate(ufc, "f", "z", "k", now=datetime(2024, 1, 15, tzinfo=UTC))
    assert (inside.value, inside.reason) == ("A", "TARGETING_MATCH")
    after = evaluate(ufc, "f", "z", "k", now=datetime(2024, 2, 1, tzinfo=UTC))
    assert after.value == "B"
    with pytest.raises(UfcError, match="now="):
        evaluate(ufc, "f", "z", "k")
    alloc["startAt"] = "2024-01-01T00:00:00"  # no offset: evaluate could not compare it
    with pytest.raises(UfcError, match="startAt '2024-01-01T00:00:00' has no UTC offset"):
        parse_ufc(one_flag([alloc]))
