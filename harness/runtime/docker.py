"""The Docker runtime: every component in its own container, on a network of its own per run.

Built on the Docker SDK (``docker`` package), the way DataDog/system-tests drives containers
(``utils/_context/containers.py``): one container per component, named after the run, started
from one image whose entry point is ``python -m`` (``compose/Dockerfile``).

- A bridge network per run (``rcfl-<run_id>``), ``internal`` where the host can route to it;
  components reach each other by container name (``internal_url``), the harness at the
  container's address (``host_url``), or, on Docker Desktop and remote engines, through a port
  published on 127.0.0.1. Containers drop every capability, cannot gain privileges, and have
  pids and memory limits (:mod:`harness.runtime.docker_config`).
- Containers are created and started in parallel (a thread pool), like system-tests' per-container
  start threads (PR #2732).
- Every container and network carries ``harness.run_id=<id>`` plus role, component and owner
  labels; :meth:`DockerRuntime.close` removes by label, so whatever a crashed start left behind
  goes too. If the harness dies without closing (SIGKILL, the OOM killer), the run's reaper
  process removes them by the same label (:mod:`harness.runtime.reaper`, testcontainers' Ryuk
  idea); ``harness down`` sweeps what is left (:mod:`harness.runtime.cleanup`).
- Health comes from Docker's own state (running, exited, restarting, exit code, OOM killed).
- Engine-side helpers (names, labels, states, sweep, the thread pool) live in
  :mod:`harness.runtime.docker_engine` and are re-exported here.
- Containers never resolve outside names: their DNS upstream is the container's own loopback, so
  Docker's embedded DNS answers the run's container names and nothing else leaves the machine.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from harness.errors import (
    ComponentStartError,
    DockerUnavailableError,
    ImageMissingError,
    RuntimeErrorBase,
)
from harness.runtime import docker_faults
from harness.runtime.base import (
    AgentLink,
    ClosesOnExit,
    ComponentHandle,
    ComponentSpec,
    ComponentStatus,
)
from harness.runtime.docker_config import (
    NETWORK_ENV,
    choose_network,
    container_options,
    host_url_from_attrs,
    network_options,
)
from harness.runtime.docker_engine import (
    CONTAINER_PORT,
    LABEL_COMPONENT,
    LABEL_OWNER,
    LABEL_ROLE,
    LABEL_RUN_ID,
    LABEL_STACK,
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
from harness.runtime.docker_handle import DockerHandle, container_logs
from harness.runtime.images import DEFAULT_IMAGE, build_command
from harness.runtime.ownership import owner
from harness.runtime.reaper import RunGuard
from harness.runtime.signals import interrupts_noted

__all__ = [
    "CONTAINER_PORT",
    "LABEL_COMPONENT",
    "LABEL_OWNER",
    "LABEL_ROLE",
    "LABEL_RUN_ID",
    "LABEL_STACK",
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

# --- the runtime ---------------------------------------------------------------------------


class DockerRuntime(ClosesOnExit):
    """Runs a run's components as containers of ``image`` (see the module docstring)."""

    name = "docker"
    fault_kinds = docker_faults.DOCKER_FAULT_KINDS
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
        labels: Mapping[str, str] | None = None,
        guard: RunGuard | None = None,
        network: str | None = None,
    ) -> None:
        """``log_dir``: where :meth:`close` saves every container's log if :meth:`save_logs`
        was not called (a failed or interrupted run), before the containers are removed.
        ``labels`` are added to every object (the review stack marks its own). ``guard`` holds
        the run's lock and reaper from the first start to :meth:`close`. ``network`` is
        ``auto`` (default: ``$HARNESS_DOCKER_NETWORK``, else auto), ``internal`` or
        ``published`` (:mod:`harness.runtime.docker_config`)."""
        self.run_id = run_id
        self.labels = {LABEL_OWNER: owner(), **(labels or {})}
        self.network_requested = network or os.environ.get(NETWORK_ENV) or "auto"
        self.network_mode = ""
        self.guard = guard or RunGuard(run_id, docker=True)
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
        self.network_mode = choose_network(
            self.network_requested,
            base_url=str(getattr(client.api, "base_url", "")),
            operating_system=str(client.info().get("OperatingSystem", "")),
        )
        self.guard.arm()  # before the first object: a dead harness's objects are reaped
        try:
            self._network = client.networks.create(
                **network_options(
                    network_name(self.run_id),
                    self.network_mode,
                    {**labels_for(self.run_id), **self.labels},
                )
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
        network = network_name(self.run_id)
        try:
            container = self.client.containers.create(
                **container_options(
                    spec,
                    image=spec.image or self.image,
                    name=name,
                    network=network,
                    mode=self.network_mode,
                    labels={**labels_for(self.run_id, spec), **self.labels},
                    mem_limit=self.mem_limit,
                )
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
                spec.name, f"docker start {name}: {exc}", container_logs(container, 30)
            ) from None
        state = state_from_attrs(container.attrs)
        url = host_url_from_attrs(container.attrs, self.network_mode, network)
        if state.status is ComponentStatus.EXITED or url is None:
            raise ComponentStartError(
                spec.name,
                f"container {name} is {state.status.value} (exit code {state.exit_code})",
                container_logs(container, 30),
            )
        return DockerHandle(spec, container, url, name, self.network_mode, network)

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

    def kill(self, handles: Sequence[ComponentHandle]) -> None:
        docker_faults.kill_containers([h for h in self._handles if h in handles], self.workers)

    def shut_down(self, handle: ComponentHandle, timeout: float = 10.0) -> None:
        docker_faults.stop_container(handle, timeout)

    def revive(self, handle: ComponentHandle) -> None:
        docker_faults.start_again(handle)

    def agent_link(self, agent: ComponentHandle) -> AgentLink:
        """Cuts disconnect the tracer containers from the run's network (``docker_faults``)."""

        link = docker_faults.DockerLink
        return link(agent.internal_url, self._network, self.handles, self.workers)

    def save_logs(self, dest: Path) -> None:
        """Write ``<component>.log`` for every container of the run, found by label: those
        that failed to start (and so have no handle) included."""
        dest.mkdir(parents=True, exist_ok=True)
        self._logs_saved = True
        containers, _ = leftovers(self.client, self.run_id)

        def save_one(container: Any) -> None:
            component = container.labels.get(LABEL_COMPONENT) or container.name
            (dest / f"{component}.log").write_text(
                container_logs(container, "all"), encoding="utf-8"
            )

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
        with interrupts_noted(self._out):
            try:
                self._close()
            except BaseException:
                self.guard.abandon()  # the reaper tries again
                raise
            self.guard.disarm()

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
