"""harness.run.kinds: the component specs of mixed fleets."""

from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.run.kinds import equivalent_processes, fleet_specs, prepare_launches, real_env
from harness.runtime.tracer_apps import AppLaunch
from harness.scenario.model import load_scenario

MIXED = (
    "fleet.members=[{kind: stub, tracers: 4}, {kind: ddtrace-py, tracers: 3}, "
    "{kind: dd-trace-js, tracers: 3}]"
)
LAUNCHES = {
    "ddtrace-py": AppLaunch("ddtrace-py", ("/venv/bin/python", "/apps/app.py")),
    "dd-trace-js": AppLaunch("dd-trace-js", ("node", "/apps/app.js"), {"NODE_PATH": "/nm"}),
}


def test_members_get_consecutive_indexes_stubs_packed_real_tracers_one_per_process() -> None:
    s = load_scenario("baseline", [MIXED])
    specs = fleet_specs(s, 3, "http://agent:1", "rid", 100.0, launches=LAUNCHES)
    assert [(p.name, p.kind, list(p.tracer_indexes)) for p in specs] == [
        ("tracers-000", "stub", [0, 1, 2]),
        ("tracers-001", "stub", [3]),
        ("ddtrace-py-000", "ddtrace-py", [4]),
        ("ddtrace-py-001", "ddtrace-py", [5]),
        ("ddtrace-py-002", "ddtrace-py", [6]),
        ("dd-trace-js-000", "dd-trace-js", [7]),
        ("dd-trace-js-001", "dd-trace-js", [8]),
        ("dd-trace-js-002", "dd-trace-js", [9]),
    ]
    assert all(p.role == "tracer" for p in specs)
    py, js = specs[2], specs[5]
    assert py.command == ("/venv/bin/python", "/apps/app.py") and specs[0].command == ()
    assert js.env["NODE_PATH"] == "/nm"
    assert py.env["RC_STUB_TRACER_INDEX_BASE"] == "4" and py.env["RC_STUB_START_AT"] == "100.000"
    assert py.env["DD_FEATURE_FLAGS_CONFIGURATION_SOURCE"] == "remote_config"
    assert py.env["DD_TRACE_AGENT_URL"] == "http://agent:1" and py.env["DD_SERVICE"] == "rc-stub-4"


def test_real_env_carries_the_scenarios_poll_interval_and_init_timeout() -> None:
    s = load_scenario("baseline", ["client.poll_interval_s=2", "provider.init_timeout_s=10"])
    env = real_env(s, 0)
    assert env["DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS"] == "2"
    assert env["DD_EXPERIMENTAL_FLAGGING_PROVIDER_INITIALIZATION_TIMEOUT_MS"] == "10000"


def test_a_fleet_of_one_kind_from_tracer_kind() -> None:
    s = load_scenario("baseline", ["fleet.tracers=2", "fleet.kind=dd-trace-js"])
    specs = fleet_specs(s, 25, "http://a:1", "r", 0.0, launches=LAUNCHES)
    assert [p.name for p in specs] == ["dd-trace-js-000", "dd-trace-js-001"]


def test_real_processes_weigh_more_in_the_boot_margin() -> None:
    assert equivalent_processes(load_scenario("baseline", ["fleet.tracers=100"]), 25) == 4
    assert equivalent_processes(load_scenario("baseline", [MIXED]), 25) == 1 + 18


def test_docker_launches_need_no_install_and_local_ones_install() -> None:
    s = load_scenario("baseline", [MIXED])
    installed: list[str] = []

    def install(kind: str, *, say: object) -> AppLaunch:
        installed.append(kind)
        return LAUNCHES[kind]

    said: list[str] = []
    docker = prepare_launches(s, "docker", said.append, install=install)
    assert installed == [] and docker["ddtrace-py"].command[0].startswith("/opt/")
    assert prepare_launches(s, "local", said.append, install=install) == LAUNCHES
    assert installed == ["ddtrace-py", "dd-trace-js"]


def test_real_tracers_need_processes() -> None:
    s = load_scenario("baseline", [MIXED])
    with pytest.raises(ScenarioError, match="run on the local or docker runtime, not on locust"):
        prepare_launches(s, "locust", print)
    assert prepare_launches(load_scenario("baseline"), "locust", print) == {}


def test_members_must_add_up_and_name_known_kinds() -> None:
    with pytest.raises(ScenarioError, match=r"add up to 4 tracers but fleet\.tracers is 5"):
        load_scenario("baseline", ["fleet.members=[{kind: stub, tracers: 4}]", "fleet.tracers=5"])
    with pytest.raises(ScenarioError, match=r"fleet.members.0.kind"):
        load_scenario("baseline", ["fleet.members=[{kind: java, tracers: 4}]"])
    with pytest.raises(ScenarioError, match="names a kind twice"):
        load_scenario(
            "baseline", ["fleet.members=[{kind: stub, tracers: 1}, {kind: stub, tracers: 2}]"]
        )
    assert load_scenario("baseline", [MIXED]).fleet.tracers == 10
