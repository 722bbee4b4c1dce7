"""The ``faults:`` section of a scenario (harness.scenario.faults)."""

import typing
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.runtime.base import ALL_FAULT_KINDS
from harness.scenario.faults import FaultEvent, TracerKill, from_backend_windows
from harness.scenario.model import load_scenario


def kinds_of_the_union() -> set[str]:
    union = typing.get_args(FaultEvent)[0]
    return {
        typing.get_args(cls.model_fields["kind"].annotation)[0] for cls in typing.get_args(union)
    }


def test_every_kind_is_known_to_the_runtimes() -> None:
    assert kinds_of_the_union() == set(ALL_FAULT_KINDS)


def test_faults_load_from_set_and_round_trip_through_the_resolved_yaml(tmp_path: Path) -> None:
    s = load_scenario("baseline", ["faults=[{kind: network_cut, at_s: 3, duration_s: 10}, "
                                   "{kind: tracer_kill, at_s: 1, fraction: 0.1}]"])  # fmt: skip
    assert [f.kind for f in s.timed_faults()] == ["tracer_kill", "network_cut"]  # time order
    saved = tmp_path / "scenario.yaml"
    saved.write_text(s.to_yaml())
    assert load_scenario(str(saved)).faults == s.faults


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ("[{kind: tracer_kil, at_s: 0, fraction: 0.1}]", "does not match any of the expected"),
        ("[{kind: tracer_kill, at_s: 0, fraction: 0}]", "faults.0.tracer_kill.fraction"),
        ("[{kind: network_cut, at_s: -1, duration_s: 1}]", "faults.0.network_cut.at_s"),
        ("[{kind: network_cut, at_s: 1}]", "faults.0.network_cut.duration_s: Field required"),
        ("[{kind: agent_kill, at_s: 1, duration_s: 3}]", "duration_s: Extra inputs"),
        ("[{kind: bad_payload, at_s: 0, duration_s: 1, corruption: rot13}]", "corruption"),
        ("[{kind: agent_kill, at_s: 1}, {kind: agent_restart, at_s: 2}]",
         "agent_restart at 2 s comes after agent_kill at 1 s"),
    ],
)  # fmt: skip
def test_bad_faults_are_named(faults: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario("baseline", [f"faults={faults}"])


def test_the_backends_window_settings_become_faults_from_the_boot() -> None:
    s = load_scenario("baseline", ["backend.outage_windows=0-8, 20-21", "backend.outage_status=500",
                                   "backend.rate_limit_windows=10-12"])  # fmt: skip
    assert [f.describe() for f in s.timed_faults()] == [
        "backend_outage at 0-8 s (status=500)",
        "backend_429 at 10-12 s (retry_after_s=None)",
        "backend_outage at 20-21 s (status=500)",
    ]
    assert "RC_BACKEND_OUTAGE_WINDOWS" not in s.backend_env()  # the harness arms them
    assert "RC_BACKEND_RATE_LIMIT_WINDOWS" not in s.backend_env()


def test_a_bad_window_setting_is_named() -> None:
    with pytest.raises(ScenarioError, match="outage window '8' is not 'start-end'"):
        load_scenario("baseline", ["backend.outage_windows='8'"])
    with pytest.raises(ValueError, match="'-2-3' is not 'start-end'"):
        from_backend_windows("-2-3", "")


@pytest.mark.parametrize(
    ("fraction", "processes", "killed"),
    [(0.1, 4, 1), (0.25, 4, 1), (0.1, 100, 10), (0.5, 3, 2), (1.0, 7, 7)],
)
def test_tracer_kill_rounds_the_victims_up(fraction: float, processes: int, killed: int) -> None:
    assert TracerKill(kind="tracer_kill", at_s=0, fraction=fraction).victims(processes) == killed
