"""``harness compare`` as library code: run several scenarios on the same fleet and runtime,
``repeat`` times each, then write ``compare.json`` and the compare page.

The pure part (the table, the thresholds on medians) is :mod:`harness.studies.comparison`; this
module only drives :func:`harness.run.runner.run_scenario` through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import CompareError, RunFailed
from harness.gates.thresholds import Threshold, check_scopes
from harness.report.html.compare_page import write_compare_html
from harness.results.folder import refuse_non_empty
from harness.results.summary import Summary
from harness.run.events import ProgressFn
from harness.run.runner import RuntimeFactory, run_scenario
from harness.run.startup import new_run_id
from harness.run.validity import MachineProbe
from harness.scenario.model import Scenario
from harness.studies.comparison import (
    CompareInfo,
    Comparison,
    Notify,
    run_compare,
    write_compare_json,
)
from rc_protocol.clock import Clock

ProgressFor = Callable[[Scenario], AbstractContextManager[ProgressFn]]
"""Opens the progress display of one run of a scenario."""


@dataclass(frozen=True)
class CompareOutcome:
    """A finished compare: its table and thresholds, and where its files are."""

    comparison: Comparison
    out_dir: Path
    html: Path


def distinct(scenarios: Sequence[Scenario]) -> list[Scenario]:
    """The scenarios in order; a name given twice is an error before anything runs."""
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.name in seen:
            raise CompareError(f"scenario {scenario.name!r} is listed twice in --scenarios")
        seen.add(scenario.name)
    if not scenarios:
        raise CompareError("nothing to compare: give at least one scenario")
    return list(scenarios)


def compare_scenarios(
    scenarios: Sequence[Scenario],
    *,
    repeat: int,
    out_dir: Path,
    runtime_factory: RuntimeFactory,
    runtime_name: str,
    per_process: int | None,
    thresholds: Sequence[Threshold] = (),
    overrides: Sequence[str] = (),
    compare_id: str | None = None,
    clock: Clock | None = None,
    machine: MachineProbe | None = None,
    notify: Notify | None = None,
    progress_for: ProgressFor | None = None,
    force: bool = False,
) -> CompareOutcome:
    """Run every scenario ``repeat`` times (interleaved rounds) into ``out_dir`` and compare.

    A run that fails is recorded and the compare goes on; an interrupt stops it. A non-empty
    ``out_dir`` is refused before anything runs unless ``force`` (each run then replaces its
    folder).
    """
    loaded = {s.name: s for s in distinct(scenarios)}
    check_scopes(thresholds, list(loaded))
    refuse_non_empty(out_dir, force=force)
    say = notify or (lambda _m: None)

    def run_one(name: str, index: int, run_dir: Path) -> Summary:
        scenario = loaded[name]
        if progress_for is None:
            result = run_scenario(
                scenario,
                run_dir,
                runtime_factory,
                clock=clock,
                tracers_per_process=per_process,
                force=force,
                machine=machine,
            )
        else:
            with progress_for(scenario) as progress:
                result = run_scenario(
                    scenario,
                    run_dir,
                    runtime_factory,
                    clock=clock,
                    progress=progress,
                    tracers_per_process=per_process,
                    force=force,
                    machine=machine,
                )
        s = result.summary
        failed = s.failure_reason()
        if failed:
            raise RunFailed(f"{name} run-{index} failed: {failed} (see {run_dir}/report.txt)")
        ready = s.provider_ready_ms
        figures = "n/a" if ready is None else f"p50 {ready.p50:,}ms, p99 {ready.p99:,}ms"
        say(
            f"{name} run-{index}: provider ready {figures}, success "
            f"{s.counts.success}/{s.tracers}  ({run_dir})"
        )
        return s

    fleets = sorted({s.fleet.tracers for s in loaded.values()})
    info = CompareInfo(
        compare_id=compare_id or new_run_id(),
        tracers=fleets[0] if len(fleets) == 1 else tuple(fleets),
        runtime=runtime_name,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        overrides=tuple(overrides),
    )
    comparison = run_compare(list(loaded), repeat, out_dir, run_one, thresholds, info, notify=say)
    write_compare_json(out_dir, comparison)
    return CompareOutcome(comparison, out_dir, write_compare_html(out_dir, comparison))
