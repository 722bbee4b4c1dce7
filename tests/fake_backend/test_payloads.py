from __future__ import annotations

import json

import pytest

from fake_backend.payloads import apm_tracing, asm_data, ffe_flags
from rc_protocol.ufc import parse_ufc
from rc_protocol.ufc_eval import evaluate


def test_ffe_flags_is_a_small_valid_ufc_whose_flag_evaluates_true() -> None:
    raw = ffe_flags("rc-fastlane-flag", "prod")(0)
    assert len(raw) == 355  # the size the module docstring states
    ufc = parse_ufc(raw)
    resolution = evaluate(ufc, "rc-fastlane-flag", False, "user-1", {})
    assert resolution.value is True


def test_ffe_flags_revision_changes_bytes() -> None:
    build = ffe_flags("k", "prod")
    assert build(0) != build(1)
    assert build(1) == build(1)


@pytest.mark.parametrize("target", [1024, 300 * 1024])
def test_asm_data_is_valid_json_close_to_the_target_size(target: int) -> None:
    raw = asm_data(target)(0)
    doc = json.loads(raw)
    assert target <= len(raw) <= target + 100
    ids = [r["id"] for r in doc["rules_data"]]
    assert ids == ["blocked_users", "blocked_ips"]
    assert doc["rules_data"][1]["type"] == "ip_with_expiration"


def test_asm_data_revision_changes_bytes() -> None:
    build = asm_data(2048)
    assert build(0) != build(1)


def test_apm_tracing_is_small_json() -> None:
    raw = apm_tracing("cfg")(3)
    doc = json.loads(raw)
    assert doc["revision"] == 3
    assert doc["id"] == "cfg"
    assert len(raw) < 300
