"""Tracer predicates (executePredicate), Masterminds constraints, configExpired."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agent.errors import ResponseError
from agent.predicates import (
    Version,
    config_expired,
    execute_predicate,
    parse_constraint,
    predicates_v1,
)


@dataclass
class Tracer:
    runtime_id: str = "rt-1"
    service: str = "svc"
    env: str = "prod"
    language: str = "go"
    app_version: str = "1.0"
    tracer_version: str = "2.5.0"


def test_empty_list_matches_all() -> None:
    assert execute_predicate("c1", Tracer(), [])


@pytest.mark.parametrize(
    ("predicate", "matches"),
    [
        ({"clientID": "c1"}, True),
        ({"clientID": "other"}, False),
        ({"runtimeID": "rt-1", "service": "svc"}, True),
        ({"service": "svc", "environment": "staging"}, False),
        ({"language": "python"}, False),
        ({"appVersion": "1.0", "language": "go"}, True),
        ({"tracerVersion": ">=2.0.0"}, True),
        ({"tracerVersion": "<2.5.0"}, False),
        ({"service": "", "environment": ""}, True),  # empty fields are wildcards
    ],
)
def test_each_non_empty_field_must_equal(predicate: dict[str, str], matches: bool) -> None:
    assert execute_predicate("c1", Tracer(), [predicate]) is matches


def test_any_predicate_in_the_list_matching_keeps_the_target() -> None:
    assert execute_predicate("c1", Tracer(), [{"service": "x"}, {"env": "ignored-key"}])
    assert not execute_predicate("c1", Tracer(), [{"service": "x"}, {"language": "java"}])


def test_unparsable_tracer_version_fails_the_request() -> None:
    with pytest.raises(ResponseError, match="tracerVersion"):
        execute_predicate("c1", Tracer(tracer_version="banana"), [{"tracerVersion": ">=1"}])


@pytest.mark.parametrize(
    ("constraint", "version", "ok"),
    [
        (">= 1.0, < 2.0", "1.5.0", True),
        (">= 1.0 < 2.0", "2.5.0", False),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.3.0", False),
        ("^1.2", "1.9.0", True),
        ("^1.2", "2.0.0", False),
        ("1.2.x", "1.2.7", True),
        ("<1.0 || >=3", "3.1.0", True),
        ("1.0 - 2.0", "2.0.0", True),
        (">1.0", "1.1.0-beta", False),  # pre-releases need a pre-release constraint
        ("!=1.2.3", "1.2.3", False),
        ("*", "0.0.1", True),
        ("v2.5.0", "2.5.0", True),
    ],
)
def test_semver_constraints(constraint: str, version: str, ok: bool) -> None:
    assert parse_constraint(constraint)(Version.parse(version)) is ok


def test_predicates_v1_unwraps_and_null_means_match_all() -> None:
    assert predicates_v1(None) is None
    assert predicates_v1({"tracer_predicates_v1": None}) is None
    assert predicates_v1({"tracer_predicates_v1": [{"service": "a"}]}) == [{"service": "a"}]


def test_config_expired() -> None:
    assert not config_expired(0, 2e9)
    assert not config_expired(1_700_000_000, 1_700_000_000.0)
    assert config_expired(1_700_000_000, 1_700_000_000.5)
