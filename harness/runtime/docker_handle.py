"""A started container of the Docker runtime, one ``ComponentHandle``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import RuntimeErrorBase
from harness.runtime.base import ComponentSpec, ComponentState, ComponentStatus
from harness.runtime.docker_config import host_url_from_attrs
from harness.runtime.docker_engine import CONTAINER_PORT, state_from_attrs


@dataclass
class DockerHandle:
    """A started container (implements :class:`~harness.runtime.base.ComponentHandle`)."""

    _spec: ComponentSpec
    container: Any
    _host_url: str
    name: str
    mode: str = "published"
    """How the harness reaches it (``harness.runtime.docker_config``)."""
    network: str = ""
    """The run's network (its address there is the URL in ``internal`` mode)."""

    @property
    def spec(self) -> ComponentSpec:
        return self._spec

    @property
    def host_url(self) -> str:
        return self._host_url

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

    def refresh_url(self) -> None:
        """Follow where Docker put the container now (a container started again or reconnected
        gets a new published port or address); unchanged while Docker has not said."""
        self.container.reload()
        url = host_url_from_attrs(self.container.attrs, self.mode, self.network)
        if url is not None:
            self._host_url = url

    def log_tail(self, lines: int = 30) -> str:
        return container_logs(self.container, tail=lines)

    def logs(self) -> str:
        return container_logs(self.container, tail="all")


def container_logs(container: Any, tail: int | str) -> str:
    import docker.errors

    try:
        raw = container.logs(stdout=True, stderr=True, tail=tail)
    except docker.errors.APIError as exc:
        return f"(logs of {container.name} unavailable: {exc})"
    return bytes(raw).decode("utf-8", errors="replace")
