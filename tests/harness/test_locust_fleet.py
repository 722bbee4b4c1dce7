"""The pure half of the locust runtime: folding the runner's specs, handles, start-up checks."""

from __future__ import annotations

import pytest

from harness.errors import ComponentStartError
from harness.run.kinds import fleet_specs
from harness.runtime.base import ComponentSpec, ComponentState, ComponentStatus
from harness.runtime.locust_fleet import (
    FleetRequest,
    WorkerHandle,
    check_fleet,
    worker_handles,
    worker_spec,
)
from harness.scenario.model import load_scenario
from tracer_locust.control import (
    Assignment,
    MasterPhase,
    MasterStatus,
    WorkerHello,
    WorkerStatus,
)


class Proc:
    """A stand-in process handle."""

    def __init__(self, name: str, pid: int, status: ComponentStatus = ComponentStatus.RUNNING):
        self.spec = ComponentSpec(name, "tracer", "m")
        self.pid = pid
        self.status = status
        self.host_url = self.internal_url = f"http://{name}"

    def state(self) -> ComponentState:
        code = 1 if self.status is ComponentStatus.EXITED else None
        return ComponentState(self.status, exit_code=code)

    def log_tail(self, lines: int = 30) -> str:
        return f"last lines of {self.spec.name}"


def worker(wid: str, index: int, first: int, count: int, pid: int, host: str) -> WorkerStatus:
    return WorkerStatus(
        id=wid,
        index=index,
        state="running",
        hello=WorkerHello(metrics_url=f"http://127.0.0.1:90{index:02d}", hostname=host, pid=pid),
        assignment=Assignment(first_tracer=first, tracers=count),
    )


def test_the_runners_packs_fold_into_one_fleet() -> None:
    scenario = load_scenario("phase3", ["fleet.tracers=60"])
    specs = fleet_specs(scenario, 25, "http://127.0.0.1:8126", "rid", 1000.0)
    fleet = FleetRequest.from_specs(specs)
    assert (fleet.tracers, fleet.start_at, fleet.ramp_s) == (60, 1000.0, 0.0)
    assert fleet.stub_env["RC_STUB_AGENT_URL"] == "http://127.0.0.1:8126"
    assert "RC_STUB_TRACERS" not in fleet.stub_env
    env = fleet.master_env(
        run_id="rid",
        expect_workers=3,
        bind_host="127.0.0.1",
        bind_port=5557,
        timeout_s=60,
        csv_prefix="/r/locust/locust",
        web_ui=False,
        web_port=8089,
    )
    assert env["RC_LOCUST_USERS"] == "60" and env["RC_LOCUST_EXPECT_WORKERS"] == "3"
    assert env["RC_LOCUST_START_AT"] == "1000.000" and env["RC_LOCUST_RAMP_S"] == "0"


def test_a_ramp_becomes_the_fleets_ramp_time() -> None:
    scenario = load_scenario("phase3", ["fleet.tracers=50", "fleet.boot=ramp", "fleet.ramp_s=20"])
    fleet = FleetRequest.from_specs(fleet_specs(scenario, 25, "http://a:1", "r", 5.0))
    assert fleet.ramp_s == pytest.approx(20.0)


def test_packs_with_a_gap_are_refused() -> None:
    specs = [
        ComponentSpec("a", "tracer", "m", tracers=5, first_tracer=0),
        ComponentSpec("b", "tracer", "m", tracers=5, first_tracer=6),
    ]
    with pytest.raises(ValueError, match="not contiguous"):
        FleetRequest.from_specs(specs)


def test_each_assigned_worker_is_a_tracer_component_with_its_range() -> None:
    import os

    here = os.uname().nodename
    status = MasterStatus(
        phase=MasterPhase.ASSIGNED,
        expected_workers=2,
        users=30,
        workers=[
            worker("w-b", 1, 20, 10, pid=12, host="elsewhere"),
            worker("w-a", 0, 0, 20, pid=11, host=here),
        ],
    )
    local = Proc("locust-worker-00", 11)
    views: list[str] = []

    def view(wid: str) -> WorkerStatus | None:
        views.append(wid)
        return None  # the master has forgotten it

    handles = worker_handles(status, {11: local}, view)
    assert [(h.spec.name, h.spec.first_tracer, h.spec.tracers) for h in handles] == [
        ("locust-worker-00", 0, 20),
        ("locust-remote-01", 20, 10),
    ]
    assert handles[0].host_url == "http://127.0.0.1:9000"
    assert handles[0].state().status is ComponentStatus.RUNNING
    assert handles[1].state().crashed and views == ["w-b"]


def test_a_remote_worker_the_master_sees_running_is_running() -> None:
    seen = worker("w", 0, 0, 5, pid=1, host="far")
    handle = WorkerHandle(ComponentSpec("locust-remote-00", "tracer", "m"), "u", None, lambda: seen)
    assert handle.state().status is ComponentStatus.RUNNING
    assert "another machine" in handle.log_tail()


def status(phase: MasterPhase, error: str = "", workers: int = 0) -> MasterStatus:
    return MasterStatus(
        phase=phase,
        expected_workers=2,
        users=10,
        error=error,
        workers=[worker(f"w{i}", i, 0, 5, pid=100 + i, host="h") for i in range(workers)],
    )


def test_the_fleet_is_ready_once_assigned() -> None:
    master, workers = Proc("locust-master", 1), [Proc("locust-worker-00", 100)]
    assert not check_fleet(status(MasterPhase.WAITING), master, workers, 0.0, 60, now=lambda: 1.0)
    assert check_fleet(status(MasterPhase.ASSIGNED), master, workers, 0.0, 60, now=lambda: 1.0)


def test_a_master_that_gave_up_is_named_with_its_reason_and_the_silent_workers_logs() -> None:
    master = Proc("locust-master", 1, ComponentStatus.EXITED)
    workers = [Proc("locust-worker-00", 100), Proc("locust-worker-01", 555)]
    gave_up = status(MasterPhase.FAILED, "1 of 2 Locust workers connected within 60 s", 1)
    with pytest.raises(ComponentStartError) as caught:
        check_fleet(gave_up, master, workers, 0.0, 60)
    text = str(caught.value)
    assert "locust-master failed to start: 1 of 2 Locust workers connected" in text
    assert "locust-worker-01 (never connected)" in text
    assert "locust-worker-00 (never connected)" not in text


def test_a_worker_that_died_during_start_up_is_named() -> None:
    master = Proc("locust-master", 1)
    workers = [Proc("locust-worker-00", 100, ComponentStatus.EXITED)]
    with pytest.raises(ComponentStartError, match="locust-worker-00 failed to start: exited"):
        check_fleet(status(MasterPhase.WAITING), master, workers, 0.0, 60)


def test_a_silent_fleet_times_out_saying_how_many_workers_came() -> None:
    master, workers = Proc("locust-master", 1), [Proc("locust-worker-00", 100)]
    with pytest.raises(ComponentStartError, match="1 of 2 Locust workers connected within 5 s"):
        check_fleet(status(MasterPhase.WAITING, workers=1), master, workers, 0.0, 5, now=lambda: 6)


def test_a_local_worker_runs_the_worker_module_against_the_master_port() -> None:
    spec = worker_spec(3, 41000)
    assert spec.name == "locust-worker-03" and spec.module == "tracer_locust.worker"
    assert list(spec.args) == ["--master-host", "127.0.0.1", "--master-port", "41000"]


def test_a_fleet_without_workers_is_refused_before_anything_starts(tmp_path: object) -> None:
    from harness.errors import HarnessError
    from harness.runtime.locust import LocustRuntime

    with pytest.raises(HarnessError, match="at least one worker"):
        LocustRuntime("rid", workers=0, extra_workers=0)
