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
- Containers never resolve outside names: their DNS upstream is the container's own loopback, so
  Docker's embedded DNS answers the run's container names and nothing else leaves the machine.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TextIO, TypeVar

from harness.images import DEFAULT_IMAGE, build_command, image_digest_label, source_digest
from harness.runtime.base import (
    ComponentHandle,
    ComponentSpec,
    ComponentStartError,
    ComponentState,
    ComponentStatus,
    RuntimeErrorBase,
)

LABEL_RUN_ID = "harness.run_id"
LABEL_ROLE = "harness.role"
LABEL_COMPONENT = "harness.component"
LABEL_TRACERS = "harness.tracers"
NAME_PREFIX = "rcfl"
CONTAINER_PORT = 8000
"""Every component listens on this port inside its container (``--port``)."""
START_SCRIPT = "compose/start-dockerd.sh"

T = TypeVar("T")
R = TypeVar("R")


class DockerUnavailableError(RuntimeErrorBase):
    """No Docker engine answers."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"no Docker engine answers ({detail}): start one with `{START_SCRIPT}` (as root; it "
            "installs Debian's docker.io when missing) or Docker Desktop, or use --runtime local"
        )


class ImageMissingError(RuntimeErrorBase):
    """The harness image is not in the engine."""

    def __init__(self, image: str) -> None:
        super().__init__(
            f"image {image} not found in the Docker engine: build it with `{build_command(image)}`"
            f" (without a registry, first `harness image bootstrap-base`, then "
            f"`{build_command(image, 'rc-fastlane-base:bookworm')}`)"
        )


def connect(client: Any | None = None, pool_size: int = 32) -> Any:
    """A ``docker.DockerClient`` that answers, or :class:`DockerUnavailableError`."""
    import docker
    import docker.errors

    try:
        client = client or docker.from_env(max_pool_size=pool_size, timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailableError(str(exc).splitlines()[0][:200]) from None
    return client


def engine_answers() -> bool:
    """True when a Docker engine answers (used by the ``docker`` test marker)."""
    try:
        connect(pool_size=1).close()
    except DockerUnavailableError:
        return False
    return True


def stale_image_warning(client: Any, image: str) -> str | None:
    """A warning when ``image`` was built from other service sources than this checkout's."""
    built_from = image_digest_label(client, image)
    if built_from == source_digest():
        return None
    return (
        f"image {image} was built from other sources than this checkout's services "
        f"(source digest {built_from or 'unknown'}, here {source_digest()}): the containers run "
        f"the image's code; rebuild it with `{build_command(image)}`"
    )


def auto_choice(image: str = DEFAULT_IMAGE) -> tuple[str, str]:
    """``--runtime auto``: ``docker`` when an engine answers and has ``image`` built from this
    checkout's service sources, else ``local``; with the reason ``harness run`` prints."""
    import docker.errors

    try:
        client = connect(pool_size=1)
    except DockerUnavailableError:
        return "local", "no Docker engine answers: running local processes"
    try:
        client.images.get(image)
        stale = stale_image_warning(client, image)
    except docker.errors.ImageNotFound:
        return "local", (
            f"a Docker engine answers but image {image} is missing ({build_command(image)}): "
            "running local processes"
        )
    finally:
        client.close()
    if stale:
        return "local", f"{stale}; running local processes"
    return "docker", f"a Docker engine answers and image {image} is up to date"


# --- pure helpers: names, labels, Docker state ------------------------------------------------


def network_name(run_id: str) -> str:
    return f"{NAME_PREFIX}-{run_id}"


def container_name(run_id: str, component: str) -> str:
    return f"{NAME_PREFIX}-{run_id}-{component}"


def labels_for(run_id: str, spec: ComponentSpec | None = None) -> dict[str, str]:
    """The labels of a run's objects: the run id always, role and component on containers."""
    labels = {LABEL_RUN_ID: run_id}
    if spec is not None:
        labels |= {
            LABEL_ROLE: spec.role,
            LABEL_COMPONENT: spec.name,
            LABEL_TRACERS: str(spec.tracers),
        }
    return labels


def command_for(spec: ComponentSpec, port: int = CONTAINER_PORT) -> list[str]:
    """The container command after the ``python -m`` entry point."""
    return [spec.module, *spec.args, "--host", "0.0.0.0", "--port", str(port)]


_STATUS = {
    "running": ComponentStatus.RUNNING,
    "paused": ComponentStatus.RUNNING,
    "restarting": ComponentStatus.RESTARTING,
    "created": ComponentStatus.CREATED,
    "exited": ComponentStatus.EXITED,
    "dead": ComponentStatus.EXITED,
    "removing": ComponentStatus.EXITED,
}


def state_from_attrs(attrs: Mapping[str, Any]) -> ComponentState:
    """A :class:`ComponentState` from ``docker inspect``'s ``State`` (``container.attrs``)."""
    state = attrs.get("State") or {}
    status = _STATUS.get(str(state.get("Status", "")), ComponentStatus.EXITED)
    exit_code = state.get("ExitCode")
    if status in (ComponentStatus.RUNNING, ComponentStatus.CREATED):
        exit_code = None
    return ComponentState(
        status=status,
        exit_code=None if exit_code is None else int(exit_code),
        oom_killed=bool(state.get("OOMKilled", False)),
    )


def host_port_from_attrs(attrs: Mapping[str, Any], port: int = CONTAINER_PORT) -> int | None:
    """The host port Docker published ``port/tcp`` on, or None while not yet known."""
    ports = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    for binding in ports.get(f"{port}/tcp") or ():
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


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


class DockerRuntime:
    """Runs a run's components as containers of ``image`` (see the module docstring)."""

    name = "docker"

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
            raise ImageMissingError(self.image) from None
        if stale:
            print(f"warning: {stale}", file=self._out)
        self._network = client.networks.create(
            network_name(self.run_id),
            driver="bridge",
            labels=labels_for(self.run_id),
            check_duplicate=True,
        )

    def _start_one(self, spec: ComponentSpec) -> DockerHandle:
        import docker.errors

        if self._closing.is_set():
            raise ComponentStartError(spec.name, "the run is shutting down")
        name = container_name(self.run_id, spec.name)
        try:
            container = self.client.containers.create(
                self.image,
                command=command_for(spec),
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
        results = _parallel(self._start_one, specs, self.workers, self._closing)
        started = [r for r in results if isinstance(r, DockerHandle)]
        with self._lock:  # registered even when another spec failed: save_logs sees them
            self._handles.extend(started)
        _raise_first(results)
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

        _raise_first(_parallel(stop_one, handles, self.workers))

    def save_logs(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        self._logs_saved = True

        def save_one(handle: DockerHandle) -> None:
            (dest / f"{handle.spec.name}.log").write_text(handle.logs())

        _raise_first(_parallel(save_one, self.handles(), self.workers))  # type: ignore[arg-type]

    def close(self) -> None:
        """Remove every container and network labelled with this run (unless ``keep``)."""
        if self._closed:
            return
        self._closing.set()
        self._closed = True
        if self._client is None:
            return
        if self.log_dir is not None and not self._logs_saved and self._handles:
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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- cleanup by label -------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    containers: int
    networks: int
    run_ids: tuple[str, ...]


def sweep(client: Any, run_id: str | None = None, *, workers: int = 16) -> SweepResult:
    """Remove every container and network labelled ``harness.run_id`` (=``run_id`` if given).

    Force-removes containers (running or not) in parallel, then the networks. Safe to repeat.
    """
    import docker.errors

    label = LABEL_RUN_ID if run_id is None else f"{LABEL_RUN_ID}={run_id}"
    containers = client.containers.list(all=True, filters={"label": label})
    runs = {c.labels.get(LABEL_RUN_ID, "") for c in containers}

    def remove(container: Any) -> None:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise

    _raise_first(_parallel(remove, containers, workers))
    networks = client.networks.list(filters={"label": label})
    for network in networks:
        runs.add(network.attrs.get("Labels", {}).get(LABEL_RUN_ID, ""))
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
    return SweepResult(len(containers), len(networks), tuple(sorted(r for r in runs if r)))


def leftovers(client: Any, run_id: str | None = None) -> tuple[list[Any], list[Any]]:
    """Containers and networks still labelled with ``run_id`` (any run when None)."""
    label = LABEL_RUN_ID if run_id is None else f"{LABEL_RUN_ID}={run_id}"
    return (
        client.containers.list(all=True, filters={"label": label}),
        client.networks.list(filters={"label": label}),
    )


# --- parallel map that survives Ctrl-C --------------------------------------------------------


def _parallel(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    closing: threading.Event | None = None,
) -> list[R | BaseException]:
    """``fn`` over ``items`` on a thread pool; each result or the exception it raised.

    If the caller is interrupted (Ctrl-C) while waiting, ``closing`` is set so that pending
    items are skipped, running ones are waited for, and the interrupt is re-raised: once this
    returns or raises, nothing is still creating containers behind the caller's back, so a
    sweep by label afterwards catches everything.
    """
    items = list(items)
    if not items:
        return []
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))))
    try:
        futures = [pool.submit(fn, item) for item in items]
        results: list[R | BaseException] = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:
                results.append(exc)
        return results
    except BaseException:
        if closing is not None:
            closing.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _raise_first(results: Sequence[object]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result
