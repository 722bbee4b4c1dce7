"""The simulation itself: agents, their tracers and one backend on a virtual-time loop.

Every agent is the agent's own service (``agent.service.RcService``: lock, bypass hand-off,
limiters, poll loop, refresh, backoff) on a :class:`~rc_protocol.clock.LoopClock`; every tracer
is the stub's own ``SimulatedTracer`` (client policies and sans-IO core through its asyncio
driver, the provider's readiness rules through the inline SDK, `tracer_stub.sdk`); the backend
is the fake backend's state (capacity, faults, catalogue, director). They talk through the
in-memory links of `harness.simulate.links`. Agent ``i`` starts ``agent_lead_s`` before its
boot (at its boot with ``fleet.agent_start: with_fleet``, its RC serving
``agent.rc_unavailable_s`` after it), and its tracers start at its boot as a stub process
starts them (``fleet.boot``).

Once an agent's fleet is *quiet*, its tracers stop polling (``keep_polling`` turns this off),
because nothing they would do afterwards changes a measurement: every tracer has settled, and
every fetch loop has polled once (so each client is known to the agent), has no error streak
(so it polls again within its interval) and polls more often than the agent's clients TTL (so
no client expires), and the agent has had its first update with no serving cost (so no poll
can wait on its lock, time out and back off). Then their agent serves no other tracer, and
their polls can never reach the backend: an active client asks for no cache bypass, and the
agent's own periodic refresh goes on. It only leaves out agent requests of settled fleets,
which ``agent_rc_requests_total`` then does not count; it saves most of the work of a
fast-lane fleet, whose tracers poll every second.

The run ends when every tracer has settled (ready and evaluated its flag, or failed) or when
``timeouts.run_s`` has passed since the last agent's boot; a tracer still pending then counts
as a timeout, as in ``harness run``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.metrics import AgentMetrics
from agent.service import RcService
from fake_backend.state import BackendState
from harness.scenario.model import Scenario
from harness.simulate.fleet import (
    SimOptions,
    agent_boot_offsets,
    agent_lead_of,
    agent_settings,
    backend_settings,
    stub_settings,
    tracer_offsets,
)
from harness.simulate.links import AgentLink, BackendLink, SimBackend
from rc_protocol.clock import LoopClock
from tracer_stub.client.driver import LanePermits
from tracer_stub.client.policy import Lane, MultiTargetFetcher
from tracer_stub.metrics import StubMetrics
from tracer_stub.sdk import InlineSdk
from tracer_stub.tracer import Outcome, SimulatedTracer

__all__ = ["SimAgent", "SimProgress", "Simulation", "TracerMetrics"]

TICK_S = 0.5
"""Virtual seconds between two looks at the fleet (timeline and progress), as ``harness run``
scrapes every 0.5 s."""


class TracerMetrics(StubMetrics):
    """The stub's metrics without the per-tracer series: a simulation reads each tracer's times
    from the tracer itself, and a hundred thousand tracers' series would cost memory for
    nothing. Requests are counted by lane and outcome in `requests` (no histograms: nothing
    reads them, and they cost a tenth of a fast-lane simulation)."""

    def __init__(self, run_id: str = "") -> None:
        super().__init__(run_id)
        self.requests: Counter[tuple[str, str]] = Counter()

    def on_request(self, lane: Lane, outcome: str, duration_s: float, lateness_s: float) -> None:
        del duration_s, lateness_s
        self.requests[lane, outcome] += 1

    def add_tracer(self, tracer: str) -> None:
        del tracer

    def set_outcome(self, tracer: str, outcome: str) -> None:
        del tracer, outcome

    def set_start(self, tracer: str, start_wall: float) -> None:
        del tracer, start_wall

    def set_tracer_started(self, tracer: str, seconds: float) -> None:
        del tracer, seconds

    def set_provider_ready(self, tracer: str, seconds: float) -> None:
        self.ready_duration.observe(seconds)

    def set_first_evaluation(self, tracer: str, seconds: float, boot_total: float) -> None:
        del tracer, seconds, boot_total

    def inc_provider_errors(self, tracer: str) -> None:
        del tracer


@dataclass(frozen=True)
class SimProgress:
    """Where a simulation stands: virtual and wall seconds, and the fleet's and backend's state."""

    virtual_s: float
    wall_s: float
    total: int
    ready: int
    timeout: int
    error: int
    backend_calls: int
    rejected: int
    message: str = ""


@dataclass
class SimAgent:
    """One simulated agent: its service, its metrics and its tracers."""

    index: int
    boot_at: float
    metrics: AgentMetrics
    tracers: list[SimulatedTracer] = field(default_factory=list)
    service: RcService | None = None
    unsettled: int = 0


def quiet(agent: SimAgent) -> bool:
    """Whether the fleet of `agent` (every tracer settled) may stop polling (module doc)."""
    service = agent.service
    if service is None or service.first_update or service.settings.serve_cost_ms > 0:
        return False
    ttl = service.resolved.clients_ttl_s
    for tracer in agent.tracers:
        for fetcher in tracer.rc.fetchers.values():
            schedule = fetcher.schedule
            if fetcher.fetches == 0 or schedule.consecutive_errors or schedule.interval_s >= ttl:
                return False
    return True


def settled(tracer: SimulatedTracer) -> bool:
    """Ready with its flag evaluated, or failed (``harness run``'s ``Ledger.settled``)."""
    if tracer.outcome is Outcome.READY:
        return tracer.times.first_evaluation is not None
    return tracer.outcome is Outcome.ERROR


class Simulation:
    """One simulation of `scenario` with `options`, run by :meth:`run` on a virtual-time loop."""

    def __init__(
        self,
        scenario: Scenario,
        options: SimOptions,
        *,
        run_id: str,
        start_wall: float,
        progress: Callable[[SimProgress], None] = lambda _: None,
        progress_every_s: float = 1.0,
        keep_polling: bool = False,
    ) -> None:
        self.scenario = scenario
        self.options = options
        self.run_id = run_id
        self.start_wall = start_wall
        self.progress = progress
        self.progress_every_s = progress_every_s
        self.keep_polling = keep_polling
        self._stopping: list[asyncio.Task[None]] = []
        self.rng = random.Random(options.seed)
        self.stub_metrics = TracerMetrics(run_id)
        self.sdk = InlineSdk()
        offsets = agent_boot_offsets(options)
        self.first_boot = options.agent_lead_s
        # One registry for every agent: its counters are the fleet's sums (summary.json's
        # ``agent``), and a thousand registries would cost memory for nothing.
        self.agent_metrics = AgentMetrics(run_id)
        self.agents = [
            SimAgent(i, self.first_boot + offset, self.agent_metrics)
            for i, offset in enumerate(offsets)
        ]
        self.tracer_offsets = tracer_offsets(scenario)
        last_boot = max(a.boot_at for a in self.agents) + max(self.tracer_offsets)
        self.deadline = last_boot + scenario.timeouts.run_s
        self.timeline: list[tuple[float, int]] = []
        # (agent, tracer) made since the watcher last looked
        self._built: list[tuple[SimAgent, SimulatedTracer]] = []
        self.backend: SimBackend | None = None
        self.clock: LoopClock | None = None
        self.ended_at = 0.0
        self.wall_s = 0.0

    @property
    def tracers(self) -> list[SimulatedTracer]:
        """Every tracer of every agent, in agent order."""
        return [t for a in self.agents for t in a.tracers]

    async def run(self) -> None:
        """Run to the end (every tracer settled, or the deadline); then stop every task."""
        wall0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        clock = LoopClock(loop, self.start_wall)
        self.clock = clock
        state = BackendState.from_settings(backend_settings(self.scenario), clock)
        backend = SimBackend(state, clock)
        self.backend = backend
        own = asyncio.current_task()
        starters = [asyncio.create_task(self._agent_life(a, clock, backend)) for a in self.agents]
        try:
            await self._watch(clock, wall0)
        finally:
            self.ended_at = clock.monotonic()
            for task in asyncio.all_tasks():
                if task is not own:
                    task.cancel()
            others = [t for t in asyncio.all_tasks() if t is not own]
            await asyncio.gather(*others, *starters, return_exceptions=True)
            self.wall_s = time.perf_counter() - wall0

    async def _agent_life(self, agent: SimAgent, clock: LoopClock, backend: SimBackend) -> None:
        start_at = agent.boot_at - agent_lead_of(self.scenario, self.options)
        await clock.sleep(start_at - clock.monotonic())
        seed = self.rng.getrandbits(32)
        settings = agent_settings(self.scenario, agent.index, len(self.agents), seed)
        service = RcService(
            settings, clock=clock, backend=BackendLink(backend), metrics=agent.metrics
        )
        agent.service = service
        service.start()
        fleet = self.scenario.fleet.tracers
        link = AgentLink(service, agent.metrics, clock, cache_size=2 * fleet + 8)
        stub = stub_settings(self.scenario, agent.index * fleet, self.rng.getrandbits(32))
        tracer_rng = random.Random(stub.seed)
        shared = (
            LanePermits(MultiTargetFetcher.from_settings(stub.policy_settings()))
            if stub.shared_multitarget
            else None
        )

        def link_for(_: Lane) -> AgentLink:
            return link

        for i in range(fleet):
            permits = shared or LanePermits(
                MultiTargetFetcher.from_settings(stub.policy_settings())
            )
            agent.tracers.append(
                SimulatedTracer(
                    stub.tracer_index_base + i,
                    stub,
                    clock=clock,
                    transport_factory=link_for,
                    permits=permits,
                    metrics=self.stub_metrics,
                    rng=random.Random(tracer_rng.getrandbits(64)),
                    sdk=self.sdk,
                )
            )
        agent.unsettled = len(agent.tracers)
        self._built.extend((agent, t) for t in agent.tracers)
        # As a stub process starts its tracers (tracer_stub.host): in order, each at its instant.
        for tracer, offset in zip(agent.tracers, self.tracer_offsets, strict=True):
            wait = agent.boot_at + offset - clock.monotonic()
            if wait > 0:
                await clock.sleep(wait)
            await tracer.start()

    async def _watch(self, clock: LoopClock, wall0: float) -> None:
        total = len(self.agents) * self.scenario.fleet.tracers
        pending: list[tuple[SimAgent, SimulatedTracer]] = []
        settling: list[SimAgent] = []  # every tracer settled, not yet quiet
        seen = ready = error = 0
        last_report = -1e9
        await clock.sleep(self.first_boot - clock.monotonic())
        while True:
            if self._built:
                pending.extend(self._built)
                seen += len(self._built)
                self._built = []
            still = []
            for agent, tracer in pending:
                if not settled(tracer):
                    still.append((agent, tracer))
                    continue
                if tracer.outcome is Outcome.READY:
                    ready += 1
                else:
                    error += 1
                agent.unsettled -= 1
                if agent.unsettled == 0 and not self.keep_polling:
                    settling.append(agent)
            pending = still
            for agent in [a for a in settling if quiet(a)]:
                settling.remove(agent)
                self._stopping.append(asyncio.create_task(self._quiet(agent)))
            now = clock.monotonic()
            self.timeline.append((round(now - self.first_boot, 3), ready))
            done = seen == total and not pending
            wall = time.perf_counter() - wall0
            if done or now >= self.deadline or wall - last_report >= self.progress_every_s:
                last_report = wall
                timeouts = sum(1 for _, t in pending if t.outcome is Outcome.TIMEOUT)
                self.progress(self._progress(now, wall, total, ready, timeouts, error))
            if done or now >= self.deadline:
                return
            await clock.sleep(TICK_S)

    @staticmethod
    async def _quiet(agent: SimAgent) -> None:
        """Stop the polling of a fleet whose every tracer has settled (see the module doc)."""
        await asyncio.gather(*(t.rc.aclose() for t in agent.tracers))

    def _progress(
        self, now: float, wall: float, total: int, ready: int, timeout: int, error: int
    ) -> SimProgress:
        backend = self.backend
        calls = len(backend.calls) if backend else 0
        rejected = sum(1 for c in backend.calls if c.status == 429) if backend else 0
        return SimProgress(
            now - self.first_boot, wall, total, ready, timeout, error, calls, rejected
        )
