"""Agent designs, client variants and the scenario of a matrix cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import Settings as AgentSettings
from harness.errors import ScenarioError
from harness.scenario.designs import (
    AGENT_DESIGNS,
    agent_design,
    cell_scenario,
    client_variant,
)
from harness.scenario.model import load_scenario

DEFAULT_AGENT = AgentSettings()


def test_every_design_sets_real_agent_keys_and_legacy_only_the_policy() -> None:
    assert dict(AGENT_DESIGNS["legacy"].agent) == {"policy": "legacy"}
    for design in AGENT_DESIGNS.values():
        for key, value in design.agent.items():
            assert hasattr(DEFAULT_AGENT, key), (design.name, key)
            if key != "policy":
                assert getattr(DEFAULT_AGENT, key) != value, "a design changes a default"


@pytest.mark.parametrize("name", list(AGENT_DESIGNS))
def test_each_design_has_a_builtin_scenario_with_its_keys(name: str) -> None:
    design = AGENT_DESIGNS[name]
    scenario = load_scenario(design.scenario)
    agent = scenario.agent
    for key, value in design.agent.items():
        assert getattr(agent, key) == value, (design.scenario, key)
    others = {"rc_unavailable_s"} | set(design.agent)
    for key in type(agent).model_fields:
        if key not in others:
            assert getattr(agent, key) == getattr(DEFAULT_AGENT, key), (design.scenario, key)


def test_client_variants() -> None:
    assert client_variant("go-2.5").policy == "legacy"
    fast = client_variant("go-2.5+fastlane")
    assert (fast.profile, fast.policy, fast.language) == ("go-2.5", "fastlane", "go")
    assert "client policy fastlane" in fast.description
    with pytest.raises(ScenarioError, match=r"unknown client profile 'go-9'.*go-2\.5"):
        client_variant("go-9")
    with pytest.raises(ScenarioError, match=r"go-2\.5\+phase1"):
        client_variant("go-2.5+turbo")


def test_designs_combine_with_plus_and_refuse_disagreements(tmp_path: Path) -> None:
    combo = agent_design("fastlane-any+single-flight+warm")
    assert dict(combo.agent) == {
        "policy": "fastlane",
        "fast_lane_match": "any",
        "bypass_single_flight": True,
        "prefetch_products": "FFE_FLAGS",
    }
    with pytest.raises(ScenarioError, match="unknown agent design 'turbo'"):
        agent_design("legacy+turbo")
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\nagent: {policy: fastlane, fast_lane_block_ttl_ms: 100}\n")
    design = agent_design(str(mine))
    assert design.name == "mine" and design.agent["fast_lane_block_ttl_ms"] == 100
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: fastlane\n")
    with pytest.raises(ScenarioError, match="an 'agent' section"):
        agent_design(str(bad))


def test_cell_scenario_lays_client_and_design_over_the_setup() -> None:
    cell = cell_scenario(
        "loadtest-setup",
        client_variant("ddtrace-py-4.16"),
        AGENT_DESIGNS["fastlane-any"],
        ["fleet.tracers=7"],
    )
    assert cell.name == "loadtest-setup.ddtrace-py-4.16.fastlane-any"
    assert cell.fleet.tracers == 7 and cell.fleet.agent_start == "with_fleet"
    assert cell.client.request_timeout_s == 2.0 and cell.client.first_poll == "immediate"
    assert (cell.agent.policy, cell.agent.fast_lane_match) == ("fastlane", "any")
    assert cell.agent.rc_unavailable_s == 16  # the set-up's diagnostic stays
    go = cell_scenario("baseline", client_variant("go-2.5+fastlane"), AGENT_DESIGNS["fastlane"])
    assert go.client.client_policy == "fastlane" and go.client.first_poll == "after_interval"
    assert go.model_dump() == load_scenario("phase3").model_copy(update={"name": go.name,
        "description": go.description}).model_dump()  # fmt: skip


def test_a_setup_that_sets_a_timing_field_is_refused(tmp_path: Path) -> None:
    setup = tmp_path / "mine.yaml"
    setup.write_text("name: mine\nclient: {request_timeout_s: 9}\n")
    with pytest.raises(ScenarioError, match=r"sets client\.request_timeout_s"):
        cell_scenario(str(setup), client_variant("go-2.5"), AGENT_DESIGNS["legacy"])
