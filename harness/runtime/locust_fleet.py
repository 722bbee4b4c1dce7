"""The pure half of the ``locust`` runtime: what the runner's tracer specs ask of the fleet, the
master's and the workers' specs, and the handles of the workers (one per Locust worker).

The runner hands every runtime the same tracer specs (packs of tracers, each with the stub's
settings, its range of tracer indexes and the boot instant); the Locust runtime folds them into
one `FleetRequest` (every tracer, their common settings, the start instant, a ramp) that the
master receives as its environment. After the master has planned, each worker is a
`WorkerHandle` whose spec carries the range of tracers Locust's dispatcher gave it, so that
collection accounts for every tracer as it does for stub processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harness.errors import ComponentStartError
from harness.runtime.base import ComponentHandle, ComponentSpec, ComponentState, ComponentStatus
from tracer_locust.control import MasterStatus, WorkerStatus

MASTER_MODULE = "tracer_locust.master"
WORKER_MODULE = "tracer_locust.worker"

#: Per-process keys of the runner's tracer specs that the fleet replaces with its own.
_PER_PROCESS = (
    "RC_STUB_TRACERS",
    "RC_STUB_TRACER_INDEX_BASE",
    "RC_STUB_START_AT",
    "RC_STUB_BOOT_STAGGER_MS",
)


@dataclass(frozen=True)
class FleetRequest:
    """The whole fleet the runner's tracer specs describe."""

    tracers: int
    stub_env: Mapping[str, str]
    start_at: float | None
    ramp_s: float

    @classmethod
    def from_specs(cls, specs: Sequence[ComponentSpec]) -> FleetRequest:
        """Fold the runner's packs (contiguous from tracer 0, one stub environment)."""
        if not specs:
            raise ValueError("no tracer specs")
        ordered = sorted(specs, key=lambda s: s.first_tracer)
        expected = 0
        for spec in ordered:
            if spec.first_tracer != expected:
                raise ValueError(f"tracer specs are not contiguous at {spec.name}")
            expected += spec.tracers
        first = ordered[0].env
        start = first.get("RC_STUB_START_AT")
        stagger_ms = float(first.get("RC_STUB_BOOT_STAGGER_MS", "0") or 0)
        return cls(
            tracers=expected,
            stub_env={k: v for k, v in first.items() if k not in _PER_PROCESS},
            start_at=float(start) if start else None,
            ramp_s=stagger_ms * expected / 1000.0,
        )

    def master_env(
        self,
        *,
        run_id: str,
        expect_workers: int,
        bind_host: str,
        bind_port: int,
        timeout_s: float,
        csv_prefix: str,
        web_ui: bool,
        web_port: int,
    ) -> dict[str, str]:
        """The master's environment: the tracers' settings and its own ``RC_LOCUST_*``."""
        env = dict(self.stub_env)
        env.update(
            {
                "RC_LOCUST_USERS": str(self.tracers),
                "RC_LOCUST_EXPECT_WORKERS": str(expect_workers),
                "RC_LOCUST_EXPECT_WORKERS_TIMEOUT_S": f"{timeout_s:g}",
                "RC_LOCUST_MASTER_BIND_HOST": bind_host,
                "RC_LOCUST_MASTER_BIND_PORT": str(bind_port),
                "RC_LOCUST_START_AT": "" if self.start_at is None else f"{self.start_at:.3f}",
                "RC_LOCUST_RAMP_S": f"{self.ramp_s:g}",
                "RC_LOCUST_CSV_PREFIX": csv_prefix,
                "RC_LOCUST_WEB_UI": "1" if web_ui else "0",
                "RC_LOCUST_WEB_PORT": str(web_port),
                "RC_LOCUST_RUN_ID": run_id,
            }
        )
        return env


def worker_spec(index: int, master_port: int) -> ComponentSpec:
    """A local worker: ``python -m tracer_locust.worker --master-host 127.0.0.1 ...`` (the
    runtime appends ``--host/--port``, where the worker serves ``/metrics``)."""
    return ComponentSpec(
        f"locust-worker-{index:02d}",
        "tracer",
        WORKER_MODULE,
        args=("--master-host", "127.0.0.1", "--master-port", str(master_port)),
    )


class WorkerHandle:
    """One Locust worker as a tracer component (implements ``ComponentHandle``).

    A worker this machine started answers for its process (state, log); a worker that joined
    from elsewhere is what the master says of it: ``missing`` (no heartbeat) counts as exited,
    so that its unsettled tracers are counted as crashed.
    """

    def __init__(
        self,
        spec: ComponentSpec,
        metrics_url: str,
        process: ComponentHandle | None,
        master_view: Callable[[], WorkerStatus | None],
    ) -> None:
        self._spec = spec
        self._url = metrics_url
        self.process = process
        self._master_view = master_view

    @property
    def spec(self) -> ComponentSpec:
        return self._spec

    @property
    def host_url(self) -> str:
        return self._url

    @property
    def internal_url(self) -> str:
        return self._url

    def state(self) -> ComponentState:
        if self.process is not None:
            return self.process.state()
        seen = self._master_view()
        if seen is None or seen.state in ("missing", "stopped"):
            return ComponentState(ComponentStatus.EXITED, exit_code=-1)
        return ComponentState(ComponentStatus.RUNNING)

    def log_tail(self, lines: int = 30) -> str:
        if self.process is not None:
            return self.process.log_tail(lines)
        return "(a worker on another machine: see its own log)"


def assigned(status: MasterStatus) -> list[WorkerStatus]:
    """The workers that have a range, in tracer order."""
    workers = [w for w in status.workers if w.assignment is not None and w.hello is not None]
    return sorted(workers, key=lambda w: w.assignment.first_tracer if w.assignment else 0)


def worker_handles(
    status: MasterStatus,
    local: Mapping[int, ComponentHandle],
    master_view: Callable[[str], WorkerStatus | None],
) -> list[WorkerHandle]:
    """A handle per assigned worker; `local` maps a process id to a worker this machine
    started (its name and process); others are named ``locust-remote-<index>``."""
    handles = []
    for w in assigned(status):
        assert w.assignment is not None and w.hello is not None
        process = local.get(w.hello.pid) if w.hello.hostname == _hostname() else None
        name = process.spec.name if process is not None else f"locust-remote-{w.index:02d}"
        spec = ComponentSpec(
            name,
            "tracer",
            WORKER_MODULE,
            tracers=w.assignment.tracers,
            first_tracer=w.assignment.first_tracer,
        )
        handles.append(WorkerHandle(spec, w.hello.metrics_url, process, _bound(master_view, w.id)))
    return handles


def _bound(
    view: Callable[[str], WorkerStatus | None], worker_id: str
) -> Callable[[], WorkerStatus | None]:
    return lambda: view(worker_id)


def check_fleet(
    status: MasterStatus | None,
    master: ComponentHandle,
    workers: Sequence[ComponentHandle],
    started: float,
    timeout_s: float,
    now: Callable[[], float] = time.monotonic,
) -> bool:
    """True when the master has assigned every tracer; raises `ComponentStartError` naming
    the master or the worker that failed (with its last log lines), or the ones that never
    connected when ``timeout_s`` has passed since ``started``."""
    state = master.state()
    if state.status is ComponentStatus.EXITED:
        reason = status.error if status and status.error else f"exited with code {state.exit_code}"
        raise ComponentStartError(master.spec.name, reason, _tails(master, workers, status))
    for worker in workers:
        ws = worker.state()
        if ws.status is ComponentStatus.EXITED:
            raise ComponentStartError(
                worker.spec.name,
                f"exited with code {ws.exit_code} before the fleet was planned",
                worker.log_tail(),
            )
    if status is not None and status.phase == "assigned":
        return True
    if now() - started > timeout_s:
        came = len(status.workers) if status else 0
        expected = status.expected_workers if status else len(workers)
        raise ComponentStartError(
            master.spec.name,
            f"{came} of {expected} Locust workers connected within {timeout_s:g} s",
            _tails(master, workers, status),
        )
    return False


def _tails(
    master: ComponentHandle, workers: Sequence[ComponentHandle], status: MasterStatus | None
) -> str:
    """The master's last lines and those of every local worker the master has not seen."""
    seen = {w.hello.pid for w in status.workers if w.hello} if status else set()
    parts = [master.log_tail(10)]
    for worker in workers:
        pid = getattr(worker, "pid", None)
        if pid not in seen:
            parts.append(f"--- {worker.spec.name} (never connected) ---\n{worker.log_tail(10)}")
    return "\n".join(p for p in parts if p)


def _hostname() -> str:
    import os

    return os.uname().nodename
