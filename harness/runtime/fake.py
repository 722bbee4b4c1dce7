"""An in-memory runtime: components that exist only as objects, reached through an in-memory
HTTP transport (httpx's ``MockTransport``), on a clock the caller controls.

It follows the part of the service contract the harness depends on (``/health``, ``/metrics``
with the tracer stub's metric names, exit codes) and nothing else, so that the runner, the CLI
and anything built on them are tested without a process or a socket, and without sleeping when
given a :class:`~rc_protocol.clock.FastForwardClock`. A tracer component turns ready
``ready_after_s`` (plus ``per_tracer_s`` per tracer it hosts before it) after its start instant:
the one ``POST /start`` gave it when its spec has ``RC_STUB_START_SIGNAL=http`` (it answers
``GET /ready-to-start``), else ``RC_STUB_START_AT``, which is also the deadline of the signal
(docs/contracts.md, "The start signal"); :class:`FakeScript` sets what goes wrong.

Faults follow one rule: a tracer turns ready at the first instant, from its nominal ready time
on, when the configuration can reach it, i.e. outside every blocked interval: the agent
stopped or killed (until revived), the link from the tracers to the agent cut, or a backend
fault window armed through the fake backend's ``POST /admin/faults/windows`` (every kind but
``latency``). Every fault action is recorded in :attr:`FakeRuntime.actions` with its time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.errors import ComponentStartError
from harness.runtime.base import (
    ALL_FAULT_KINDS,
    AgentLink,
    ClosesOnExit,
    ComponentHandle,
    ComponentSpec,
    ComponentState,
    ComponentStatus,
)
from rc_protocol.clock import Clock

FAKE_DOMAIN = "fake.invalid"
"""Components answer at ``http://<name>.fake.invalid``: a name no resolver ever answers."""

DEFAULT_AGENT_COUNTERS: Mapping[str, float] = {
    'agent_rc_bypass_total{lane="fast",result="refreshed"}': 3.0,
    "agent_rc_active_clients": 7.0,
}
DEFAULT_BACKEND_COUNTERS: Mapping[str, float] = {
    'backend_rc_requests_total{endpoint="configurations",status="200"}': 4.0,
}


@dataclass(frozen=True)
class FakeScript:
    """How the fake components behave; components are named as the runner names them
    (``backend``, ``agent``, ``tracers-000``, ...)."""

    ready_after_s: float = 0.3
    per_tracer_s: float = 0.01
    pending: frozenset[str] = frozenset()
    """Tracer components whose tracers never become ready."""
    crash_at_boot: Mapping[str, int] = field(default_factory=dict)
    """Tracer components that exit with this code just after their start instant."""
    exit_at_start: Mapping[str, int] = field(default_factory=dict)
    """Components that exit with this code as soon as they are started."""
    silent: frozenset[str] = frozenset()
    """Components that never answer ``/health`` (nor anything else)."""
    metrics_error: frozenset[str] = frozenset()
    """Components that answer ``/metrics`` with a 500."""
    no_start_signal: frozenset[str] = frozenset()
    """Tracer components of a kind without the start signal (``/ready-to-start`` is 404)."""
    release_delay_s: float = 0.0
    """How long after its instant every ``POST /start`` arrives (a busy machine)."""
    die_after_s: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    """Components that exit on their own ``(seconds after their start, exit code)``."""
    agent_counters: Mapping[str, float] = field(default_factory=lambda: DEFAULT_AGENT_COUNTERS)
    backend_counters: Mapping[str, float] = field(default_factory=lambda: DEFAULT_BACKEND_COUNTERS)


class Blocked:
    """Intervals of wall time during which no configuration reaches a tracer."""

    def __init__(self) -> None:
        self.intervals: list[tuple[float, float, str]] = []

    def add(self, start: float, end: float, why: str) -> None:
        self.intervals.append((start, end, why))

    def close(self, why: str, at: float) -> None:
        """End the open interval ``why`` (started with ``end = inf``) at ``at``."""
        self.intervals = [
            (s, at if (w == why and e == math.inf) else e, w) for s, e, w in self.intervals
        ]

    def first_free(self, t: float) -> float:
        """The first instant at or after ``t`` outside every interval (``inf``: never)."""
        moved = True
        while moved and t < math.inf:
            moved = False
            for start, end, _ in self.intervals:
                if start <= t < end:
                    t, moved = end, True
        return t


class FakeLink:
    """The fake path from the tracers to the agent (implements ``AgentLink``)."""

    def __init__(self, url: str, clock: Clock, blocked: Blocked, actions: list[str]) -> None:
        self._url, self._clock, self._blocked, self._actions = url, clock, blocked, actions
        self.latency_ms = 0

    @property
    def url(self) -> str:
        return self._url

    def cut(self) -> None:
        self._blocked.add(self._clock.time(), math.inf, "link cut")
        self._actions.append(f"{self._clock.time():.3f} cut")

    def restore(self) -> None:
        self._blocked.close("link cut", self._clock.time())
        self._actions.append(f"{self._clock.time():.3f} restore")

    def set_latency(self, latency_ms: int) -> None:
        self.latency_ms = latency_ms
        self._actions.append(f"{self._clock.time():.3f} latency {latency_ms}")


class FakeComponent:
    """A component of :class:`FakeRuntime` (implements ``ComponentHandle``)."""

    def __init__(
        self,
        spec: ComponentSpec,
        script: FakeScript,
        clock: Clock,
        blocked: Blocked | None = None,
    ) -> None:
        self._spec = spec
        self._script = script
        self._clock = clock
        self._blocked = blocked or Blocked()
        self.stopped = False
        self.killed = False
        self.started_wall = clock.time()
        self.log: list[str] = [f"fake {spec.role} {spec.name}: started"]
        deadline = spec.env.get("RC_STUB_START_AT", "")
        self.deadline = float(deadline) if deadline else clock.time()
        self.signalled = (
            spec.env.get("RC_STUB_START_SIGNAL") == "http"
            and spec.name not in script.no_start_signal
        )
        self.released_at: float | None = None
        if spec.name in script.exit_at_start:
            self.log.append(f"fake {spec.name}: exiting on purpose")

    @property
    def spec(self) -> ComponentSpec:
        return self._spec

    @property
    def start_at(self) -> float:
        """The instant its tracers start: the released one, else the deadline."""
        return self.deadline if self.released_at is None else self.released_at

    @property
    def host_url(self) -> str:
        return f"http://{self._spec.name}.{FAKE_DOMAIN}"

    @property
    def internal_url(self) -> str:
        return self.host_url

    def state(self) -> ComponentState:
        name = self._spec.name
        if name in self._script.exit_at_start:
            return ComponentState(ComponentStatus.EXITED, self._script.exit_at_start[name])
        if name in self._script.crash_at_boot and self._clock.time() > self.start_at:
            return ComponentState(ComponentStatus.EXITED, self._script.crash_at_boot[name])
        if self.killed:
            return ComponentState(ComponentStatus.EXITED, -9)
        if self.stopped:
            return ComponentState(ComponentStatus.EXITED, 0)
        if name in self._script.die_after_s:
            after_s, code = self._script.die_after_s[name]
            if self._clock.time() >= self.started_wall + after_s:
                return ComponentState(ComponentStatus.EXITED, code)
        return ComponentState(ComponentStatus.RUNNING)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log[-lines:])

    def answer(self, path: str, method: str = "GET", body: bytes = b"") -> httpx.Response:
        """The component's answer to ``method path``."""
        name = self._spec.name
        if self.state().status is not ComponentStatus.RUNNING or name in self._script.silent:
            raise httpx.ConnectError(f"{name} does not answer", request=None)
        if path in ("/ready-to-start", "/start") and self.signalled:
            return self._start_signal(path, method, body)
        if method == "POST" and path == "/admin/faults/windows" and self._spec.role == "backend":
            return self._add_window(body)
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if path != "/metrics":
            return httpx.Response(404)
        if name in self._script.metrics_error:
            return httpx.Response(500, text="internal error")
        return httpx.Response(200, text=self.metrics_text())

    def _start_signal(self, path: str, method: str, body: bytes) -> httpx.Response:
        now = self._clock.time()
        if path == "/ready-to-start":
            started = self.released_at is not None or now >= self.deadline
            return httpx.Response(200, json={"ready": True, "started": started,
                                             "tracers": self._spec.tracers})  # fmt: skip
        at = float(json.loads(body)["start_at"])
        if self.released_at not in (None, at) or now >= self.deadline:
            return httpx.Response(409, json={"error": "already started"})
        self.released_at = at
        late = max(0.0, now + self._script.release_delay_s - at)
        self.log.append(f"fake {self._spec.name}: released for {at}")
        return httpx.Response(200, json={"start_at": at, "late_s": late})

    def _add_window(self, body: bytes) -> httpx.Response:
        """The fake backend's admin API: a window from ``start_s``/``end_s`` (or ``for_s``)."""
        doc = json.loads(body)
        now = self._clock.time()
        if doc.get("for_s") is not None:
            start, end = now, now + float(doc["for_s"])
        else:
            start, end = now + float(doc.get("start_s") or 0.0), now + float(doc["end_s"])
        kind = str(doc["kind"])
        self.log.append(f"fake backend: {kind} window {start:.3f}-{end:.3f}")
        if kind != "latency":
            self._blocked.add(start, end, f"backend {kind}")
        return httpx.Response(200, json={"windows": [{"kind": kind}]})

    def metrics_text(self) -> str:
        """``/metrics`` in the Prometheus text format, as the real service names its series."""
        if self._spec.role == "agent":
            return _counters_text(self._script.agent_counters)
        if self._spec.role == "backend":
            return _counters_text(self._script.backend_counters)
        return self._tracer_metrics()

    def _tracer_metrics(self) -> str:
        now = self._clock.time()
        pending = self._spec.name in self._script.pending
        lines = []
        for n, i in enumerate(self._spec.tracer_indexes):
            nominal = self.start_at + self._script.ready_after_s + self._script.per_tracer_s * n
            ready_at = self._blocked.first_free(nominal)
            ready = not pending and now >= ready_at
            ready_s = round(ready_at - self.start_at, 6)
            for outcome in ("pending", "ready", "timeout", "error"):
                value = 1.0 if outcome == ("ready" if ready else "pending") else 0.0
                lines.append(f'tracer_outcome{{tracer="{i}",outcome="{outcome}"}} {value}')
            lines.append(f'tracer_start_seconds{{tracer="{i}"}} 0.002')
            lines.append(f'tracer_start_wall_seconds{{tracer="{i}"}} {self.start_at}')
            if ready:
                lines.append(f'tracer_provider_ready_seconds{{tracer="{i}"}} {ready_s}')
                lines.append(f'tracer_first_evaluation_seconds{{tracer="{i}"}} {ready_s + 0.001}')
                lines.append(f'tracer_boot_total_seconds{{tracer="{i}"}} {ready_s + 0.003}')
            lines.append(f'tracer_provider_error_events_total{{tracer="{i}"}} 0.0')
        return "\n".join(lines) + "\n"


def _counters_text(counters: Mapping[str, float]) -> str:
    return "".join(f"{key} {value}\n" for key, value in counters.items())


class FakeRuntime(ClosesOnExit):
    """Runs components in memory (implements ``Runtime``)."""

    name = "fake"
    start_cost_s = 0.0
    fault_kinds = ALL_FAULT_KINDS

    def __init__(self, run_id: str, clock: Clock, script: FakeScript | None = None) -> None:
        self.run_id = run_id
        self.clock = clock
        self.script = script or FakeScript()
        self.components: list[FakeComponent] = []
        self.closed = False
        self.blocked = Blocked()
        self.actions: list[str] = []
        """Every fault action, ``"<wall time> <what>"``, in order."""

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
        started: list[ComponentHandle] = []
        for spec in specs:
            if any(c.spec.name == spec.name for c in self.components):
                raise ComponentStartError(spec.name, "a component with this name already runs")
            component = FakeComponent(spec, self.script, self.clock, self.blocked)
            self.components.append(component)
            started.append(component)
        return started

    def handles(self) -> list[ComponentHandle]:
        return list(self.components)

    def stop(self, handles: Sequence[ComponentHandle], timeout: float = 10.0) -> None:
        for component in self.components:
            if component in handles and not (component.stopped or component.killed):
                component.stopped = True
                component.log.append(f"fake {component.spec.name}: stopped")
                if not self.closed:
                    self._went_down(component, "stopped")

    def kill(self, handles: Sequence[ComponentHandle]) -> None:
        for c in self.components:
            if c in handles and not (c.killed or c.stopped):
                c.killed = True
                c.log.append(f"fake {c.spec.name}: killed")
                self._went_down(c, "killed")

    def shut_down(self, handle: ComponentHandle, timeout: float = 10.0) -> None:
        self.stop([handle], timeout)

    def revive(self, handle: ComponentHandle) -> None:
        [c] = [c for c in self.components if c is handle]
        c.killed = c.stopped = False
        c.started_wall = self.clock.time()
        c.log.append(f"fake {c.spec.name}: started again")
        self.actions.append(f"{self.clock.time():.3f} revive {c.spec.name}")
        if c.spec.role == "agent":
            self.blocked.close("agent down", self.clock.time())

    def agent_link(self, agent: ComponentHandle) -> AgentLink:
        return FakeLink(f"http://agent-link.{FAKE_DOMAIN}", self.clock, self.blocked, self.actions)

    def _went_down(self, c: FakeComponent, how: str) -> None:
        self.actions.append(f"{self.clock.time():.3f} {how} {c.spec.name}")
        if c.spec.role == "agent":
            self.blocked.add(self.clock.time(), math.inf, "agent down")

    def save_logs(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for c in self.components:
            (dest / f"{c.spec.name}.log").write_text("\n".join(c.log) + "\n", encoding="utf-8")

    def close(self) -> None:
        self.stop(self.components)
        self.closed = True

    def http_client(self, *, timeout: float, max_connections: int = 64) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self._route), timeout=timeout)

    def _route(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host.removesuffix("." + FAKE_DOMAIN)
        for component in self.components:
            if component.spec.name == host:
                try:
                    return component.answer(request.url.path, request.method, request.read())
                except httpx.ConnectError as exc:
                    raise httpx.ConnectError(str(exc), request=request) from None
        raise httpx.ConnectError(f"no fake component {host!r}", request=request)
