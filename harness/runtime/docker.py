"""The Docker runtime: every component in its own container, on a network of its own per run.

Built on the Docker SDK (``docker`` package), the way DataDog/system-tests drives containers
(``utils/_context/containers.py``): one container per component, named after the run, started
from one image whose entry point is ``python -m`` (``compose/Dockerfile``).

- A bridge network per run (``rcfl-<run_id>``); components reach each other by container name
  (``internal_url``), the harness through a port published on 127.0.0.1 with a random host port
  (``host_url``), which also works on Docker Desktop.
- Containers are created and started in parallel (a thread pool), like system-tests' per-container
  start threads (PR #2732).
- Every container and network carries ``harness.run_id=<id>`` plus role and component labels;
  :meth:`DockerRuntime.close` removes by label, so whatever a crashed start left behind goes too
  (testcontainers' Ryuk idea, without a reaper container). :func:`sweep` is ``harness down``.
- Health comes from Docker's own state (running, exited, restarting, exit code, OOM killed).
- Engine-side helpers (names, labels, states, sweep, the thread pool) live in
  :mod:`harness.runtime.docker_engine` and are re-exported here.
- Containers never resolve outside names: their DNS upstream is the container's own loopback, so
  Docker's embedded DNS answers the run's container names and nothing else leaves the machine.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from harness.errors import (
    ComponentStartError,
    DockerUnavailableError,
    ImageMissingError,
    RuntimeErrorBase,
)
from harness.runtime.base import (
    ClosesOnExit,
    ComponentHandle,
    ComponentSpec,
    ComponentState,
    ComponentStatus,
)
from harness.runtime.docker_engine import (
    CONTAINER_PORT,
    LABEL_COMPONENT,
    LABEL_ROLE,
    LABEL_RUN_ID,
    LABEL_TRACERS,
    SweepResult,
    auto_choice,
    command_for,
    connect,
    container_name,
    engine_answers,
    host_port_from_attrs,
    labels_for,
    leftovers,
    network_name,
    parallel,
    raise_first,
    stale_image_warning,
    state_from_attrs,
    sweep,
)
from harness.runtime.images import DEFAULT_IMAGE, build_command

__all__ = [
    "CONTAINER_PORT",
    "LABEL_COMPONENT",
    "LABEL_ROLE",
    "LABEL_RUN_ID",
    "LABEL_TRACERS",
    "DockerHandle",
    "DockerRuntime",
    "DockerUnavailableError",
    "ImageMissingError",
    "SweepResult",
    "auto_choice",
    "command_for",
    "connect",
    "container_name",
    "engine_answers",
    "host_port_from_attrs",
    "labels_for",
    "leftovers",
    "network_name",
    "stale_image_warning",
    "state_from_attrs",
    "sweep",
]

# --- handles and runtime ----------------------------------------------------------------------


@dataclass
class DockerHandle:
    """A started container (implements :class:`~harness.runtime.base.ComponentHandle`)."""

    _spec: ComponentSpec
    container: Any
    host_port: int
    name: str

    @property
    def spec(self) -> ComponentSpec:
        return self._spec

    @property
    def host_url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    @property
    def internal_url(self) -> str:
        return f"http://{self.name}:{CONTAINER_PORT}"

    def state(self) -> ComponentState:
        import docker.errors

        try:
            self.container.reload()
        except docker.errors.NotFound:
            return ComponentState(ComponentStatus.EXITED, exit_code=None)
        except docker.errors.DockerException as exc:
            raise RuntimeErrorBase(f"cannot inspect container {self.name}: {exc}") from None
        return state_from_attrs(self.container.attrs)

    def log_tail(self, lines: int = 30) -> str:
        return _logs(self.container, tail=lines)

    def logs(self) -> str:
        return _logs(self.container, tail="all")


def _logs(container: Any, tail: int | str) -> str:
    import docker.errors

    try:
        raw = container.logs(stdout=True, stderr=True, tail=tail)
    except docker.errors.APIError as exc:
        return f"(logs of {container.name} unavailable: {exc})"
    return bytes(raw).decode("utf-8", errors="replace")


class DockerRuntime(ClosesOnExit):
    """Runs a run's components as containers of ``image`` (see the module docstring)."""

    name = "docker"
    start_cost_s = 0.35
    """Engine seconds to create and start one container, serially, on the 2-core machine this
    was measured on (``benchmarks/docker_startup.py``: 100 containers in 31 s at load 7, 36 s at
    load 27, i.e. 0.31-0.36 s each; the value is near the busy end; the engine does not go
    faster in parallel). The runner adds it per component to the boot margin
    (``harness.run.runner.boot_margin_s``), so that one tracer per container does not miss the boot
    instant."""

    close_wait_s = 120.0
    """How long :meth:`close` waits for container starts still running before it sweeps (the
    Docker client's own call timeout, ``connect``)."""

    def __init__(
        self,
        run_id: str,
        *,
        image: str = DEFAULT_IMAGE,
        client: Any | None = None,
        keep: bool = False,
        workers: int = 16,
        mem_limit: str | None = None,
        log_dir: Path | None = None,
        out: TextIO | None = None,
    ) -> None:
        """``log_dir``: where :meth:`close` saves every container's log if :meth:`save_logs`
        was not called (a failed or interrupted run), before the containers are removed."""
        self.run_id = run_id
        self.log_dir = log_dir
        self._logs_saved = False
        self.image = image
        self.keep = keep
        self.workers = workers
        self.mem_limit = mem_limit
        self._client = client
        self._out = out or sys.stderr
        self._handles: list[DockerHandle] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._inflight = 0
        self._idle = threading.Condition(self._lock)
        self._network: Any | None = None
        self._closed = False

    # -- set-up --

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect(pool_size=max(self.workers * 2, 10))
        return self._client

    def _prepare(self) -> None:
        import docker.errors

        if self._network is not None:
            return
        client = self.client
        try:
            stale = stale_image_warning(client, self.image)
        except docker.errors.ImageNotFound:
            raise ImageMissingError(self.image, build_command(self.image)) from None
        if stale:
            print(f"warning: {stale}", file=self._out)
        try:
            self._network = client.networks.create(
                network_name(self.run_id),
                driver="bridge",
                labels=labels_for(self.run_id),
                check_duplicate=True,
            )
        except docker.errors.APIError as exc:
            raise RuntimeErrorBase(
                f"cannot create network {network_name(self.run_id)}: {exc.explanation or exc}"
                " (leftover networks of crashed runs use up Docker's address pools: "
                "`harness down` removes them)"
            ) from None

    def _start_one(self, spec: ComponentSpec) -> DockerHandle:
        with self._lock:
            if self._closing.is_set():
                raise ComponentStartError(spec.name, "the run is shutting down")
            self._inflight += 1
        try:
            return self._create_and_start(spec)
        finally:
            with self._lock:
                self._inflight -= 1
                self._idle.notify_all()

    def _create_and_start(self, spec: ComponentSpec) -> DockerHandle:
        import docker.errors

        name = container_name(self.run_id, spec.name)
        try:
            container = self.client.containers.create(
                spec.image or self.image,
                command=command_for(spec),
                entrypoint=list(spec.command) or None,
                name=name,
                hostname=spec.name,
                environment=dict(spec.env),
                labels=labels_for(self.run_id, spec),
                network=network_name(self.run_id),
                ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", None)},
                dns=["127.0.0.1"],
                mem_limit=self.mem_limit,
                init=True,
                detach=True,
            )
        except docker.errors.ImageNotFound:
            hint = "harness image build-real" if spec.image else build_command(self.image)
            raise ImageMissingError(spec.image or self.image, hint) from None
        except docker.errors.APIError as exc:
            raise ComponentStartError(spec.name, f"docker create {name}: {exc}") from None
        try:
            container.start()
            container.reload()
        except docker.errors.APIError as exc:
            raise ComponentStartError(
                spec.name, f"docker start {name}: {exc}", _logs(container, 30)
            ) from None
        state = state_from_attrs(container.attrs)
        port = host_port_from_attrs(container.attrs)
        if state.status is ComponentStatus.EXITED or port is None:
            raise ComponentStartError(
                spec.name,
                f"container {name} is {state.status.value} (exit code {state.exit_code})",
                _logs(container, 30),
            )
        return DockerHandle(spec, container, port, name)

    # -- Runtime interface --

    def start(self, specs: Sequence[ComponentSpec]) -> list[ComponentHandle]:
        """Create and start every spec's container in parallel; return handles in spec order."""
        self._prepare()
        results = parallel(self._start_one, specs, self.workers, self._closing)
        started = [r for r in results if isinstance(r, DockerHandle)]
        with self._lock:  # registered even when another spec failed: save_logs sees them
            self._handles.extend(started)
        raise_first(results)
        return list(started)

    def handles(self) -> list[ComponentHandle]:
        with self._lock:
            return list(self._handles)

    def stop(self, handles: Sequence[ComponentHandle], timeout: float = 10.0) -> None:
        """Stop the containers (SIGTERM, SIGKILL after ``timeout``); with ``keep``, leave them
        running: ``--keep`` means the stack stays up for inspection after the run."""
        import docker.errors

        if self.keep:
            return

        def stop_one(handle: ComponentHandle) -> None:
            assert isinstance(handle, DockerHandle)
            with contextlib.suppress(docker.errors.NotFound):
                handle.container.stop(timeout=max(int(timeout), 0))

        raise_first(parallel(stop_one, handles, self.workers))

    def save_logs(self, dest: Path) -> None:
        """Write ``<component>.log`` for every container of the run, found by label: those
        that failed to start (and so have no handle) included."""
        dest.mkdir(parents=True, exist_ok=True)
        self._logs_saved = True
        containers, _ = leftovers(self.client, self.run_id)

        def save_one(container: Any) -> None:
            component = container.labels.get(LABEL_COMPONENT) or container.name
            (dest / f"{component}.log").write_text(_logs(container, "all"), encoding="utf-8")

        raise_first(parallel(save_one, containers, self.workers))

    def close(self) -> None:
        """Remove every container and network labelled with this run (unless ``keep``).

        A second Ctrl-C (or SIGTERM) while this runs is noted, not obeyed: it would otherwise
        leave half the run's containers behind."""
        if self._closed:
            return
        self._closing.set()
        self._closed = True
        if self._client is None:
            return
        with _interrupts_deferred(self._out):
            self._close()

    def _close(self) -> None:
        with self._lock:  # a create/start still running would add a container after the sweep
            self._closing.set()
            settled = self._idle.wait_for(lambda: self._inflight == 0, timeout=self.close_wait_s)
        if not settled:
            print(
                f"a container start of run {self.run_id} was still running after "
                f"{self.close_wait_s:g} s; if a container is left, remove it with "
                f"`harness down --run-id {self.run_id}`",
                file=self._out,
            )
        if self.log_dir is not None and not self._logs_saved and self._network is not None:
            try:
                self.save_logs(self.log_dir)
            except Exception as exc:  # the removal below matters more than the logs
                print(f"could not save the logs of run {self.run_id}: {exc}", file=self._out)
        if self.keep:
            print(
                f"--keep: run {self.run_id} left up ({len(self._handles)} containers, network "
                f"{network_name(self.run_id)}); remove it with `harness down --run-id "
                f"{self.run_id}`",
                file=self._out,
            )
            return
        sweep(self._client, self.run_id, workers=self.workers)


@contextlib.contextmanager
def _interrupts_deferred(out: TextIO) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM print a note instead of interrupting (main thread
    only: elsewhere signals are not delivered to Python code anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum: int, frame: object) -> None:
        print("removing the run's containers and network; one moment", file=out)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
