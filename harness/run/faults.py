"""Faults of a run, anchored to the boot instant, and the watch on the agent and the backend.

:class:`FaultScheduler` takes the scenario's timed events (``Scenario.timed_faults``) and is
anchored to the boot instant the runner settled on (:meth:`FaultScheduler.anchor`, when the
fleet is released: however the runner decides it), and:

- arms every backend fault window through the backend's admin API before the boot, with times
  relative to the boot (``POST /admin/faults/windows``), so that the backend itself opens and
  closes them on its own clock, to the millisecond;
- applies the harness's own actions at their instants, on the collection loop's ticks (it wakes
  the loop up for them, :meth:`next_due`): ``agent_restart`` (stop, then start again after
  ``down_s``, then the first healthy answer), ``agent_kill``, ``tracer_kill`` (SIGKILL a seeded
  random choice of tracer processes), ``network_cut`` and ``network_latency`` (through the
  runtime's :class:`~harness.runtime.base.AgentLink`);
- records each fault with its planned and real times (seconds from the boot, the harness's
  clock) as :class:`~harness.results.summary.FaultRecord`, and tells ``log`` as it goes;
- watches the agent and the backend on every tick: one that exits while the scenario did not
  stop it is a :class:`~harness.results.summary.ComponentFailure` (exit code, last log
  lines), and collection stops (the run is ``failed``).

An action runs to its end before the tick goes on (a runtime call is blocking; it runs in a
thread): scrapes pause meanwhile, but the tracers measure on their own clocks, so nothing is
lost, and actions keep their order.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from harness.errors import RuntimeErrorBase
from harness.results.summary import ComponentFailure, FaultRecord
from harness.run.events import Progress, ProgressFn
from harness.runtime.base import AgentLink, ComponentHandle, ComponentStatus, Runtime
from harness.scenario.faults import (
    BACKEND_KINDS,
    NETWORK_KINDS,
    AgentKill,
    AgentRestart,
    Backend429,
    BackendErrors,
    BackendLatency,
    BackendOutage,
    BadPayload,
    FaultEvent,
    NetworkCut,
    NetworkLatency,
    TracerKill,
)
from rc_protocol.clock import Clock

LOG_TAIL_LINES = 30
"""Lines of a dead component's log kept in summary.json and the report."""


def backend_window(event: FaultEvent, boot_in_s: float) -> dict[str, object]:
    """The admin API body arming ``event`` in the backend, ``boot_in_s`` seconds before the
    boot (negative: the boot is past).

    >>> backend_window(BackendOutage(kind="backend_outage", at_s=1, duration_s=2), 3.0)
    {'kind': 'outage', 'start_s': 4.0, 'end_s': 6.0, 'status': 503}
    """
    assert event.end_s is not None
    body: dict[str, object] = {
        "start_s": round(boot_in_s + event.at_s, 6),
        "end_s": round(boot_in_s + event.end_s, 6),
    }
    if isinstance(event, BackendOutage):
        body |= {"kind": "outage", "status": event.status}
    elif isinstance(event, Backend429):
        body |= {"kind": "rate_limit", "retry_after_s": event.retry_after_s}
    elif isinstance(event, BackendErrors):
        body |= {"kind": "errors", "error_rate": event.rate, "status": event.status}
    elif isinstance(event, BackendLatency):
        body |= {"kind": "latency", "latency_ms": event.latency_ms}
        body["latency_spread_ms"] = event.spread_ms
    elif isinstance(event, BadPayload):
        body |= {"kind": "bad_payload", "corruption": event.corruption}
    else:
        raise AssertionError(f"{event.kind} is not a backend fault")
    return {"kind": body.pop("kind"), **body}


@dataclass
class _Step:
    """One thing to do at ``at_wall``; ``record`` is the fault it belongs to."""

    at_wall: float
    order: int
    action: Callable[[], None]
    record: int
    ends: bool = False
    what: str = ""


@dataclass
class FaultScheduler:
    """The faults and the watch of one run (implements ``harness.run.collect.Duties``)."""

    events: Sequence[FaultEvent]
    runtime: Runtime
    client: httpx.AsyncClient
    clock: Clock
    boot_wall: float
    backend: ComponentHandle
    agent: ComponentHandle
    tracers: Sequence[ComponentHandle]
    link: AgentLink | None = None
    log: Callable[[str], None] = lambda _text: None
    admin_headers: dict[str, str] = field(default_factory=dict)
    """Headers of a call to the backend's admin API (the run's admin token)."""
    records: list[FaultRecord] = field(default_factory=list)
    failures: list[ComponentFailure] = field(default_factory=list)
    _steps: list[_Step] = field(default_factory=list)
    _planned_down: set[str] = field(default_factory=set)
    _await_health: dict[int, ComponentHandle] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for event in self.events:
            self.records.append(FaultRecord(kind=event.kind, at_s=event.at_s, end_s=event.end_s))
        self.anchor(self.boot_wall)

    def anchor(self, boot_wall: float) -> None:
        """Anchor every action to ``boot_wall``: the runner knows the boot instant only when it
        releases the fleet (``harness.run.release``), after the scheduler is made."""
        self.boot_wall = boot_wall
        self._steps.clear()
        for n, event in enumerate(self.events):
            if event.kind not in BACKEND_KINDS:
                self._plan(n, event)
        self._steps.sort(key=lambda s: (s.at_wall, s.order))

    # -- planning -----------------------------------------------------------------------------

    def _plan(self, n: int, event: FaultEvent) -> None:
        at = self.boot_wall + event.at_s

        def add(at_wall: float, action: Callable[[], None], ends: bool = False) -> None:
            self._steps.append(_Step(at_wall, len(self._steps), action, n, ends, event.kind))

        if isinstance(event, AgentRestart):
            add(at, lambda: self._stop_agent(n))
            add(at + event.down_s, lambda: self._start_agent(n), ends=True)
        elif isinstance(event, AgentKill):
            add(at, lambda: self._kill_agent(n))
        elif isinstance(event, TracerKill):
            add(at, lambda: self._kill_tracers(n, event))
        elif isinstance(event, NetworkCut | NetworkLatency):
            link = self.link
            assert link is not None, "the runner gives the tracers a link for network faults"
            end = self.boot_wall + event.end_s
            if isinstance(event, NetworkCut):
                add(at, link.cut)
                add(end, link.restore, ends=True)
            else:
                add(at, lambda: link.set_latency(event.latency_ms))
                add(end, lambda: link.set_latency(0), ends=True)

    async def arm_backend(self) -> None:
        """Arm every backend fault window, relative to the boot instant; a backend that cannot
        be reached or refuses a window raises :class:`RuntimeErrorBase` naming its answer."""
        for n, event in enumerate(self.events):
            if event.kind not in BACKEND_KINDS:
                continue
            boot_in_s = self.boot_wall - self.clock.time()
            body = backend_window(event, boot_in_s)
            url = self.backend.host_url + "/admin/faults/windows"
            try:
                response = await self.client.post(url, json=body, headers=self.admin_headers)
            except httpx.HTTPError as exc:
                raise RuntimeErrorBase(f"cannot arm {event.describe()} at {url}: {exc}") from None
            if response.status_code != 200:
                raise RuntimeErrorBase(
                    f"the backend refused {event.describe()} ({url} answered "
                    f"{response.status_code}: {response.text[:200]}): see logs/backend.log"
                )
            when = f"{boot_in_s:.3f} s before" if boot_in_s >= 0 else f"{-boot_in_s:.3f} s after"
            self._update(n, detail=f"armed in the backend {when} the boot")
            self.log(f"armed {event.describe()} in the backend")

    # -- actions (blocking runtime calls, run in a thread) ---------------------------------

    def _stop_agent(self, n: int) -> None:
        self._planned_down.add(self.agent.spec.name)
        self.runtime.shut_down(self.agent)

    def _start_agent(self, n: int) -> None:
        self.runtime.revive(self.agent)
        self._planned_down.discard(self.agent.spec.name)
        self._await_health[n] = self.agent

    def _kill_agent(self, n: int) -> None:
        self._planned_down.add(self.agent.spec.name)
        self.runtime.kill([self.agent])

    def _kill_tracers(self, n: int, event: TracerKill) -> None:
        alive = [h for h in self.tracers if h.state().status is ComponentStatus.RUNNING]
        count = event.victims(len(self.tracers))
        chosen = sorted(
            random.Random(event.seed).sample(alive, min(count, len(alive))),
            key=lambda h: h.spec.name,
        )
        self.runtime.kill(chosen)
        killed = [h for h in chosen if h.state().status is ComponentStatus.EXITED]
        hosted = sum(h.spec.tracers for h in killed)
        detail = (f"killed {len(killed)} of {len(self.tracers)} tracer processes ({hosted} "
                  f"tracers): {', '.join(h.spec.name for h in killed)}")  # fmt: skip
        missed = [h.spec.name for h in chosen if h not in killed]
        if missed:  # e.g. a Locust worker that joined from another machine
            detail += f"; could not kill {', '.join(missed)}"
        self._update(n, detail=detail)

    # -- Duties -----------------------------------------------------------------------------

    def now_s(self) -> float:
        """Seconds since the boot instant on the run's clock."""
        return round(self.clock.time() - self.boot_wall, 3)

    async def before_boot(self) -> None:
        """Apply the actions planned at the boot instant itself (``at_s: 0``) now, just before
        it, so that no tracer's first request races them; their ``applied_at_s`` is negative."""
        await self._apply_due(self.boot_wall)

    async def on_tick(self) -> None:
        await self._apply_due(self.clock.time())
        await self._check_health()
        self._watch()

    async def _apply_due(self, until_wall: float) -> None:
        while self._steps and self._steps[0].at_wall <= until_wall:
            step = self._steps.pop(0)
            began = self.now_s()
            await asyncio.to_thread(step.action)
            took = (
                f" (the action took {self.now_s() - began:.3f} s)" if self.now_s() > began else ""
            )
            if step.ends:
                self._update(step.record, ended_at_s=self.now_s())
                self.log(f"{step.what} ended at {self.now_s():.3f} s{took}")
            else:
                self._update(step.record, applied_at_s=self.now_s())
                self.log(f"{step.what} applied at {self.now_s():.3f} s{took}")

    def next_due(self) -> float | None:
        return self._steps[0].at_wall if self._steps else None

    def busy(self) -> bool:
        return bool(self._steps or self._await_health)

    def stop_reason(self) -> str | None:
        if not self.failures:
            return None
        f = self.failures[0]
        return f"{f.component} exited with code {f.exit_code} at {f.at_s:.1f} s"

    async def _check_health(self) -> None:
        for n, handle in list(self._await_health.items()):
            try:
                healthy = (await self.client.get(handle.host_url + "/health")).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy:
                del self._await_health[n]
                record = self.records[n]
                self._update(n, detail=f"{record.detail}; healthy again at {self.now_s():.3f} s"
                             .lstrip("; "))  # fmt: skip
                self.log(f"{handle.spec.name} healthy again at {self.now_s():.3f} s")

    def _watch(self) -> None:
        for handle in (self.backend, self.agent):
            name = handle.spec.name
            if name in self._planned_down or any(f.component == name for f in self.failures):
                continue
            state = handle.state()
            if state.status is ComponentStatus.EXITED:
                failure = ComponentFailure(
                    component=name,
                    exit_code=state.exit_code,
                    at_s=self.now_s(),
                    log_tail=handle.log_tail(LOG_TAIL_LINES),
                )
                self.failures.append(failure)
                self.log(f"{name} exited with code {state.exit_code} (not planned)")

    # -- the end ----------------------------------------------------------------------------

    async def finish(self, ended_wall: float) -> None:
        """After collection: a cut network is restored, and what the run ended before is
        recorded as such (a backend window the run did not reach, an action not taken)."""
        end_s = round(ended_wall - self.boot_wall, 3)
        for step in self._steps:
            if step.ends and step.what in NETWORK_KINDS:
                await asyncio.to_thread(step.action)  # leave no network cut behind
        self._steps.clear()
        for n, event in enumerate(self.events):
            if event.kind in BACKEND_KINDS:
                assert event.end_s is not None
                self._update(
                    n,
                    applied_at_s=event.at_s if event.at_s <= end_s else None,
                    ended_at_s=event.end_s if event.end_s <= end_s else None,
                )
            elif self.records[n].applied_at_s is None:
                self._update(n, detail=f"not applied: the run ended at {end_s:.3f} s")

    def _update(self, n: int, **changes: object) -> None:
        self.records[n] = self.records[n].model_copy(update=changes)


def unsupported(events: Sequence[FaultEvent], runtime: Runtime) -> str | None:
    """Why ``runtime`` cannot run these faults (None when it can)."""
    missing = sorted({e.kind for e in events} - runtime.fault_kinds)
    if not missing:
        return None
    return (
        f"the {runtime.name} runtime cannot apply {', '.join(missing)} (it applies "
        f"{', '.join(sorted(runtime.fault_kinds))}): run the scenario with --runtime local"
    )


def needs_link(events: Sequence[FaultEvent]) -> bool:
    """Whether the tracers must reach the agent through the runtime's link (network faults)."""
    return any(e.kind in NETWORK_KINDS for e in events)


def fault_log(path: Path, say: ProgressFn) -> Callable[[str], None]:
    """A ``log`` for :class:`FaultScheduler`: each line on the progress stream and appended,
    with its UTC wall time, to ``path`` (``logs/faults.log`` of the results folder)."""

    def log(text: str) -> None:
        say(Progress("fault: " + text))
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"{stamp} {text}\n")

    return log
