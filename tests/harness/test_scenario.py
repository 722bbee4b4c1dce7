import dataclasses
import enum
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from agent.settings import Settings as AgentSettings
from fake_backend.settings import Settings as BackendSettings
from harness.errors import ScenarioError
from harness.scenario.model import (
    Scenario,
    builtin_dir,
    builtin_names,
    load_scenario,
    valid_keys,
)
from harness.scenario.sections import derive
from rc_protocol.settings import EnvSettings, setting
from tracer_stub.settings import Settings as TracerStubSettings


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
    # the service's own rules, from its settings' __post_init__
    with pytest.raises(ScenarioError, match=r"client\.poll_interval_s: .*expected a number > 0"):
        load_scenario("baseline", ["client.poll_interval_s=0"])
    with pytest.raises(ScenarioError, match=r"backend\.error_status: .*expected 500 or 503"):
        load_scenario("baseline", ["backend.error_status=404"])


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


#: Captured from the code before the scenario sections were derived from the services' settings
#: (then `client.profile`, `fleet.kind`, `fleet.members`, `fleet.start_offsets_ms` and the
#: client's `request_retry` and `agent_reached_at_start` were added, the only changes since):
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


#: The fields the harness sets for each process itself (docs/contracts.md, "The harness itself
#: sets"), written here apart from the model: every other field of a service is a scenario key.
PROCESS_FIELDS = {
    "client": {"host", "port", "tracers", "tracer_index_base", "start_at", "boot_stagger_ms",
               "run_id", "agent_url", "log_level", "provider_mode", "provider_init_timeout_s"},
    "provider": None,
    "agent": {"host", "port", "backend_url", "api_key", "run_id", "log_level"},
    "backend": {"host", "port", "run_id", "api_key", "log_level"},
}  # fmt: skip
SERVICES = {
    "client": TracerStubSettings,
    "provider": TracerStubSettings,
    "agent": AgentSettings,
    "backend": BackendSettings,
}


@pytest.mark.parametrize("section", list(SERVICES))
def test_a_service_section_holds_every_setting_but_the_process_ones(section: str) -> None:
    model = type(getattr(Scenario(name="x"), section))
    ours = {model.field_map[key] for key in model.model_fields}
    theirs = {f.name for f in dataclasses.fields(SERVICES[section])}
    process = PROCESS_FIELDS[section]
    expected = {"provider_mode", "provider_init_timeout_s"} if process is None else theirs - process
    assert ours == expected


@pytest.mark.parametrize("section", list(SERVICES))
def test_a_service_section_rejects_an_unknown_key(section: str) -> None:
    model = type(getattr(Scenario(name="x"), section))
    with pytest.raises(ValidationError, match="polcy"):
        model.model_validate({"polcy": 1})


class Tint(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Toy(EnvSettings):
    """A service's settings, to derive a section from."""

    env_prefix = "RC_TOY_"

    port: int = setting(1, "process-level")
    tint: Tint = setting(Tint.RED, "an enum")
    tags: tuple[str, ...] = setting(("a", "b"), "a comma list")
    limit: int | None = setting(None, "optional")
    ratio: float = setting(0.5, "a share")

    def __post_init__(self) -> None:
        self.require(0 <= self.ratio <= 1, "ratio", "a share in [0, 1]")


def test_a_derived_section_takes_its_keys_types_defaults_and_rules_from_the_dataclass() -> None:
    section = derive("ToySection", Toy, exclude=("port",), doc="toy")
    assert list(section.model_fields) == ["tint", "tags", "limit", "ratio"]
    default = section()
    assert default.model_dump(mode="json") == {
        "tint": "red",
        "tags": ["a", "b"],
        "limit": None,
        "ratio": 0.5,
    }
    assert section.model_fields["ratio"].description == "a share"
    assert default.to_env() == {"RC_TOY_TINT": "red", "RC_TOY_TAGS": "a,b", "RC_TOY_RATIO": "0.5"}
    assert section(tags=["x"], limit=3).settings_values() == {
        "tint": "red",
        "tags": ("x",),
        "limit": 3,
        "ratio": 0.5,
    }
    with pytest.raises(ValidationError, match=r"ratio\n.*expected a share in \[0, 1\]"):
        section(ratio=2)
    with pytest.raises(ValidationError, match="tint"):
        section(tint="green")
    with pytest.raises(ValidationError, match="port"):
        section(port=2)


def test_a_derived_section_renames_and_checks_what_it_is_given() -> None:
    section = derive("Sub", Toy, only=("ratio",), rename={"ratio": "share"}, doc="sub")
    assert section(share=0.25).to_env() == {"RC_TOY_RATIO": "0.25"}
    with pytest.raises(TypeError, match="nope"):
        derive("Bad", Toy, exclude=("nope",), doc="bad")
    with pytest.raises(TypeError, match="shadow"):
        derive("Bad", Toy, only=("ratio",), rename={"ratio": "to_env"}, doc="bad")


def test_a_client_profile_fills_the_client_keys_not_given() -> None:
    s = load_scenario("baseline", ["client.profile=ddtrace-py-4.16", "client.poll_interval_s=1"])
    assert (s.client.request_timeout_s, s.client.first_poll, s.client.wire_bytes) == (
        2.0,
        "immediate",
        "array",
    )
    assert s.client.poll_interval_s == 1.0  # explicit keys win over the profile
    assert s.client.client_policy == "legacy"  # not a profile field: the scenario's


@pytest.mark.parametrize("name", ["baseline", "phase1", "phase2", "phase3"])
def test_the_proposals_scenarios_name_the_go_2_5_profile(name: str, tmp_path: Path) -> None:
    s = load_scenario(name)
    assert s.client.profile == "go-2.5" and s.client.first_poll == "after_interval"
    resolved = tmp_path / "scenario.yaml"
    resolved.write_text(s.to_yaml())
    assert load_scenario(str(resolved)) == s


def test_an_unknown_profile_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"client\.profile"):
        load_scenario("baseline", ["client.profile=go-9"])
