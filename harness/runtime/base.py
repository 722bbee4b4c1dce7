"""The runtime interface: where the components of a run execute.

A runtime knows how to run a component (``python -m <module>`` with an environment and a listen
port) somewhere: as a local process (``LocalRuntime``) or as a container (``DockerRuntime``).
It knows nothing about scenarios, RC or reports; the orchestrator in ``harness.run.runner`` builds
the :class:`ComponentSpec` list from a scenario and drives any runtime the same way.

Every service module accepts ``--host`` and ``--port`` (the listen address of its HTTP endpoint;
for ``tracer_stub`` that is its ``/metrics`` endpoint). The runtime chooses them and appends them
to the spec's arguments, then reports two URLs per component: ``host_url`` (what the harness on
this machine uses, always on 127.0.0.1) and ``internal_url`` (what other components of the same
run use: the same URL locally, the container name on the run's network under Docker).

Runtimes are context managers: ``__exit__`` stops and removes everything the run created, on
every exit path, and is idempotent. The harness reaches components only through the HTTP client
a runtime hands out (:meth:`Runtime.http_client`): a real one on the network for processes and
containers, an in-memory one for :class:`~harness.runtime.fake.FakeRuntime`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

import httpx

Role = Literal["backend", "agent", "tracer"]


@dataclass(frozen=True)
class ComponentSpec:
    """What to run. ``name`` is unique in a run (``backend``, ``agent``, ``tracers-000``)."""

    name: str
    role: Role
    module: str
    env: Mapping[str, str] = field(default_factory=dict)
    args: Sequence[str] = ()
    tracers: int = 0
    """How many simulated tracers this component hosts (0 for backend and agent)."""
    first_tracer: int = 0
    """The fleet-wide index of the first tracer it hosts (its ``tracer`` metric label)."""
    command: Sequence[str] = ()
    """When set, the program run instead of ``python -m <module>`` (a real tracer app: its
    interpreter and script); ``--host``/``--port`` are appended as for a module."""
    image: str | None = None
    """Docker: the image run instead of the runtime's (a real tracer's image variant)."""
    kind: str = "stub"
    """Tracer components: the kind of tracer hosted (``stub``, ``ddtrace-py``, ``dd-trace-js``)."""

    @property
    def tracer_indexes(self) -> range:
        """The fleet-wide indexes of the tracers this component hosts."""
        return range(self.first_tracer, self.first_tracer + self.tracers)


class ComponentStatus(enum.StrEnum):
    RUNNING = "running"
    EXITED = "exited"
    RESTARTING = "restarting"
    CREATED = "created"


@dataclass(frozen=True)
class ComponentState:
    """A component's state as the runtime sees it (process or container)."""

    status: ComponentStatus
    exit_code: int | None = None
    oom_killed: bool = False

    @property
    def crashed(self) -> bool:
        """Exited with a non-zero code or killed for memory."""
        return self.oom_killed or (
            self.status is ComponentStatus.EXITED and self.exit_code not in (0, None)
        )


@runtime_checkable
class ComponentHandle(Protocol):
    """A started component."""

    @property
    def spec(self) -> ComponentSpec: ...

    @property
    def host_url(self) -> str:
        """Base URL of the component's HTTP endpoint as reached from the harness (127.0.0.1)."""
        ...

    @property
    def internal_url(self) -> str:
        """Base URL of the component's HTTP endpoint as reached from other components."""
        ...

    def state(self) -> ComponentState: ...

    def log_tail(self, lines: int = 30) -> str: ...


class Runtime(Protocol):
    """Runs components for one run, identified by ``run_id`` (labels, names, cleanup)."""

    name: str
    run_id: str
    start_cost_s: float
    """Serial seconds the runtime itself spends to start one component (0 for processes)."""

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
        """Start the components (in parallel where possible) and return their handles in order.

        Does not wait for health: the orchestrator polls each component's ``/health``.
        Raises :class:`ComponentStartError` when a component cannot be started at all.
        """
        ...

    def handles(self) -> list[ComponentHandle]:
        """Every component started so far, in start order."""
        ...

    def stop(self, handles: Sequence[ComponentHandle], timeout: float = 10.0) -> None:
        """Stop these components (SIGTERM, then kill after ``timeout``); they stay inspectable."""
        ...

    def save_logs(self, dest: Path) -> None:
        """Write one ``<component>.log`` per component into ``dest``."""
        ...

    def close(self) -> None:
        """Stop and remove everything this run created. Idempotent; safe after partial failure."""
        ...

    def http_client(self, *, timeout: float, max_connections: int = 64) -> httpx.AsyncClient:
        """A client that reaches the components' ``host_url`` (the caller closes it)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosesOnExit:
    """Mixin of the runtimes: used as a context manager, a runtime calls its ``close()`` on every
    exit path; its components are reached over the network."""

    def http_client(self, *, timeout: float, max_connections: int = 64) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=max_connections)
        )

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
