"""Building a run's :class:`~harness.results.summary.Summary` from what it collected: the
percentiles over the ready tracers, the counts, the tracers' health, per-kind figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from harness.results.samples import READY, TracerSample
from harness.results.stats import boot_buckets, summarize
from harness.results.summary import (
    BackendView,
    Buckets,
    ComponentFailure,
    Counts,
    FaultRecord,
    Health,
    KindFigures,
    Latency,
    RunStatus,
    SimulationFacts,
    Summary,
    failures_line,
)
from harness.results.validity import Validity
from harness.runtime.base import ComponentState, ComponentStatus
from harness.scenario.model import Scenario


@dataclass(frozen=True)
class RunFacts:
    """What identifies a run and when it happened (unix wall seconds)."""

    run_id: str
    scenario: Scenario
    runtime: str
    started_wall: float
    boot_wall: float
    ended_wall: float


def iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds.

    >>> iso(0)
    '1970-01-01T00:00:00.000+00:00'
    """
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def tracer_health(hosts: Iterable[tuple[int, ComponentState]]) -> Health:
    """Health counted in tracers: each ``(tracers hosted, state of the host)`` adds its tracers
    to running, exited (cleanly), restarting or crashes.

    >>> crashed = ComponentState(ComponentStatus.EXITED, exit_code=-9)
    >>> tracer_health([(25, ComponentState(ComponentStatus.RUNNING)), (5, crashed)])
    Health(running=25, exited=0, restarting=0, crashes=5)
    """
    health = {"running": 0, "exited": 0, "restarting": 0, "crashes": 0}
    for tracers, state in hosts:
        if state.crashed:
            health["crashes"] += tracers
        elif state.status is ComponentStatus.RESTARTING:
            health["restarting"] += tracers
        elif state.status is ComponentStatus.EXITED:
            health["exited"] += tracers
        else:
            health["running"] += tracers
    return Health(**health)


def latency_of(values: Iterable[int]) -> Latency | None:
    """Nearest-rank statistics of `values` (ms), or ``None`` when there is none."""
    stats = summarize(values)
    return None if stats is None else Latency(**stats)


def kind_figures(rows: Sequence[TracerSample]) -> dict[str, KindFigures]:
    """Figures per kind, in the order kinds first appear; empty when every row is a stub."""
    kinds = list(dict.fromkeys(r.kind for r in rows))
    if kinds in ([], ["stub"]):
        return {}
    out = {}
    for kind in kinds:
        mine = [r for r in rows if r.kind == kind]
        ready = [r for r in mine if r.outcome == READY]
        outcomes = [r.outcome for r in mine]
        out[kind] = KindFigures(
            tracers=len(mine),
            counts=Counts(
                success=len(ready),
                timeout=len(mine)
                - len(ready)
                - outcomes.count("error")
                - outcomes.count("crashed")
                - outcomes.count("unreachable"),
                error=outcomes.count("error"),
                crashed=outcomes.count("crashed"),
                unreachable=outcomes.count("unreachable"),
            ),
            provider_ready_ms=latency_of(
                r.provider_ready_ms for r in ready if r.provider_ready_ms is not None
            ),
            boot_total_ms=latency_of(r.boot_total_ms for r in ready if r.boot_total_ms is not None),
        )
    return out


def build_summary(
    facts: RunFacts,
    rows: Sequence[TracerSample],
    counts: Counts,
    health: Health,
    *,
    agent: Mapping[str, float],
    backend: Mapping[str, float],
    timeline: Sequence[tuple[float, int]],
    warnings: Sequence[str] = (),
    faults: Sequence[FaultRecord] = (),
    failures: Sequence[ComponentFailure] = (),
    agents: int = 1,
    backend_view: BackendView | None = None,
    simulation: SimulationFacts | None = None,
    crash_logs: Mapping[str, str] | None = None,
    status: RunStatus = "complete",
    failure: str | None = None,
    validity: Validity | None = None,
) -> Summary:
    """The summary of a run: percentiles over the ready tracers, counts, health, counters;
    ``status`` and ``failure`` for a run that did not complete. With several agents (``harness
    simulate``) the fleet is ``agents`` times ``fleet.tracers``."""
    scenario = facts.scenario
    tracers = scenario.fleet.tracers * agents
    ready = [r for r in rows if r.outcome == READY]
    boot_ms = [r.boot_total_ms for r in ready if r.boot_total_ms is not None]
    wait_mode = scenario.provider.mode == "wait"
    return Summary(
        run_id=facts.run_id,
        scenario=scenario.name,
        runtime=facts.runtime,
        tracers=tracers,
        started_at=iso(facts.started_wall),
        boot_at=iso(facts.boot_wall),
        duration_s=round(facts.ended_wall - facts.boot_wall, 3),
        provider_mode=scenario.provider.mode,
        provider_ready_ms=latency_of(
            r.provider_ready_ms for r in ready if r.provider_ready_ms is not None
        ),
        boot_total_ms=latency_of(boot_ms),
        counts=counts,
        success_ratio=round(counts.success / tracers, 4),
        provider_error_events=sum(r.provider_error_events for r in rows),
        buckets=Buckets(**boot_buckets(boot_ms)) if wait_mode else None,
        health=health,
        agent=dict(agent),
        backend=dict(backend),
        timeline=tuple((float(t), int(n)) for t, n in timeline),
        warnings=tuple(warnings),
        faults=tuple(faults),
        failures=tuple(failures),
        agents=agents,
        backend_view=backend_view,
        simulation=simulation,
        by_kind=kind_figures(rows),
        crash_logs=dict(crash_logs or {}),
        status="failed" if failures and status == "complete" else status,
        failure=failure or failures_line(failures),
        validity=validity,
    )
