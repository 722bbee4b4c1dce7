import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ScenarioError
from harness.scenario.model import (
    Scenario,
    builtin_dir,
    builtin_names,
    load_scenario,
    valid_keys,
)


def test_builtins_are_the_proposals_phases_plus_calibration() -> None:
    assert builtin_names() == ["baseline", "phase1", "phase2", "phase3", "instant"]


@pytest.mark.parametrize("name", ["baseline", "phase1", "phase2", "phase3", "instant"])
def test_each_builtin_loads_and_explains_itself(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name and scenario.description
    header = (builtin_dir() / f"{name}.yaml").read_text().split("\nname:")[0]
    assert header.startswith("#") and "proposal" in header


def test_baseline_is_the_proposals_load_test_with_a_default_agent() -> None:
    s = load_scenario("baseline")
    assert s.fleet.tracers == 100 and s.fleet.boot == "all_at_once"
    assert (s.client.client_policy, s.client.first_poll, s.client.ffe_subscription) == (
        "legacy",
        "after_interval",
        "provider",
    )
    assert s.client.poll_interval_s == 5 and s.provider.mode == "event"
    # "default config": nothing of the agent is set but its policy
    raw = yaml.safe_load((builtin_dir() / "baseline.yaml").read_text())
    assert raw["agent"] == {"policy": "legacy"}
    assert s.agent.refresh_interval_s is None and "RC_AGENT_REFRESH_INTERVAL_S" not in s.agent_env()


def test_phases_change_only_what_the_phase_changes() -> None:
    base = load_scenario("baseline")
    p3 = load_scenario("phase3")
    assert p3.client.client_policy == "fastlane" and p3.agent.policy == "fastlane"
    assert p3.client.first_poll == base.client.first_poll
    assert p3.client.poll_scheduling == base.client.poll_scheduling
    assert load_scenario("phase2").agent.policy == "legacy"
    assert load_scenario("phase1").client.client_policy == "phase1"


def test_overrides_are_yaml_scalars_on_dotted_keys() -> None:
    s = load_scenario(
        "baseline",
        [
            "client.poll_interval_s=1",
            "fleet.tracers=12",
            "agent.refresh_interval_s=5",
            "provider.mode=wait",
        ],
    )
    assert s.client.poll_interval_s == 1.0 and s.fleet.tracers == 12
    assert s.agent.refresh_interval_s == 5.0 and s.provider.mode == "wait"


def test_unknown_key_lists_the_valid_keys() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario("baseline", ["client.poll_interval=1"])
    assert "client.poll_interval: unknown key" in str(err.value)
    assert "client.poll_interval_s" in str(err.value)


def test_bad_value_names_the_key() -> None:
    with pytest.raises(ScenarioError, match=r"fleet\.tracers"):
        load_scenario("baseline", ["fleet.tracers=0"])
    with pytest.raises(ScenarioError, match=r"provider\.mode"):
        load_scenario("baseline", ["provider.mode=blocking"])


def test_unknown_section_key_in_a_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nagent:\n  polcy: legacy\n")
    with pytest.raises(ScenarioError, match=r"agent\.polcy"):
        load_scenario(str(path))


def test_unknown_builtin_lists_the_builtins() -> None:
    with pytest.raises(ScenarioError, match="baseline, phase1"):
        load_scenario("nope")


def test_resolved_yaml_loads_back_to_the_same_scenario(tmp_path: Path) -> None:
    s = load_scenario("phase3", ["fleet.tracers=7"])
    path = tmp_path / "scenario.yaml"
    path.write_text(s.to_yaml())
    assert load_scenario(str(path)) == s
    assert "fast_lane_cache_bypass_limit: 50" in path.read_text()  # defaults filled in


def test_toml_files_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('name = "t"\n[fleet]\ntracers = 3\n[provider]\nmode = "wait"\n')
    s = load_scenario(str(path))
    assert s.fleet.tracers == 3 and s.provider.mode == "wait"


def test_sections_map_to_the_contracts_env_vars() -> None:
    s = load_scenario("baseline")
    stub = s.stub_env()
    assert stub["RC_STUB_CLIENT_POLICY"] == "legacy"
    assert stub["RC_STUB_FIRST_POLL"] == "after_interval"
    assert stub["RC_STUB_PROVIDER_MODE"] == "event"
    assert stub["RC_STUB_PROVIDER_INIT_TIMEOUT_S"] == "30.0"
    assert stub["RC_STUB_PRODUCTS"] == "APM_TRACING,FFE_FLAGS"
    assert stub["RC_STUB_FAST_LANE_ENABLED"] == "true"
    assert s.agent_env()["RC_AGENT_CACHE_BYPASS_LIMIT"] == "5"
    assert s.backend_env()["RC_BACKEND_PRODUCTS"] == "FFE_FLAGS"


#: Captured from the code before the scenario sections were derived from the services' settings:
#: the env every built-in passes to each service, and its resolved scenario.yaml.
PINNED = json.loads((Path(__file__).parent / "data" / "scenario_env.json").read_text())


@pytest.mark.parametrize("name", sorted(PINNED))
def test_builtin_env_and_resolved_yaml_are_pinned(name: str) -> None:
    s = load_scenario(name)
    pinned = PINNED[name]
    assert s.backend_env() == pinned["backend_env"]
    assert s.agent_env() == pinned["agent_env"]
    assert s.stub_env() == pinned["stub_env"]
    assert s.to_yaml() == pinned["resolved_yaml"]


def test_every_builtin_is_pinned() -> None:
    assert sorted(PINNED) == sorted(builtin_names())


def test_flag_keys_must_agree() -> None:
    with pytest.raises(ScenarioError, match="flag_key"):
        load_scenario("baseline", ["client.flag_key=other"])


def test_every_key_is_listed() -> None:
    keys = list(valid_keys())
    assert "fleet.tracers" in keys and "timeouts.run_s" in keys and "backend.seed" in keys


SERVICES = {
    "client": ("tracer_stub.settings", ""),
    "provider": ("tracer_stub.settings", "provider_"),
    "agent": ("agent.settings", ""),
    "backend": ("fake_backend.settings", ""),
}


@pytest.mark.parametrize("section", list(SERVICES))
def test_defaults_match_the_services_settings(section: str) -> None:
    """Every scenario field is a real setting of its service, with the service's default (so a
    resolved scenario never changes a service's behaviour by accident)."""
    module_name, prefix = SERVICES[section]
    settings = importlib.import_module(module_name).Settings
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            defaults[f.name] = f.default_factory()
    ours = getattr(Scenario(name="x"), section).model_dump(mode="json")
    for key, value in ours.items():
        assert prefix + key in defaults, f"{section}.{key} is not a setting of {module_name}"
        theirs = defaults[prefix + key]
        if isinstance(theirs, tuple):
            theirs = list(theirs)
        elif isinstance(theirs, str) and isinstance(value, list):
            theirs = theirs.split(",")
        elif hasattr(theirs, "value"):
            theirs = theirs.value
        assert value == theirs, f"{section}.{key}: ours {value!r}, {module_name} {theirs!r}"
