"""``run_scenario``: one run of a scenario, from start-up to the results folder.

Order: backend, then agent (it needs the backend's URL), each healthy before the next; then the
tracer processes, released at one start instant once every one is ready (the start signal,
:mod:`harness.run.release`; a deadline sized to the number of processes is their safety net),
so that process start-up cost does not smear the herd. Two set-ups give up the signal:
``fleet.boot: as_started`` drops the barrier (each tracer starts when its process is up), and
``fleet.agent_start: with_fleet`` starts the agent together with the fleet without waiting for
its health (``docker compose up``): the boot instant is then fixed before the agent starts (now
plus a margin sized to the number of processes), and its RC starts serving
``agent.rc_unavailable_s`` after it (``RC_AGENT_RC_AVAILABLE_AT``). Then collection until every
tracer is settled or ``timeouts.run_s`` has passed since the start instant; then the agent's and
backend's counters and the run's self-checks (:mod:`harness.run.validity`); then the results
are written, and only then every component is stopped and its log saved
(:mod:`harness.run.finish`). A run that fails or is interrupted writes what it collected, with
its status. The folder is staged beside ``out_dir`` and renamed into place at the end
(:class:`~harness.results.folder.StagedFolder`). Faults: :mod:`harness.run.faults`.

What the run depends on comes in as parameters: the runtime (built by ``runtime_factory`` and
closed on every exit path), the clock, and the boot margin, so that tests drive a whole run on
:class:`~harness.runtime.fake.FakeRuntime` with a fast-forward clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.errors import ResultsError, ScenarioError
from harness.report.html.run_page import write_html_if_available
from harness.results.folder import StagedFolder
from harness.results.samples import TracerSample
from harness.results.summary import Summary
from harness.results.validity import warnings_of
from harness.run.collect import Ledger, scrape_counters, scrape_until_settled
from harness.run.credentials import Credentials
from harness.run.events import Progress, ProgressFn, ignore_progress
from harness.run.faults import FaultScheduler, fault_log, needs_link, unsupported
from harness.run.finish import (
    Collected,
    close_after_failure,
    close_quietly,
    record_failure,
    stop_and_save,
    write_collected,
)
from harness.run.kinds import (
    default_per_process,
    equivalent_processes,
    fleet_specs,
    prepare_launches,
)
from harness.run.promsd import DISCOVERY_DELAY_S, published_targets
from harness.run.release import (
    MIN_LEAD_S,
    Release,
    describe,
    release_fleet,
    uses_start_signal,
)
from harness.run.startup import (
    DEFAULT_MODULES,
    BootMargin,
    boot_margin_s,
    new_run_id,
    wait_healthy,
)
from harness.run.validity import MachineProbe, ValidityProbe
from harness.runtime.base import ComponentSpec, Runtime
from harness.scenario.model import Scenario
from rc_protocol.clock import Clock, SystemClock

RuntimeFactory = Callable[[str, Path], Runtime]
"""Builds the runtime of one run from its run id and its log folder."""


@dataclass(frozen=True)
class RunResult:
    """What one run produced; ``summary`` is exactly ``summary.json``."""

    run_id: str
    out_dir: Path
    summary: Summary
    report: str
    samples: list[TracerSample]


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
    credentials: Credentials | None = None,
    force: bool = False,
    machine: MachineProbe | None = None,
) -> RunResult:
    """Run ``scenario`` on a runtime made by ``runtime_factory`` and write the results folder
    ``out_dir``; the runtime is closed on every exit path. A non-empty ``out_dir`` is refused
    (:class:`~harness.errors.ResultsError`, before anything starts) unless ``force``.

    With ``prometheus_sd`` (a file-SD directory a Prometheus watches, e.g. the one ``harness up``
    prints), every component is published as a scrape target while the run is collected
    (:func:`harness.run.promsd.published_targets`). ``modules`` replaces the Python module run
    for a role (``backend``, ``agent``, ``tracer``); tests use it to run a stand-in service.
    ``credentials`` are the run's API key and admin token (fresh ones by default). ``machine``
    reads the CPU counters of the machine the components run on, for the run's self-checks
    (``validity`` in summary.json; none: the machine's share is not measured).
    """
    per_process = (
        tracers_per_process
        or scenario.fleet.tracers_per_process
        or default_per_process(scenario.fleet.tracers)
    )
    scenario = scenario.model_copy(
        update={"fleet": scenario.fleet.model_copy(update={"tracers_per_process": per_process})}
    )
    rid = run_id or new_run_id()
    folder = StagedFolder.begin(out_dir, rid, force=force)
    (folder.path / "logs").mkdir()
    (folder.path / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    run = _Run(
        scenario,
        folder.path,
        rid,
        clock or SystemClock(),
        boot_margin,
        progress,
        per_process,
        prometheus_sd,
        {**DEFAULT_MODULES, **(modules or {})},
        credentials or Credentials.fresh(),
        machine,
    )
    try:
        result = run.run(runtime_factory)
    except BaseException:
        if run.refused:  # refused before anything started: nothing was collected to keep
            folder.discard()
            raise
        try:
            folder.commit()  # what a failed run collected, with its status, goes to out_dir too
        except ResultsError as exc:  # the run's own error is the one to raise
            progress(Progress(f"warning: {exc}"))
        raise
    html_warning = write_html_if_available(folder.path)
    if html_warning:
        progress(Progress("warning: " + html_warning))
    return RunResult(rid, folder.commit(), result.summary, result.report, result.samples)


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
    credentials: Credentials
    machine: MachineProbe | None = None
    collected: Collected | None = None
    refused: bool = False  # the runtime cannot run the scenario: refused before anything started

    def warn(self, warnings: list[str], text: str) -> None:
        warnings.append(text)
        self.say(Progress("warning: " + text))

    def run(self, factory: RuntimeFactory) -> RunResult:
        """Make the runtime, execute, and write what was collected on every exit path."""
        runtime: Runtime | None = None
        try:
            runtime = factory(self.run_id, self.out_dir / "logs")
            why = unsupported(self.scenario.timed_faults(), runtime)
            if why:  # before anything starts
                self.refused = True
                raise ScenarioError(f"scenario {self.scenario.name}: {why}")
            result = asyncio.run(self.execute(runtime))
        except BaseException as exc:
            if not self.refused:  # a refused run has collected nothing to record
                collected = self.collected or Collected(
                    self.scenario, self.run_id, getattr(runtime, "name", "none"), self.clock.time()
                )
                record_failure(self.out_dir, collected, exc, self.clock.time(), self.say)
            if runtime is not None:
                close_after_failure(runtime, self.say)
            raise
        problem = close_quietly(runtime)
        if problem is None or self.collected is None:
            return result
        self.warn(self.collected.warnings, problem)
        summary, rows, text = write_collected(self.out_dir, self.collected, self.clock.time())
        return RunResult(self.run_id, self.out_dir, summary, text, rows)

    def _boot_instant(self, processes: int, start_cost_s: float) -> float:
        """The fleet's boot instant: now plus the margin its processes need to come up (none
        when each tracer starts as its process comes up, ``fleet.boot: as_started``)."""
        start_at = self.clock.time()
        if self.scenario.fleet.boot != "as_started":
            start_at += self.boot_margin(processes, start_cost_s)
        if self.prometheus_sd is not None:  # Prometheus must discover the tracers before boot
            start_at += DISCOVERY_DELAY_S
        return start_at

    async def execute(self, runtime: Runtime) -> RunResult:
        async with runtime.http_client(timeout=2.0) as client:
            return await self._execute(runtime, client)

    async def _execute(self, runtime: Runtime, client: httpx.AsyncClient) -> RunResult:
        scenario, clock, run_id = self.scenario, self.clock, self.run_id
        collected = self.collected = Collected(scenario, run_id, runtime.name, clock.time())
        startup = scenario.timeouts.startup_s
        warnings = collected.warnings
        faults = scenario.timed_faults()
        launches = prepare_launches(scenario, runtime.name, lambda text: self.say(Progress(text)))

        backend_env = {
            **scenario.backend_env(),
            "RC_BACKEND_RUN_ID": run_id,
            **self.credentials.backend_env(),
        }
        self.say(Progress("starting fake_backend"))
        [backend] = runtime.start(
            [ComponentSpec("backend", "backend", self.modules["backend"], backend_env)]
        )
        await wait_healthy([backend], client, clock, startup)
        agent_env = {
            **scenario.agent_env(),
            "RC_AGENT_RUN_ID": run_id,
            **self.credentials.agent_env(),
            "RC_AGENT_BACKEND_URL": backend.internal_url,
        }
        margin_processes = equivalent_processes(scenario, self.per_process)
        together = scenario.fleet.agent_start == "with_fleet"
        signalled = uses_start_signal(scenario)
        discovery = self.prometheus_sd is not None  # Prometheus must see the tracers first
        start_at = 0.0  # the boot instant: fixed below without the signal, else at the release
        if together:  # docker compose up: agent and fleet together, no health gate
            start_at = self._boot_instant(margin_processes, runtime.start_cost_s)
            available = start_at + scenario.agent.rc_unavailable_s
            agent_env["RC_AGENT_RC_AVAILABLE_AT"] = f"{available:.3f}"
        self.say(Progress(f"fake_backend healthy at {backend.host_url}; starting agent"))
        [agent] = runtime.start([ComponentSpec("agent", "agent", self.modules["agent"], agent_env)])
        if not together:
            await wait_healthy([agent], client, clock, startup)
        link = runtime.agent_link(agent) if needs_link(faults) else None
        if signalled:
            # The deadline is a safety net only (processes without the start signal start at
            # it): later than the harness would still wait for every process to be ready.
            margin = self.boot_margin(margin_processes, runtime.start_cost_s)
            deadline = clock.time() + margin + scenario.timeouts.startup_s
            if discovery:
                deadline += DISCOVERY_DELAY_S
        else:
            if not together:  # as_started: the boot instant is now
                start_at = self._boot_instant(margin_processes, runtime.start_cost_s)
            deadline = start_at
        specs = fleet_specs(
            scenario,
            self.per_process,
            link.url if link is not None else agent.internal_url,
            run_id,
            deadline,
            module=self.modules["tracer"],
            launches=launches,
            signal=signalled,
        )
        processes = len(specs)
        if signalled:
            when = "released when all are ready"
        elif scenario.fleet.boot == "as_started":
            when = "each starting as its process comes up"
        else:
            when = f"boot in {start_at - clock.time():.1f} s"
        self.say(
            Progress(
                f"agent {'started (no health gate)' if together else 'healthy'} at "
                f"{agent.host_url}; starting {scenario.fleet.tracers} tracers in {processes} "
                f"process{'es' if processes > 1 else ''} (up to {self.per_process} each), " + when
            )
        )
        duties = FaultScheduler(
            faults, runtime, client, clock, deadline, backend, agent, [], link,
            log=fault_log(self.out_dir / "logs" / "faults.log", self.say),
            admin_headers=self.credentials.admin_headers(),
        )  # fmt: skip
        collected.faults, collected.failures = duties.records, duties.failures

        async def anchor_faults(boot_wall: float) -> None:
            """Told the boot instant before any tracer can start: the backend's fault windows
            are armed relative to it."""
            duties.anchor(boot_wall)
            await duties.arm_backend()

        if not signalled:
            await anchor_faults(start_at)  # the boot instant is fixed: before the tracers start
        tracers = collected.tracers = duties.tracers = runtime.start(specs)
        await wait_healthy(tracers, client, clock, startup)
        if not signalled:
            late = clock.time() - start_at
            if scenario.fleet.boot == "as_started":
                self.say(Progress("all tracer processes healthy (each started as it came up)"))
            elif late > 0:
                self.warn(
                    warnings,
                    f"tracer processes were healthy {late:.1f} s after the boot instant: "
                    "the boot storm is smeared; use more tracers per process",
                )
            else:
                self.say(Progress(f"all tracer processes healthy; boot in {-late:.1f} s"))
        ledger = collected.ledger = Ledger(
            {h.spec.name: h.spec.tracer_indexes for h in tracers},
            kinds={h.spec.name: h.spec.kind for h in tracers},
        )
        with published_targets(
            self.prometheus_sd,
            [backend, agent, *tracers],
            run_id=run_id,
            scenario=scenario.name,
        ):
            if signalled:
                released = await release_fleet(
                    tracers,
                    client,
                    clock,
                    deadline=deadline,
                    timeout_s=startup,
                    min_lead_s=DISCOVERY_DELAY_S if discovery else MIN_LEAD_S,
                    on_instant=anchor_faults,
                )
                text, is_warning = describe(released, clock.time())
                if is_warning:
                    self.warn(warnings, text)
                else:
                    self.say(Progress(text))
            else:  # its faults were anchored before the tracers started
                released = Release(start_at, 0.0, len(tracers), signalled=False)
            start_at = collected.start_at = released.at
            await duties.before_boot()  # the actions planned at the boot instant itself
            probe = ValidityProbe(clock, self.machine)
            await probe.begin(client, agent, backend)
            await scrape_until_settled(
                ledger,
                tracers,
                client,
                clock,
                t0_wall=start_at,
                deadline_wall=start_at + scenario.timeouts.run_s,
                on_tick=lambda tick: self.say(Progress("collecting", tick)),
                timeline=collected.timeline,
                on_scrape=probe.on_scrape,
                duties=duties,
            )
            collected.ended = clock.time()
            await duties.finish(collected.ended)
            collected.read_states()  # and the crashed processes' last log lines
            counters = collected.counters
            for handle, prefix in ((agent, "agent_rc_"), (backend, "backend_rc_")):
                scraped = await scrape_counters(client, handle, prefix)
                if scraped is None:
                    probe.scrape_failed()
                    name = handle.spec.name
                    self.warn(
                        warnings,
                        f"the {name}'s counters could not be scraped from "
                        f"{handle.host_url}/metrics at the end of the run (summary.json has "
                        f"none): see logs/{name}.log",
                    )
                counters[prefix] = scraped or {}
            await probe.end(client, agent, backend)
        validity = collected.validity = probe.judge(scenario, released, ledger.final())
        packing = "container (--tracers-per-container)" if runtime.name == "docker" else (
            "process (--tracers-per-process)"
        )  # fmt: skip
        for text in warnings_of(validity, packing):
            self.warn(warnings, text)
        write_collected(self.out_dir, collected, clock.time())  # before anything is stopped
        collected.finished = True
        self.say(Progress("stopping components"))
        for problem in stop_and_save(runtime, self.out_dir / "logs"):
            self.warn(warnings, problem)
        summary, rows, text = write_collected(self.out_dir, collected, clock.time())
        return RunResult(run_id, self.out_dir, summary, text, rows)
