"""``run_scenario``: one run of a scenario on a runtime, from start-up to the results folder.

Order: backend, then agent (it needs the backend's URL), each healthy before the next; then the
tracer processes, all given the same boot instant ``start_at`` (now + a margin sized to the
number of processes), so that process start-up cost does not smear the herd; then collection
until every tracer is settled or ``timeouts.run_s`` has passed since ``start_at``; then the
agent's and backend's counters; then every component is stopped and the results are written.
The runtime's ``close()`` is the caller's (``with runtime:``), so it runs on every exit path.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.errors import ComponentStartError
from harness.report import text as report_mod
from harness.results.folder import (
    SAMPLE_COLUMNS,
    RunFacts,
    build_summary,
    load_summary,
    tracer_health,
    write_results,
)
from harness.run.collect import (
    Ledger,
    Tick,
    TracerSample,
    scrape_counters,
    scrape_until_settled,
)
from harness.run.promsd import DISCOVERY_DELAY_S, published_targets
from harness.runtime.base import ComponentHandle, ComponentSpec, ComponentStatus, Runtime
from harness.scenario.model import Scenario
from rc_protocol.errors import WaitTimeout
from rc_protocol.wait import poll_until

DEFAULT_TRACERS_PER_PROCESS = 25
"""Local packing when neither ``--tracers-per-process`` nor the scenario sets it; chosen by
measurement (README, "Packing tracers into processes")."""

API_KEY = "harness0000000000000000000000000"
"""A fake ``DD_API_KEY`` shared by the backend and the agent of a run (never a real key)."""

DEFAULT_MODULES: dict[str, str] = {
    "backend": "fake_backend",
    "agent": "agent",
    "tracer": "tracer_stub",
}
"""The Python module each role runs (``python -m <module>``)."""

__all__ = [
    "SAMPLE_COLUMNS",
    "Progress",
    "ProgressFn",
    "RunResult",
    "load_summary",
    "run_scenario",
    "write_results",
]


@dataclass(frozen=True)
class Progress:
    """A progress event: a phase message, or a collection tick (``tick`` set)."""

    message: str
    tick: Tick | None = None


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class RunResult:
    """What one run produced; ``summary`` is exactly ``summary.json``."""

    run_id: str
    out_dir: Path
    summary: dict[str, Any]
    report: str
    samples: list[TracerSample]


def boot_margin_s(processes: int, start_cost_s: float = 0.0) -> float:
    """Seconds between the decision and the boot instant: enough for every tracer process to
    start and serve ``/health``. Measured on a 2-core machine: 1 stub process healthy in 0.44 s,
    10 started together in 2.3 s (about 0.2 s each); twice that, plus 2 s, leaves room for a
    busy machine. ``start_cost_s`` is the runtime's own serial cost per component (the Docker
    engine's create-and-start, ``DockerRuntime.start_cost_s``; 0 for local processes). A run
    that misses it says so (``warnings`` in summary.json).

    >>> boot_margin_s(4), boot_margin_s(4, start_cost_s=0.35)
    (3.6, 5.0)
    """
    return 2.0 + (0.4 + start_cost_s) * processes


def pack(tracers: int, per_process: int) -> list[tuple[int, int]]:
    """``(index_base, count)`` for each tracer process.

    >>> pack(25, 10)
    [(0, 10), (10, 10), (20, 5)]
    """
    return [(base, min(per_process, tracers - base)) for base in range(0, tracers, per_process)]


def _wait_healthy(handles: Sequence[ComponentHandle], timeout_s: float) -> None:
    """Poll ``/health`` of every handle until all answer 200; a dead or silent one raises
    :class:`ComponentStartError` with its last log lines."""
    pending = list(handles)

    def check(client: httpx.Client) -> bool:
        for handle in list(pending):
            state = handle.state()
            if state.status is ComponentStatus.EXITED:
                raise ComponentStartError(
                    handle.spec.name,
                    f"exited with code {state.exit_code} before serving",
                    handle.log_tail(),
                )
            try:
                if client.get(handle.host_url + "/health").status_code == 200:
                    pending.remove(handle)
            except httpx.HTTPError:
                pass
        return not pending

    with httpx.Client(timeout=1.0) as client:
        try:
            poll_until(
                lambda: check(client), timeout=timeout_s, interval=0.1, what="components healthy"
            )
        except WaitTimeout:
            h, others = pending[0], len(pending) - 1
            raise ComponentStartError(
                h.spec.name,
                f"no healthy answer from {h.host_url}/health within {timeout_s:g} s"
                + (f" (nor from {others} other component(s))" if others else "")
                + "; raise timeouts.startup_s (--set timeouts.startup_s=...) if it is only slow",
                h.log_tail(),
            ) from None


def tracer_specs(
    scenario: Scenario,
    per_process: int,
    agent_url: str,
    run_id: str,
    start_at: float,
    module: str = "tracer_stub",
) -> list[ComponentSpec]:
    """One spec per tracer process, with the scenario's stub settings and the boot instant."""
    fleet = scenario.fleet
    stagger_ms = 0.0
    if fleet.boot == "ramp" and fleet.tracers > 1:
        stagger_ms = fleet.ramp_s * 1000.0 / fleet.tracers
    specs = []
    for n, (base, count) in enumerate(pack(fleet.tracers, per_process)):
        env = scenario.stub_env()
        env.update(
            {
                "RC_STUB_TRACERS": str(count),
                "RC_STUB_TRACER_INDEX_BASE": str(base),
                "RC_STUB_START_AT": f"{start_at + base * stagger_ms / 1000.0:.3f}",
                "RC_STUB_BOOT_STAGGER_MS": f"{stagger_ms:g}",
                "RC_STUB_RUN_ID": run_id,
                "RC_STUB_AGENT_URL": agent_url,
                "DD_TRACE_AGENT_URL": agent_url,
            }
        )
        specs.append(ComponentSpec(f"tracers-{n:03d}", "tracer", module, env, tracers=count))
    return specs


def run_scenario(
    scenario: Scenario,
    runtime: Runtime,
    out_dir: Path,
    progress: ProgressFn | None = None,
    tracers_per_process: int | None = None,
    prometheus_sd: Path | None = None,
    modules: Mapping[str, str] | None = None,
) -> RunResult:
    """Run ``scenario`` on ``runtime`` and write the results folder ``out_dir``.

    With ``prometheus_sd`` (a file-SD directory a Prometheus watches, e.g. the one ``harness up``
    prints), every component is published as a scrape target while the run is collected
    (:func:`harness.run.promsd.published_targets`).

    ``modules`` replaces the Python module run for a role (``backend``, ``agent``, ``tracer``);
    tests use it to run a fake service.
    """
    mods = {**DEFAULT_MODULES, **(modules or {})}
    say: ProgressFn = progress or (lambda _p: None)
    per_process = (
        tracers_per_process or scenario.fleet.tracers_per_process or DEFAULT_TRACERS_PER_PROCESS
    )
    scenario = scenario.model_copy(
        update={"fleet": scenario.fleet.model_copy(update={"tracers_per_process": per_process})}
    )
    run_id = runtime.run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "logs").mkdir(exist_ok=True)
    (out_dir / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    started_wall = time.time()
    startup = scenario.timeouts.startup_s

    backend_env = {**scenario.backend_env(), "RC_BACKEND_RUN_ID": run_id, "DD_API_KEY": API_KEY}
    say(Progress("starting fake_backend"))
    [backend] = runtime.start([ComponentSpec("backend", "backend", mods["backend"], backend_env)])
    _wait_healthy([backend], startup)
    agent_env = {
        **scenario.agent_env(),
        "RC_AGENT_RUN_ID": run_id,
        "DD_API_KEY": API_KEY,
        "RC_AGENT_BACKEND_URL": backend.internal_url,
    }
    say(Progress(f"fake_backend healthy at {backend.host_url}; starting agent"))
    [agent] = runtime.start([ComponentSpec("agent", "agent", mods["agent"], agent_env)])
    _wait_healthy([agent], startup)

    processes = math.ceil(scenario.fleet.tracers / per_process)
    start_at = time.time() + boot_margin_s(processes, runtime.start_cost_s)
    if prometheus_sd is not None:  # Prometheus must discover the tracers before they boot
        start_at += DISCOVERY_DELAY_S
    specs = tracer_specs(
        scenario, per_process, agent.internal_url, run_id, start_at, module=mods["tracer"]
    )
    say(
        Progress(
            f"agent healthy at {agent.host_url}; starting {scenario.fleet.tracers} tracers "
            f"in {processes} process{'es' if processes > 1 else ''} (up to {per_process} "
            f"each), boot in "
            f"{start_at - time.time():.1f} s"
        )
    )
    tracers = runtime.start(specs)
    _wait_healthy(tracers, startup)
    warnings = []
    late = time.time() - start_at
    if late > 0:
        warnings.append(
            f"tracer processes were healthy {late:.1f} s after the boot instant: "
            "the boot storm is smeared; use more tracers per process"
        )
        say(Progress("warning: " + warnings[-1]))
    else:
        say(Progress(f"all tracer processes healthy; boot in {-late:.1f} s"))

    ledger = Ledger(
        {
            h.spec.name: range(int(base), int(base) + h.spec.tracers)
            for h in tracers
            for base in [h.spec.env["RC_STUB_TRACER_INDEX_BASE"]]
        }
    )
    with published_targets(
        prometheus_sd, [backend, agent, *tracers], run_id=run_id, scenario=scenario.name
    ):
        timeline = asyncio.run(
            scrape_until_settled(
                ledger,
                tracers,
                t0_wall=start_at,
                deadline_wall=start_at + scenario.timeouts.run_s,
                on_tick=lambda tick: say(Progress("collecting", tick)),
            )
        )
        ended = time.time()
        states = {h.spec.name: h.state() for h in tracers}
        counters = {}
        for handle, prefix in ((agent, "agent_rc_"), (backend, "backend_rc_")):
            scraped = asyncio.run(scrape_counters(handle, prefix))
            if scraped is None:
                name = handle.spec.name
                warnings.append(
                    f"the {name}'s counters could not be scraped from {handle.host_url}/metrics "
                    f"at the end of the run (summary.json has none): see logs/{name}.log"
                )
                say(Progress("warning: " + warnings[-1]))
            counters[prefix] = scraped or {}
    say(Progress("stopping components"))
    runtime.stop(runtime.handles())
    runtime.save_logs(out_dir / "logs")

    rows = ledger.final()
    if ledger.unexpected:
        odd = ", ".join(f"{c}: {i}" for c, i in sorted(ledger.unexpected))
        warnings.append(
            f"tracer indexes reported by a process that does not host them were "
            f"ignored ({odd}): check RC_STUB_TRACER_INDEX_BASE handling"
        )
    summary = build_summary(
        RunFacts(
            run_id=run_id,
            scenario=scenario,
            runtime=runtime.name,
            started_wall=started_wall,
            boot_wall=start_at,
            ended_wall=ended,
        ),
        rows,
        ledger.counts(),
        tracer_health([(h.spec.tracers, states[h.spec.name]) for h in tracers]),
        agent=counters["agent_rc_"],
        backend=counters["backend_rc_"],
        timeline=timeline,
        warnings=warnings,
    )
    text = report_mod.render_text(summary)
    html_warning = write_results(out_dir, summary, rows, text)
    if html_warning:
        say(Progress("warning: " + html_warning))
    return RunResult(run_id, out_dir, summary, text, rows)
