"""A run writes what it collected on every exit path (harness.run.finish), driven through
``run_scenario`` on the in-memory runtime."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.errors import ComponentStartError, ResultsError, RuntimeErrorBase
from harness.results.folder import load_summary
from harness.run.events import Progress
from harness.run.runner import run_scenario
from harness.runtime.base import ComponentHandle, Runtime
from harness.runtime.fake import FakeRuntime, FakeScript
from harness.scenario.model import load_scenario
from rc_protocol.clock import FastForwardClock


class Troubled(FakeRuntime):
    """A fake runtime whose stop, log saving or close fail as asked, and which records
    whether the results were on disk when it was asked to stop."""

    def __init__(self, run_id: str, clock: FastForwardClock, log_dir: Path, **fail: bool):
        super().__init__(run_id, clock, FakeScript(pending=frozenset({"tracers-001"})))
        self.summary_at_stop: list[bool] = []
        self.results = log_dir.parent
        self.fail = fail

    def stop(self, handles: Sequence[ComponentHandle], timeout: float = 10.0) -> None:
        self.summary_at_stop.append((self.results / "summary.json").is_file())
        if self.fail.get("stop"):
            raise RuntimeErrorBase("the engine went away while stopping")
        super().stop(handles, timeout)

    def save_logs(self, dest: Path) -> None:
        if self.fail.get("logs"):
            raise OSError("disk full")
        super().save_logs(dest)

    def close(self) -> None:
        super().close()
        if self.fail.get("close"):
            raise RuntimeErrorBase("could not remove network rcfl-x: run `harness down`")


class Factory:
    def __init__(self, script: FakeScript | None = None, **fail: bool) -> None:
        self.clock = FastForwardClock(start_wall=1_800_000_000.0)
        self.script = script
        self.fail = fail
        self.runtime: FakeRuntime | None = None

    def __call__(self, run_id: str, log_dir: Path) -> Runtime:
        if self.script is not None:
            self.runtime = FakeRuntime(run_id, self.clock, self.script)
        else:
            self.runtime = Troubled(run_id, self.clock, log_dir, **self.fail)
        return self.runtime


def run(out: Path, factory: Factory, **options: object) -> None:
    scenario = load_scenario("baseline", ["fleet.tracers=8", "timeouts.run_s=4"])
    run_scenario(
        scenario,
        out,
        factory,
        run_id="fin",
        clock=factory.clock,
        boot_margin=lambda processes, cost: 1.0,
        tracers_per_process=4,
        **options,  # type: ignore[arg-type]
    )


def test_results_are_on_disk_before_anything_is_stopped(tmp_path: Path) -> None:
    factory = Factory()
    run(tmp_path / "r", factory)
    assert isinstance(factory.runtime, Troubled) and factory.runtime.summary_at_stop[0]
    assert load_summary(tmp_path / "r").completed


@pytest.mark.parametrize(
    ("fail", "said"),
    [
        ("stop", "stopping the components failed (the engine went away while stopping)"),
        ("logs", "saving the components' logs into"),
        ("close", "could not remove network rcfl-x"),
    ],
)
def test_a_failure_after_collection_is_a_warning_of_a_complete_run(
    tmp_path: Path, fail: str, said: str
) -> None:
    run(tmp_path / "r", Factory(**{fail: True}))
    summary = load_summary(tmp_path / "r")
    assert summary.completed and summary.counts.success == 4 and summary.counts.timeout == 4
    assert any(said in warning for warning in summary.warnings), summary.warnings


def test_a_failed_start_writes_a_failed_run_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(ComponentStartError):
        run(tmp_path / "r", Factory(FakeScript(exit_at_start={"agent": 4})))
    summary = load_summary(tmp_path / "r")
    assert summary.status == "failed" and summary.failure is not None
    assert summary.failure.startswith("agent failed to start: exited with code 4")
    assert summary.counts.total == 0 and summary.tracers == 8
    report = (tmp_path / "r" / "report.txt").read_text()
    assert report.startswith("=== RUN DID NOT COMPLETE (FAILED) ===\nagent failed to start")


def test_an_interrupt_mid_collection_keeps_what_was_collected(tmp_path: Path) -> None:
    ticks: list[Progress] = []

    def impatient(event: Progress) -> None:
        if event.tick is not None:
            ticks.append(event)
            if len(ticks) == 4:
                raise KeyboardInterrupt

    factory = Factory(FakeScript(ready_after_s=0.3, per_tracer_s=1.0))
    scenario = load_scenario("baseline", ["fleet.tracers=8", "timeouts.run_s=30"])
    with pytest.raises(KeyboardInterrupt):
        run_scenario(
            scenario,
            tmp_path / "r",
            factory,
            clock=factory.clock,
            boot_margin=lambda processes, cost: 1.0,
            tracers_per_process=4,
            progress=impatient,
        )
    summary = load_summary(tmp_path / "r")
    assert summary.status == "interrupted" and "interrupted" in str(summary.failure)
    assert 0 < summary.counts.success < 8 and summary.counts.total == 8
    assert len(summary.timeline) == 4 and summary.health.running == 8
    with (tmp_path / "r" / "samples.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 8
    assert factory.runtime is not None and factory.runtime.closed


def test_reusing_a_folder_is_refused_unless_forced(tmp_path: Path) -> None:
    run(tmp_path / "r", Factory())
    first = load_summary(tmp_path / "r").run_id
    with pytest.raises(ResultsError, match="not empty"):
        run(tmp_path / "r", Factory())
    scenario = load_scenario("baseline", ["fleet.tracers=8", "timeouts.run_s=4"])
    factory = Factory()
    run_scenario(scenario, tmp_path / "r", factory, clock=factory.clock, force=True)
    assert load_summary(tmp_path / "r").run_id != first
