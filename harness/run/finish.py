"""How a run's results are written, on every exit path.

The runner fills a :class:`Collected` as the run goes (the boot instant, the tracer processes,
the ledger, the timeline, the counters, the warnings). Whatever ends the run, what is in it
becomes ``samples.csv``, ``summary.json`` and ``report.txt`` (:func:`write_collected`), with
the run's status: ``complete``, or ``failed``/``interrupted`` with the reason. A completed run
is written **before** its components are stopped; stopping them and saving their logs come
after (:func:`stop_and_save`), and a failure there becomes a warning in the summary instead of
throwing the collection away.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError
from harness.report.text import render_text
from harness.results.build import RunFacts, build_summary, tracer_health
from harness.results.folder import write_results
from harness.results.samples import TracerSample
from harness.results.summary import (
    ComponentFailure,
    Counts,
    FaultRecord,
    Health,
    RunStatus,
    Summary,
)
from harness.results.validity import Validity
from harness.run.collect import Ledger
from harness.run.events import Progress, ProgressFn
from harness.runtime.base import ComponentHandle, ComponentState, ComponentStatus, Runtime
from harness.scenario.model import Scenario


@dataclass
class Collected:
    """What one run has collected so far; read on every exit path."""

    scenario: Scenario
    run_id: str
    runtime: str
    started_wall: float
    warnings: list[str] = field(default_factory=list)
    start_at: float | None = None
    """The boot instant, once chosen."""
    tracers: list[ComponentHandle] = field(default_factory=list)
    """The tracer processes (or containers), once started."""
    ledger: Ledger | None = None
    timeline: list[tuple[float, int]] = field(default_factory=list)
    counters: dict[str, dict[str, float]] = field(default_factory=dict)
    states: dict[str, ComponentState] | None = None
    """Each tracer host's state when collection ended (read once, before anything stops)."""
    crash_logs: dict[str, str] = field(default_factory=dict)
    """The last log lines of every tracer host that had crashed then."""
    ended: float | None = None
    faults: list[FaultRecord] = field(default_factory=list)
    """The scenario's faults as applied so far (the scheduler updates this list in place)."""
    failures: list[ComponentFailure] = field(default_factory=list)
    """Unplanned deaths of the agent or the backend (the scheduler appends to this list)."""
    validity: Validity | None = None
    """The run's self-checks, once judged (harness.results.validity)."""
    finished: bool = False
    """Collection ran to its end and was written: what comes after (stopping the components)
    cannot make the run incomplete."""

    def read_states(self) -> None:
        """Read every tracer host's state now, unless already read (one that cannot be read,
        the engine gone, counts as exited), and the last log lines of those that crashed."""
        if self.states is not None:
            return
        states = {}
        for handle in self.tracers:
            try:
                states[handle.spec.name] = handle.state()
            except HarnessError:
                states[handle.spec.name] = ComponentState(ComponentStatus.EXITED)
        self.states = states
        self.crash_logs = {
            h.spec.name: h.log_tail(8) for h in self.tracers if states[h.spec.name].crashed
        }

    def summary(
        self, now: float, status: RunStatus = "complete", failure: str | None = None
    ) -> tuple[Summary, list[TracerSample]]:
        """The summary and rows of what was collected; ``now`` ends a run cut short."""
        ledger = self.ledger
        rows = ledger.final() if ledger is not None else []
        warnings = list(self.warnings)
        if ledger is not None and ledger.unexpected:
            odd = ", ".join(f"{c}: {i}" for c, i in sorted(ledger.unexpected))
            warnings.append(
                f"tracer indexes reported by a process that does not host them were "
                f"ignored ({odd}): check RC_STUB_TRACER_INDEX_BASE handling"
            )
        states = self.states or {}
        health = (
            tracer_health([(h.spec.tracers, states[h.spec.name]) for h in self.tracers])
            if states
            else Health(running=0, exited=0, restarting=0, crashes=0)
        )
        boot = self.start_at if self.start_at is not None else self.started_wall
        facts = RunFacts(
            self.run_id,
            self.scenario,
            self.runtime,
            self.started_wall,
            boot,
            self.ended if self.ended is not None else max(now, boot),
        )
        counts = (
            ledger.counts()
            if ledger is not None
            else Counts(success=0, timeout=0, error=0, crashed=0)
        )
        summary = build_summary(
            facts,
            rows,
            counts,
            health,
            agent=self.counters.get("agent_rc_", {}),
            backend=self.counters.get("backend_rc_", {}),
            timeline=self.timeline,
            warnings=warnings,
            faults=self.faults,
            failures=self.failures,
            crash_logs=self.crash_logs,
            status=status,
            failure=failure,
            validity=self.validity,
        )
        return summary, rows


def write_collected(
    out_dir: Path,
    collected: Collected,
    now: float,
    status: RunStatus = "complete",
    failure: str | None = None,
) -> tuple[Summary, list[TracerSample], str]:
    """Write what was collected into ``out_dir``; return the summary, rows and report text."""
    summary, rows = collected.summary(now, status, failure)
    text = render_text(summary)
    write_results(out_dir, summary, rows, text)
    return summary, rows, text


def stop_and_save(runtime: Runtime, logs: Path) -> list[str]:
    """Stop every component, then save every log; each failure is returned as a warning."""
    warnings: list[str] = []
    try:
        runtime.stop(runtime.handles())
    except Exception as exc:  # the results are written: a failure here must not lose them
        warnings.append(
            f"stopping the components failed ({describe(exc)}); they are removed when the "
            f"run closes, or by `harness down --run-id {runtime.run_id}`"
        )
    try:
        runtime.save_logs(logs)
    except Exception as exc:
        warnings.append(f"saving the components' logs into {logs} failed: {describe(exc)}")
    return warnings


def record_failure(
    out_dir: Path, collected: Collected, exc: BaseException, now: float, say: ProgressFn
) -> None:
    """Write what a run that ended with ``exc`` had collected, with its status (a run whose
    collection had finished stays complete, ``exc`` a warning); a failure to write is said,
    not raised: the run's own error matters more."""
    try:
        if collected.finished:
            collected.warnings.append(f"after collection ended: {describe(exc)}")
            write_collected(out_dir, collected, now)
            return
        collected.read_states()
        write_collected(out_dir, collected, now, status_of(exc), describe(exc))
    except Exception as problem:
        say(Progress(f"warning: could not write what the run collected: {describe(problem)}"))


def close_quietly(runtime: Runtime) -> str | None:
    """Close the runtime after a completed run; a harness error doing so is returned as a
    warning (the results are written: the run stands)."""
    try:
        runtime.close()
    except HarnessError as exc:
        return str(exc)
    return None


def close_after_failure(runtime: Runtime, say: ProgressFn) -> None:
    """Close the runtime after a failed run; a harness error doing so is said, so that the
    run's own error is the one raised."""
    problem = close_quietly(runtime)
    if problem is not None:
        say(Progress(f"warning: {problem}"))


def status_of(exc: BaseException) -> RunStatus:
    """``interrupted`` for Ctrl-C, SIGTERM or SIGHUP (all raised as ``KeyboardInterrupt``)
    and a cancelled run; ``failed`` for anything else."""
    return (
        "interrupted" if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError) else "failed"
    )


def describe(exc: BaseException) -> str:
    """What ``exc`` says: a harness error's message (a component's log tail included), else
    its type and message."""
    if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
        return "interrupted (Ctrl-C, SIGTERM or SIGHUP)"
    if isinstance(exc, HarnessError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
