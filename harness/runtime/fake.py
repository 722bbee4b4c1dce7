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
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.errors import ComponentStartError
from harness.runtime.base import (
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
    agent_counters: Mapping[str, float] = field(default_factory=lambda: DEFAULT_AGENT_COUNTERS)
    backend_counters: Mapping[str, float] = field(default_factory=lambda: DEFAULT_BACKEND_COUNTERS)


class FakeComponent:
    """A component of :class:`FakeRuntime` (implements ``ComponentHandle``)."""

    def __init__(self, spec: ComponentSpec, script: FakeScript, clock: Clock) -> None:
        self._spec = spec
        self._script = script
        self._clock = clock
        self.stopped = False
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
        if self.stopped:
            return ComponentState(ComponentStatus.EXITED, 0)
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
            ready_s = self._script.ready_after_s + self._script.per_tracer_s * n
            ready = not pending and now >= self.start_at + ready_s
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

    def __init__(self, run_id: str, clock: Clock, script: FakeScript | None = None) -> None:
        self.run_id = run_id
        self.clock = clock
        self.script = script or FakeScript()
        self.components: list[FakeComponent] = []
        self.closed = False

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
        started: list[ComponentHandle] = []
        for spec in specs:
            if any(c.spec.name == spec.name for c in self.components):
                raise ComponentStartError(spec.name, "a component with this name already runs")
            component = FakeComponent(spec, self.script, self.clock)
            self.components.append(component)
            started.append(component)
        return started

    def handles(self) -> list[ComponentHandle]:
        return list(self.components)

    def stop(self, handles: Sequence[ComponentHandle], timeout: float = 10.0) -> None:
        for component in self.components:
            if component in handles and not component.stopped:
                component.stopped = True
                component.log.append(f"fake {component.spec.name}: stopped")

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
