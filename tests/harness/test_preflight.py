"""Preflight refuses, before anything starts, a fleet the machine cannot run, naming the limit
and the option that avoids it (harness.run.preflight)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import PreflightError
from harness.run.preflight import FleetPlan, HostLimits, check, estimated_memory, preflight

ROOMY = HostLimits(open_files_soft=1_048_576, open_files_hard=1_048_576, memory_available=10**12)


def test_a_docker_fleet_past_the_bridge_port_limit_names_the_option_that_fits() -> None:
    [refusal] = check(FleetPlan("docker", 1100, 1), ROOMY).refusals
    assert "1102 containers" in refusal and "1023 ports of a Linux bridge" in refusal
    assert "exchange full" in refusal and "--tracers-per-container 2 or more" in refusal
    assert check(FleetPlan("docker", 1021, 1), ROOMY).refusals == ()  # 1,023 containers fit
    assert check(FleetPlan("docker", 1022, 1), ROOMY).refusals != ()
    assert check(FleetPlan("docker", 1100, 2), ROOMY).refusals == ()


def test_open_files_are_raised_when_allowed_and_refused_past_the_hard_limit() -> None:
    tight = HostLimits(open_files_soft=1024, open_files_hard=4096, memory_available=None)
    assert check(FleetPlan("local", 300, 25), tight).raise_open_files_to is None  # 856 fds
    assert check(FleetPlan("local", 1000, 25), tight).raise_open_files_to == 4096
    [refusal] = check(FleetPlan("local", 3000, 25), tight).refusals
    assert "about 6256 open files" in refusal and "hard limit is 4096 (`ulimit -Hn`)" in refusal
    assert "at most 1920 tracers (--tracers)" in refusal


def test_memory_past_what_is_available_names_the_packing_option() -> None:
    plan = FleetPlan("local", 1000, 1)
    small = HostLimits(1 << 20, 1 << 20, memory_available=estimated_memory(plan) - 1)
    [refusal] = check(plan, small).refusals
    assert "(MemAvailable)" in refusal and "--tracers-per-process" in refusal
    assert check(FleetPlan("local", 1000, 25), small).refusals == ()  # 40 processes fit


def test_preflight_raises_the_soft_limit_or_refuses_with_every_reason() -> None:
    raised: list[int] = []
    tight = HostLimits(open_files_soft=1024, open_files_hard=4096, memory_available=None)
    notes = preflight(FleetPlan("local", 1000, 25), tight, set_soft_limit=raised.append)
    assert raised == [4096] and "raised the open-file soft limit to 4096" in notes[0]
    with pytest.raises(PreflightError, match=r"cannot run that fleet: .*ports.* and .*memory"):
        preflight(FleetPlan("docker", 2000, 1), HostLimits(1 << 20, 1 << 20, 10**9))


def test_the_machine_is_read_from_its_limits_and_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:   20000000 kB\n")
    limits = HostLimits.probe(meminfo)
    assert limits.memory_available == 20_000_000 * 1024
    assert 0 < limits.open_files_soft <= limits.open_files_hard or limits.open_files_hard < 0
    assert HostLimits.probe(tmp_path / "absent").memory_available is None
