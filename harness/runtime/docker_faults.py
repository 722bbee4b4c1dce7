"""Faults on the Docker runtime: kill and start containers again, cut the tracers' network.

- kill: ``docker kill`` (SIGKILL), then wait for the container to exit (exit code 137);
- revive: ``docker start`` of the same container (same name, so the same DNS name on the run's
  network); Docker may give it a new address (``internal`` network) or publish its port on a
  new host port (``published``), which the handle follows (``DockerHandle.refresh_url``);
- network cut: every tracer container is disconnected from the run's network and connected
  again when the cut ends (with a new address or host port, followed the same way), so the
  harness cannot scrape a tracer while it is cut: its ``/metrics`` answers again afterwards.
  A disconnected container has no route anywhere: its requests to the agent fail at once.
- network latency needs the fault proxy of the local runtime: not offered here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from harness.errors import RuntimeErrorBase
from harness.runtime.base import ALL_FAULT_KINDS, ComponentSpec
from harness.runtime.docker_engine import parallel, raise_first

DOCKER_FAULT_KINDS = ALL_FAULT_KINDS - {"network_latency"}
"""What the Docker runtime can apply (latency needs the local runtime's fault proxy)."""


class ContainerHandle(Protocol):
    """What the fault actions need of a Docker handle (``harness.runtime.docker.DockerHandle``)."""

    container: Any
    name: str

    @property
    def spec(self) -> ComponentSpec: ...

    def refresh_url(self) -> None:
        """Follow the container's new published port or address (started again, reconnected)."""


def kill_containers(handles: Sequence[ContainerHandle], workers: int) -> None:
    """SIGKILL the containers and wait until each has exited."""
    import docker.errors

    def kill_one(handle: ContainerHandle) -> None:
        try:
            handle.container.kill(signal="SIGKILL")
            handle.container.wait(timeout=30)
        except docker.errors.APIError as exc:
            if "is not running" not in str(exc):
                raise RuntimeErrorBase(f"cannot kill container {handle.name}: {exc}") from None

    raise_first(parallel(kill_one, handles, workers))


def stop_container(component: object, timeout: float) -> None:
    """``docker stop`` (SIGTERM, SIGKILL after ``timeout``) of a Docker handle, even when the
    run keeps its containers (``--keep`` is about the end of the run)."""
    import docker.errors

    handle = cast(ContainerHandle, component)
    try:
        handle.container.stop(timeout=max(int(timeout), 0))
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        raise RuntimeErrorBase(f"cannot stop container {handle.name}: {exc}") from None


def start_again(component: object) -> None:
    """``docker start`` a Docker handle's stopped container and follow its new host port."""
    import docker.errors

    handle = cast(ContainerHandle, component)
    try:
        handle.container.start()
    except docker.errors.APIError as exc:
        raise RuntimeErrorBase(f"cannot start container {handle.name} again: {exc}") from None
    handle.refresh_url()


class DockerLink:
    """The tracers' path to the agent on the run's network (implements ``AgentLink``): a cut
    disconnects every tracer container (``handles`` gives the run's handles), a restore
    connects them again."""

    def __init__(
        self,
        agent_url: str,
        network: Any,
        handles: Callable[[], Sequence[Any]],
        workers: int,
    ) -> None:
        self._url = agent_url
        self._network = network
        self._handles = handles
        self._workers = workers
        self._cut: list[ContainerHandle] = []

    @property
    def url(self) -> str:
        return self._url

    def cut(self) -> None:
        import docker.errors

        def disconnect(handle: ContainerHandle) -> ContainerHandle | None:
            try:
                self._network.disconnect(handle.container, force=True)
            except docker.errors.APIError as exc:  # an exited container may be gone already
                if "is not connected" in str(exc) or "not found" in str(exc).lower():
                    return None
                raise RuntimeErrorBase(f"cannot disconnect {handle.name}: {exc}") from None
            return handle

        tracers = [h for h in self._handles() if h.spec.role == "tracer"]
        results = parallel(disconnect, tracers, self._workers)
        raise_first(results)
        self._cut = [h for h in results if h is not None and not isinstance(h, BaseException)]

    def restore(self) -> None:
        import docker.errors

        def reconnect(handle: ContainerHandle) -> None:
            with contextlib.suppress(docker.errors.NotFound):
                try:
                    self._network.connect(handle.container)
                except docker.errors.APIError as exc:
                    if "already exists" not in str(exc):
                        raise RuntimeErrorBase(f"cannot reconnect {handle.name}: {exc}") from None
                handle.refresh_url()

        cut, self._cut = self._cut, []
        raise_first(parallel(reconnect, cut, self._workers))

    def set_latency(self, latency_ms: int) -> None:
        raise RuntimeErrorBase(
            "network_latency needs the fault proxy of the local runtime: run with --runtime local"
        )
