"""``run_scenario``: one run of a scenario, from start-up to the results folder.

Order: backend, then agent (it needs the backend's URL), each healthy before the next; then the
tracer processes, all given the same boot instant ``start_at`` (now + a margin sized to the
number of processes), so that process start-up cost does not smear the herd; then collection
until every tracer is settled or ``timeouts.run_s`` has passed since ``start_at``; then the
agent's and backend's counters; then every component is stopped and the results are written.

What the run depends on comes in as parameters: the runtime (built by ``runtime_factory`` and
closed on every exit path), the clock, and the boot margin, so that tests drive a whole run on
:class:`~harness.runtime.fake.FakeRuntime` with a fast-forward clock.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.errors import ComponentStartError
from harness.report.html.run_page import write_html_if_available
from harness.report.text import render_text
from harness.results.folder import write_results
from harness.results.samples import TracerSample
from harness.results.summary import RunFacts, Summary, build_summary, tracer_health
from harness.run.collect import Ledger, scrape_counters, scrape_until_settled
from harness.run.events import Progress, ProgressFn, ignore_progress
from harness.run.kinds import equivalent_processes, fleet_specs, prepare_launches
from harness.run.promsd import DISCOVERY_DELAY_S, published_targets
from harness.runtime.base import ComponentHandle, ComponentSpec, ComponentStatus, Runtime
from harness.scenario.model import Scenario
from rc_protocol.clock import Clock, SystemClock
from rc_protocol.errors import WaitTimeout
from rc_protocol.wait import apoll_until

DEFAULT_TRACERS_PER_PROCESS = 25
"""Local packing when neither ``--tracers-per-process`` nor the scenario sets it; chosen by
measurement (README, "Packing tracers into processes")."""

API_KEY = "harness0000000000000000000000000"
"""A fake ``DD_API_KEY`` shared by the backend and the agent of a run (never a real key)."""

DEFAULT_MODULES: Mapping[str, str] = {
    "backend": "fake_backend",
    "agent": "agent",
    "tracer": "tracer_stub",
}
"""The Python module each role runs (``python -m <module>``)."""

RuntimeFactory = Callable[[str, Path], Runtime]
"""Builds the runtime of one run from its run id and its log folder."""

BootMargin = Callable[[int, float], float]
"""Seconds from the decision to the boot instant, given the tracer processes and the runtime's
serial start cost per component (:func:`boot_margin_s`)."""


@dataclass(frozen=True)
class RunResult:
    """What one run produced; ``summary`` is exactly ``summary.json``."""

    run_id: str
    out_dir: Path
    summary: Summary
    report: str
    samples: list[TracerSample]


def new_run_id() -> str:
    """A short random run id (8 hex digits) carried by every process, container and file."""
    return secrets.token_hex(4)


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


def tracer_specs(
    scenario: Scenario,
    per_process: int,
    agent_url: str,
    run_id: str,
    start_at: float,
    module: str = "tracer_stub",
) -> list[ComponentSpec]:
    """One spec per tracer process, with the scenario's stub settings and the boot instant:
    :func:`harness.run.kinds.fleet_specs`, which builds every kind's (one place for the
    variables every tracer process gets)."""
    return fleet_specs(scenario, per_process, agent_url, run_id, start_at, module=module)


async def wait_healthy(
    handles: Sequence[ComponentHandle],
    client: httpx.AsyncClient,
    clock: Clock,
    timeout_s: float,
) -> None:
    """Poll ``/health`` of every handle until all answer 200; a dead or silent one raises
    :class:`ComponentStartError` with its last log lines."""
    pending = list(handles)

    async def check() -> bool | None:
        for handle in list(pending):
            state = handle.state()
            if state.status is ComponentStatus.EXITED:
                raise ComponentStartError(
                    handle.spec.name,
                    f"exited with code {state.exit_code} before serving",
                    handle.log_tail(),
                )
            try:
                if (await client.get(handle.host_url + "/health")).status_code == 200:
                    pending.remove(handle)
            except httpx.HTTPError:
                pass
        return not pending

    try:
        _: bool = await apoll_until(
            check, timeout=timeout_s, interval=0.1, what="components healthy", clock=clock
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


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    runtime_factory: RuntimeFactory,
    *,
    run_id: str | None = None,
    clock: Clock | None = None,
    boot_margin: BootMargin = boot_margin_s,
    progress: ProgressFn = ignore_progress,
    tracers_per_process: int | None = None,
    prometheus_sd: Path | None = None,
    modules: Mapping[str, str] | None = None,
) -> RunResult:
    """Run ``scenario`` on a runtime made by ``runtime_factory`` and write the results folder
    ``out_dir``; the runtime is closed on every exit path.

    With ``prometheus_sd`` (a file-SD directory a Prometheus watches, e.g. the one ``harness up``
    prints), every component is published as a scrape target while the run is collected
    (:func:`harness.run.promsd.published_targets`). ``modules`` replaces the Python module run
    for a role (``backend``, ``agent``, ``tracer``); tests use it to run a stand-in service.
    """
    per_process = (
        tracers_per_process or scenario.fleet.tracers_per_process or DEFAULT_TRACERS_PER_PROCESS
    )
    scenario = scenario.model_copy(
        update={"fleet": scenario.fleet.model_copy(update={"tracers_per_process": per_process})}
    )
    rid = run_id or new_run_id()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "logs").mkdir(exist_ok=True)
    (out_dir / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    run = _Run(
        scenario,
        out_dir,
        rid,
        clock or SystemClock(),
        boot_margin,
        progress,
        per_process,
        prometheus_sd,
        {**DEFAULT_MODULES, **(modules or {})},
    )
    with runtime_factory(rid, out_dir / "logs") as runtime:
        result = asyncio.run(run.execute(runtime))
    html_warning = write_html_if_available(out_dir)
    if html_warning:
        progress(Progress("warning: " + html_warning))
    return result


@dataclass
class _Run:
    """The state of one run while it executes (see :func:`run_scenario`)."""

    scenario: Scenario
    out_dir: Path
    run_id: str
    clock: Clock
    boot_margin: BootMargin
    say: ProgressFn
    per_process: int
    prometheus_sd: Path | None
    modules: Mapping[str, str]

    def warn(self, warnings: list[str], text: str) -> None:
        warnings.append(text)
        self.say(Progress("warning: " + text))

    async def execute(self, runtime: Runtime) -> RunResult:
        async with runtime.http_client(timeout=2.0) as client:
            return await self._execute(runtime, client)

    async def _execute(self, runtime: Runtime, client: httpx.AsyncClient) -> RunResult:
        scenario, clock, run_id = self.scenario, self.clock, self.run_id
        started_wall = clock.time()
        startup = scenario.timeouts.startup_s
        warnings: list[str] = []
        launches = prepare_launches(scenario, runtime.name, lambda text: self.say(Progress(text)))

        backend_env = {
            **scenario.backend_env(),
            "RC_BACKEND_RUN_ID": run_id,
            "DD_API_KEY": API_KEY,
        }
        self.say(Progress("starting fake_backend"))
        [backend] = runtime.start(
            [ComponentSpec("backend", "backend", self.modules["backend"], backend_env)]
        )
        await wait_healthy([backend], client, clock, startup)
        agent_env = {
            **scenario.agent_env(),
            "RC_AGENT_RUN_ID": run_id,
            "DD_API_KEY": API_KEY,
            "RC_AGENT_BACKEND_URL": backend.internal_url,
        }
        self.say(Progress(f"fake_backend healthy at {backend.host_url}; starting agent"))
        [agent] = runtime.start([ComponentSpec("agent", "agent", self.modules["agent"], agent_env)])
        await wait_healthy([agent], client, clock, startup)

        margin_processes = equivalent_processes(scenario, self.per_process)
        start_at = clock.time() + self.boot_margin(margin_processes, runtime.start_cost_s)
        if self.prometheus_sd is not None:  # Prometheus must discover the tracers before boot
            start_at += DISCOVERY_DELAY_S
        specs = fleet_specs(
            scenario,
            self.per_process,
            agent.internal_url,
            run_id,
            start_at,
            module=self.modules["tracer"],
            launches=launches,
        )
        processes = len(specs)
        self.say(
            Progress(
                f"agent healthy at {agent.host_url}; starting {scenario.fleet.tracers} tracers "
                f"in {processes} process{'es' if processes > 1 else ''} (up to "
                f"{self.per_process} each), boot in {start_at - clock.time():.1f} s"
            )
        )
        tracers = runtime.start(specs)
        await wait_healthy(tracers, client, clock, startup)
        late = clock.time() - start_at
        if late > 0:
            self.warn(
                warnings,
                f"tracer processes were healthy {late:.1f} s after the boot instant: "
                "the boot storm is smeared; use more tracers per process",
            )
        else:
            self.say(Progress(f"all tracer processes healthy; boot in {-late:.1f} s"))

        ledger = Ledger(
            {h.spec.name: h.spec.tracer_indexes for h in tracers},
            kinds={h.spec.name: h.spec.kind for h in tracers},
        )
        with published_targets(
            self.prometheus_sd,
            [backend, agent, *tracers],
            run_id=run_id,
            scenario=scenario.name,
        ):
            timeline = await scrape_until_settled(
                ledger,
                tracers,
                client,
                clock,
                t0_wall=start_at,
                deadline_wall=start_at + scenario.timeouts.run_s,
                on_tick=lambda tick: self.say(Progress("collecting", tick)),
            )
            ended = clock.time()
            states = {h.spec.name: h.state() for h in tracers}
            crash_logs = {
                h.spec.name: h.log_tail(8) for h in tracers if states[h.spec.name].crashed
            }
            counters: dict[str, dict[str, float]] = {}
            for handle, prefix in ((agent, "agent_rc_"), (backend, "backend_rc_")):
                scraped = await scrape_counters(client, handle, prefix)
                if scraped is None:
                    name = handle.spec.name
                    self.warn(
                        warnings,
                        f"the {name}'s counters could not be scraped from "
                        f"{handle.host_url}/metrics at the end of the run (summary.json has "
                        f"none): see logs/{name}.log",
                    )
                counters[prefix] = scraped or {}
        self.say(Progress("stopping components"))
        runtime.stop(runtime.handles())
        runtime.save_logs(self.out_dir / "logs")

        rows = ledger.final()
        if ledger.unexpected:
            odd = ", ".join(f"{c}: {i}" for c, i in sorted(ledger.unexpected))
            warnings.append(
                f"tracer indexes reported by a process that does not host them were "
                f"ignored ({odd}): check RC_STUB_TRACER_INDEX_BASE handling"
            )
        summary = build_summary(
            RunFacts(run_id, scenario, runtime.name, started_wall, start_at, ended),
            rows,
            ledger.counts(),
            tracer_health([(h.spec.tracers, states[h.spec.name]) for h in tracers]),
            agent=counters["agent_rc_"],
            backend=counters["backend_rc_"],
            timeline=timeline,
            warnings=warnings,
            crash_logs=crash_logs,
        )
        text = render_text(summary)
        write_results(self.out_dir, summary, rows, text)
        return RunResult(run_id, self.out_dir, summary, text, rows)
