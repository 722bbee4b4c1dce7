"""``simulate``: one simulation of a scenario, from the options to the results folder.

The folder is a results folder like ``harness run``'s (``scenario.yaml``, ``samples.csv``,
``summary.json`` with ``runtime: simulate``, ``report.txt``, ``report.html``), so that
``harness report``, ``compare``'s readers and thresholds read it; ``summary.json`` adds the
backend's view (``backend_view``) and how the run was simulated (``simulation``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from harness.report.html.run_page import write_html_if_available
from harness.report.text import render_text
from harness.results.build import RunFacts, build_summary, latency_of, tracer_health
from harness.results.folder import write_results
from harness.results.samples import ERROR, READY, TIMEOUT, TracerSample
from harness.results.summary import BackendView, Counts, SimulationFacts, Summary
from harness.runtime.base import ComponentState, ComponentStatus
from harness.scenario.model import Scenario
from harness.simulate.engine import SimProgress, Simulation
from harness.simulate.fleet import SimOptions
from harness.simulate.links import BackendCall
from harness.simulate.loop import VirtualTimeLoop
from tracer_stub.tracer import Outcome, SimulatedTracer

__all__ = ["SimResult", "backend_view", "flat_counters", "simulate", "tracer_sample"]

RUNTIME = "simulate"


@dataclass(frozen=True)
class SimResult:
    """What one simulation produced; ``summary`` is exactly ``summary.json``."""

    run_id: str
    out_dir: Path
    summary: Summary
    report: str
    samples: list[TracerSample]


def tracer_sample(tracer: SimulatedTracer, component: str) -> TracerSample:
    """One tracer's row, as ``harness run`` collects it from the stub's gauges (milliseconds
    from the tracer's start, nearest integer; a tracer still pending at the end timed out)."""
    t = tracer.times

    def ms(a: float | None, b: float | None) -> int | None:
        return None if a is None or b is None else round((a - b) * 1000.0)

    outcome = {Outcome.READY: READY, Outcome.ERROR: ERROR}.get(tracer.outcome, TIMEOUT)
    return TracerSample(
        tracer=tracer.index,
        component=component,
        outcome=outcome,
        start_ms=ms(t.tracer_started, t.start),
        provider_ready_ms=ms(t.ready, t.tracer_started),
        first_evaluation_ms=ms(t.first_evaluation, t.tracer_started),
        boot_total_ms=ms(t.first_evaluation, t.start),
        provider_error_events=tracer.provider_error_events,
        start_wall=t.start_wall,
    )


def backend_view(calls: Sequence[BackendCall], boot_at: float, bin_s: float = 1.0) -> BackendView:
    """Calls per ``bin_s`` since the boot instant, rejections, and refresh latencies."""
    bins: dict[int, list[int]] = {}
    for call in calls:
        counts = bins.setdefault(math.floor((call.arrived - boot_at) / bin_s), [0, 0])
        counts[0] += 1
        counts[1] += call.status == 429
    series = tuple((round(k * bin_s, 3), n, r) for k, (n, r) in sorted(bins.items()))
    peak = max(series, key=lambda row: row[1], default=(0.0, 0, 0))
    return BackendView(
        bin_s=bin_s,
        calls_per_s=series,
        calls=len(calls),
        rejected=sum(1 for c in calls if c.status == 429),
        peak_calls_per_s=round(peak[1] / bin_s, 3),
        peak_at_s=peak[0],
        refresh_ms=latency_of(round((c.ended - c.arrived) * 1000.0) for c in calls),
        refresh_errors=sum(1 for c in calls if c.status != 200),
    )


def flat_counters(registry: CollectorRegistry, prefix: str) -> dict[str, float]:
    """``{"metric{labels}": value}`` of a registry, as ``harness run`` keeps scraped counters
    (histogram buckets and ``_created`` left out)."""
    out: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            name = sample.name
            if not name.startswith(prefix) or name.endswith(("_bucket", "_created")):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sample.labels.items())
            out[f"{name}{{{labels}}}" if labels else name] = float(sample.value)
    return out


def stop_every_task(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel every task left on `loop` and run it until they have all finished."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a simulation runs and its results are made.

    Measured (phase3, 50 agents): its full passes over the simulation's millions of live objects
    took a third of the run's time, while a 20-agent run left only about a thousand objects in
    reference cycles. Reference counting still frees everything else at once; the few cycles
    wait for the collector's next pass once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


SERVICE_LOGGERS = ("agent", "fake_backend", "tracer_stub")


@contextmanager
def service_logs(path: Path) -> Iterator[None]:
    """Send the services' log records to `path` (``logs/simulate.log``) while the simulation
    runs, not to the terminal: a thousand agents backing off log a line each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    saved = []
    for name in SERVICE_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level))
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, propagate, level in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)
        handler.close()


def _counts(rows: Iterable[TracerSample]) -> Counts:
    outcomes = [r.outcome for r in rows]
    return Counts(
        success=outcomes.count(READY),
        timeout=outcomes.count(TIMEOUT),
        error=outcomes.count(ERROR),
        crashed=0,
    )


def simulate(
    scenario: Scenario,
    options: SimOptions,
    out_dir: Path,
    *,
    run_id: str,
    start_wall: float | None = None,
    progress: Callable[[SimProgress], None] = lambda _: None,
    keep_polling: bool = False,
    write_html: bool = True,
) -> SimResult:
    """Simulate `scenario` with `options` and write the results folder `out_dir`.

    `start_wall` is the simulated wall clock at the start (unix seconds; default: now), which
    places the agents' wall-clock aligned limiter windows as a real run at that time would.
    """
    started = time.time() if start_wall is None else start_wall
    sim = Simulation(  # checks that the scenario can be simulated before anything is written
        scenario,
        options,
        run_id=run_id,
        start_wall=started,
        progress=progress,
        keep_polling=keep_polling,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    with cyclic_gc_paused():
        loop = VirtualTimeLoop()
        with service_logs(out_dir / "logs" / "simulate.log"):
            try:
                loop.run_until_complete(sim.run())
            finally:
                stop_every_task(loop)  # an interrupted run leaves tasks: end them now, not at exit
                loop.close()
        return _results(
            sim, scenario, options, out_dir, run_id, started, progress, keep_polling, write_html
        )


def _results(
    sim: Simulation,
    scenario: Scenario,
    options: SimOptions,
    out_dir: Path,
    run_id: str,
    started: float,
    progress: Callable[[SimProgress], None],
    keep_polling: bool,
    write_html: bool,
) -> SimResult:
    """Rows, summary and files of a finished simulation."""
    rows = [
        tracer_sample(tracer, f"agent-{agent.index:05d}")
        for agent in sim.agents
        for tracer in agent.tracers
    ]
    rows.sort(key=lambda r: r.tracer)
    total = options.agents * scenario.fleet.tracers
    warnings = []
    if len(rows) != total:
        warnings.append(f"{total - len(rows)} tracers never started: the run ended first")
    assert sim.backend is not None
    facts = SimulationFacts(
        agents=options.agents,
        tracers_per_agent=scenario.fleet.tracers,
        agent_boot=options.agent_boot,
        boot_spread_s=options.boot_spread_s,
        seed=options.seed,
        keep_polling=keep_polling,
        virtual_s=round(sim.ended_at, 3),
        wall_s=round(sim.wall_s, 3),
    )
    summary = build_summary(
        RunFacts(
            run_id,
            scenario,
            RUNTIME,
            started,
            started + sim.first_boot,
            started + sim.ended_at,
        ),
        rows,
        _counts(rows),
        tracer_health([(total, ComponentState(ComponentStatus.RUNNING))]),
        agent=flat_counters(sim.agent_metrics.registry, "agent_rc_"),
        backend=flat_counters(sim.backend.state.metrics.registry, "backend_rc_"),
        timeline=sim.timeline,
        warnings=warnings,
        agents=options.agents,
        backend_view=backend_view(sim.backend.calls, sim.first_boot),
        simulation=facts,
    )
    text = render_text(summary)
    write_results(out_dir, summary, rows, text)
    if write_html:
        problem = write_html_if_available(out_dir)
        if problem:
            progress(SimProgress(sim.ended_at, sim.wall_s, total, 0, 0, 0, 0, 0, problem))
    return SimResult(run_id, out_dir, summary, text, rows)
