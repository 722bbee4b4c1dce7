"""The Docker engine side of the Docker runtime: connection, names, labels, states, cleanup.

Everything here is either pure (names, labels, ``docker inspect`` → :class:`ComponentState`) or a
single call on a ``docker.DockerClient``; :mod:`harness.runtime.docker` builds the runtime on it.

- Every container and network a run creates carries ``harness.run_id=<id>`` (and, on containers,
  role and component): :func:`sweep` removes by that label (``harness down``), the way
  testcontainers' Ryuk reaps a session's objects, without a reaper container.
- :func:`parallel` runs engine calls on a thread pool and, if the caller is interrupted, lets
  the running calls finish before re-raising, so a sweep afterwards sees every container.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.errors import DockerUnavailableError, RuntimeErrorBase
from harness.runtime.base import ComponentSpec, ComponentState, ComponentStatus
from harness.runtime.images import DEFAULT_IMAGE, build_command, image_digest_label, source_digest

LABEL_RUN_ID = "harness.run_id"
LABEL_ROLE = "harness.role"
LABEL_COMPONENT = "harness.component"
LABEL_TRACERS = "harness.tracers"
NAME_PREFIX = "rcfl"
CONTAINER_PORT = 8000
"""Every component listens on this port inside its container (``--port``)."""

T = TypeVar("T")
R = TypeVar("R")


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
    here = source_digest()
    if built_from == here:
        return None
    return (
        f"image {image} was built from other sources than this checkout's services "
        f"(source digest {built_from or 'unknown'}, here {here}): the containers run "
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
    """The container command after the entry point (``python -m``, or ``spec.command``)."""
    listen = ["--host", "0.0.0.0", "--port", str(port)]
    if spec.command:
        return [*spec.args, *listen]
    return [spec.module, *spec.args, *listen]


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


# --- cleanup by label -------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    containers: int
    networks: int
    run_ids: tuple[str, ...]


def sweep(client: Any, run_id: str | None = None, *, workers: int = 16) -> SweepResult:
    """Remove every container and network labelled ``harness.run_id`` (=``run_id`` if given).

    Force-removes containers (running or not) in parallel, then the networks. Safe to repeat.
    An engine error is a :class:`RuntimeErrorBase` naming the command that finishes the job.
    """
    import docker.errors

    try:
        return _sweep(client, run_id, workers)
    except docker.errors.DockerException as exc:
        again = "harness down" + (f" --run-id {run_id}" if run_id else "")
        raise RuntimeErrorBase(
            f"could not remove the containers and networks labelled {LABEL_RUN_ID}"
            f"{'=' + run_id if run_id else ''}: {exc}; run `{again}` once the engine answers"
        ) from None


def _sweep(client: Any, run_id: str | None, workers: int) -> SweepResult:
    import docker.errors

    containers, networks = leftovers(client, run_id)
    runs = {c.labels.get(LABEL_RUN_ID, "") for c in containers}

    def remove(container: Any) -> None:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise

    raise_first(parallel(remove, containers, workers))
    for network in networks:
        runs.add((network.attrs.get("Labels") or {}).get(LABEL_RUN_ID, ""))
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


def parallel(
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


def raise_first(results: Sequence[object]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result
