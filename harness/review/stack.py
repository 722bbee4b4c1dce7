"""The review stack of ``harness up``: backend, agent, Prometheus and Grafana in Docker.

What runs where:

- backend and agent: the harness image (``harness image build``), started by the Docker runtime
  (:class:`~harness.runtime.docker.DockerRuntime` with ``keep``) on a network of their own, ports
  published on 127.0.0.1;
- Prometheus (``compose/prometheus/review.yml``) and Grafana (``dashboards/provisioning`` and the
  dashboards) in the host's network namespace, listening on 127.0.0.1 only. Prometheus thus
  scrapes every target at its ``host_url`` (127.0.0.1:<port>): the stack's own backend and agent,
  and the components of any ``harness run --prometheus-sd DIR`` whatever its runtime (local
  processes or containers with published ports). Grafana's ``/etc/hosts`` maps ``prometheus`` to
  127.0.0.1, so the provisioned data source (``http://prometheus:9090``) is the same file as in
  docker-compose. Host networking is Linux's; Docker Desktop users run compose instead.

Every container carries the Docker runtime's labels (``harness.run_id=<id>``, role, component),
so ``harness down`` removes the stack with every run. Without a registry, the Prometheus image is
built from the harness's Debian base image and the host's ``prometheus`` binary (Debian package;
``compose/prometheus/Dockerfile``); Grafana cannot be made that way and must be pulled by people
with a registry (``--no-grafana`` otherwise).
"""

from __future__ import annotations

import io
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.errors import ReviewError
from harness.review.dashboards import DASHBOARDS_DIR
from harness.run.credentials import Credentials
from harness.run.promsd import FileSD, component_groups
from harness.runtime.base import ComponentHandle, ComponentSpec, ComponentStatus
from harness.runtime.docker import (
    LABEL_COMPONENT,
    LABEL_OWNER,
    LABEL_ROLE,
    LABEL_RUN_ID,
    LABEL_STACK,
    DockerRuntime,
    container_name,
    sweep,
)
from harness.runtime.images import DEFAULT_BASE_TAG, DEFAULT_IMAGE, build_log_tail
from harness.runtime.ownership import owner
from harness.scenario.model import Scenario
from rc_protocol.wait import WaitTimeout, poll_until

PROMETHEUS_DIR = DASHBOARDS_DIR.parent / "compose" / "prometheus"
LOCAL_PROMETHEUS_IMAGE = "rc-fastlane-prometheus:dev"
"""Built here from the Debian base and the host's binary when missing."""
REGISTRY_PROMETHEUS_IMAGE = "prom/prometheus:v2.53.2"
DEFAULT_GRAFANA_IMAGE = "grafana/grafana:11.2.0"
"""The same tags as compose/docker-compose.yml."""
PROMETHEUS_PORT = 9090
"""The provisioned data source's port (``dashboards/provisioning/datasources``)."""
GRAFANA_PORT = 3000
DASHBOARD_UID = "rc-fleet-boot"

GRAFANA_ENV = {
    # A login-free local stack (peer-harnesses.md section 5).
    "GF_AUTH_ANONYMOUS_ENABLED": "true",
    "GF_AUTH_ANONYMOUS_ORG_ROLE": "Admin",
    "GF_AUTH_DISABLE_LOGIN_FORM": "true",
    # Nothing leaves the machine: no update checks, usage reports or news feed.
    "GF_ANALYTICS_REPORTING_ENABLED": "false",
    "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
    "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES": "false",
    "GF_NEWS_NEWS_FEED_ENABLED": "false",
    "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH": "/var/lib/grafana/dashboards/rc-fleet-boot.json",
}


@dataclass(frozen=True)
class UpOptions:
    """What ``harness up`` starts; defaults are the documented ones."""

    run_id: str
    scenario: Scenario
    sd_dir: Path
    image: str = DEFAULT_IMAGE
    prometheus_image: str = LOCAL_PROMETHEUS_IMAGE
    grafana_image: str | None = DEFAULT_GRAFANA_IMAGE
    """``None``: no Grafana (nothing to pull it from)."""
    base_image: str = DEFAULT_BASE_TAG
    prometheus_port: int = PROMETHEUS_PORT
    grafana_port: int = GRAFANA_PORT
    dashboards_dir: Path = DASHBOARDS_DIR
    startup_s: float = 60.0
    credentials: Credentials = field(default_factory=Credentials.fresh)
    """The stack's API key and the token of its backend's admin API (printed by ``up``)."""


@dataclass(frozen=True)
class ReviewStack:
    """A running review stack: where to look, and how to feed and remove it."""

    run_id: str
    sd_dir: Path
    prometheus_url: str
    grafana_url: str | None
    components: dict[str, str] = field(default_factory=dict)
    """Component name -> host URL (backend, agent)."""
    admin_token: str = field(default="", repr=False)
    """The bearer token of the backend's admin API."""

    @property
    def dashboard_url(self) -> str | None:
        return f"{self.grafana_url}/d/{DASHBOARD_UID}" if self.grafana_url else None


REVIEW_LABELS = {LABEL_STACK: "review"}
"""On every object of the stack: ``harness down`` without ``--run-id`` leaves it alone unless
asked (``--review``)."""


def _labels(run_id: str, role: str) -> dict[str, str]:
    return {
        LABEL_RUN_ID: run_id,
        LABEL_ROLE: role,
        LABEL_COMPONENT: role,
        LABEL_OWNER: owner(),
        **REVIEW_LABELS,
    }


def prometheus_container(options: UpOptions) -> dict[str, Any]:
    """``containers.run`` arguments of the stack's Prometheus (pure; see the module docstring)."""
    return {
        "image": options.prometheus_image,
        "command": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            f"--web.listen-address=127.0.0.1:{options.prometheus_port}",
        ],
        "name": container_name(options.run_id, "prometheus"),
        "labels": _labels(options.run_id, "prometheus"),
        "network_mode": "host",
        "volumes": {
            str((PROMETHEUS_DIR / "review.yml").resolve()): {
                "bind": "/etc/prometheus/prometheus.yml",
                "mode": "ro",
            },
            str(options.sd_dir.resolve()): {"bind": "/etc/prometheus/file_sd", "mode": "ro"},
        },
        # The stack's data lives and dies with the container.
        "tmpfs": {"/prometheus": "rw,mode=1777,size=1g"},
        "user": "65534:65534",
        "detach": True,
    }


def grafana_container(options: UpOptions) -> dict[str, Any]:
    """``containers.run`` arguments of the stack's Grafana (pure)."""
    assert options.grafana_image is not None
    dashboards = options.dashboards_dir.resolve()
    return {
        "image": options.grafana_image,
        "name": container_name(options.run_id, "grafana"),
        "labels": _labels(options.run_id, "grafana"),
        "network_mode": "host",
        "extra_hosts": {"prometheus": "127.0.0.1"},
        "environment": {
            **GRAFANA_ENV,
            "GF_SERVER_HTTP_ADDR": "127.0.0.1",
            "GF_SERVER_HTTP_PORT": str(options.grafana_port),
        },
        "volumes": {
            str(dashboards / "provisioning"): {"bind": "/etc/grafana/provisioning", "mode": "ro"},
            str(dashboards): {"bind": "/var/lib/grafana/dashboards", "mode": "ro"},
        },
        "detach": True,
    }


def service_specs(
    scenario: Scenario, run_id: str, credentials: Credentials
) -> tuple[ComponentSpec, ComponentSpec]:
    """Backend and agent specs with the scenario's settings and the stack's credentials (the
    agent's backend URL is added once the backend runs)."""
    backend_env = {
        **scenario.backend_env(),
        "RC_BACKEND_RUN_ID": run_id,
        **credentials.backend_env(),
    }
    agent_env = {**scenario.agent_env(), "RC_AGENT_RUN_ID": run_id, **credentials.agent_env()}
    return (
        ComponentSpec("backend", "backend", "fake_backend", backend_env),
        ComponentSpec("agent", "agent", "agent", agent_env),
    )


def ensure_prometheus_image(client: Any, image: str, base_image: str) -> None:
    """Make sure ``image`` is in the engine; build the local one when it is missing."""
    import docker.errors

    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    if image != LOCAL_PROMETHEUS_IMAGE:
        raise ReviewError(
            f"Prometheus image {image} not found: `docker pull {image}`, or leave "
            f"--prometheus-image at {LOCAL_PROMETHEUS_IMAGE} to build it from Debian's package"
        )
    build_prometheus_image(client, image, base_image)


def build_prometheus_image(client: Any, tag: str, base_image: str) -> None:
    """Build ``compose/prometheus/Dockerfile`` from the host's ``prometheus`` binary, offline."""
    import docker.errors

    binary = shutil.which("prometheus")
    if binary is None:
        raise ReviewError(
            "cannot build the Prometheus image: no prometheus binary on this machine; "
            "`apt-get install -y prometheus` (Debian), or --prometheus-image "
            f"{REGISTRY_PROMETHEUS_IMAGE} with a registry"
        )
    try:
        client.images.get(base_image)
    except docker.errors.ImageNotFound:
        raise ReviewError(
            f"base image {base_image} not found: `harness image bootstrap-base --tag {base_image}`"
        ) from None
    with tempfile.TemporaryDirectory(prefix="rcfl-prometheus-") as tmp:
        context = Path(tmp)
        shutil.copy2(PROMETHEUS_DIR / "Dockerfile", context / "Dockerfile")
        shutil.copy2(PROMETHEUS_DIR / "review.yml", context / "review.yml")
        shutil.copy2(binary, context / "prometheus")
        try:
            client.images.build(
                path=str(context),
                tag=tag,
                buildargs={"BASE_IMAGE": base_image},
                network_mode="none",
                rm=True,
                forcerm=True,
            )
        except docker.errors.BuildError as exc:
            raise ReviewError(
                f"docker build of {tag} failed: {exc.msg}\n{build_log_tail(exc, 2000)}"
            ) from exc


def _wait_http(url: str, what: str, timeout: float, alive: Callable[[], str | None]) -> None:
    """Poll ``url`` until it answers 200; ``alive()`` returns a reason when the piece died."""

    def check() -> bool:
        reason = alive()
        if reason:
            raise ReviewError(f"{what} stopped before answering {url}: {reason}")
        return httpx.get(url, timeout=2).status_code == 200

    try:
        poll_until(check, timeout=timeout, interval=0.25, what=what, ignore=(httpx.HTTPError,))
    except WaitTimeout as exc:
        raise ReviewError(f"{exc} at {url}") from exc


def _handle_dead(handle: ComponentHandle) -> str | None:
    state = handle.state()
    if state.status is ComponentStatus.EXITED:
        return f"exited with code {state.exit_code}; last log lines:\n{handle.log_tail(20)}"
    return None


def _container_dead(container: Any) -> str | None:
    container.reload()
    if container.status in ("exited", "dead"):
        logs = bytes(container.logs(tail=20)).decode("utf-8", "replace")
        return f"exited; last log lines:\n{logs}"
    return None


def ensure_port_free(port: int, what: str, option: str) -> None:
    """Raise unless nothing listens on 127.0.0.1:``port``.

    Prometheus and Grafana share the host's network: on a taken port the new container exits,
    while the readiness poll is answered by whatever holds the port (often the Prometheus of an
    earlier ``harness up``), and the stack would look up while serving someone else's data.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As Go's listeners do: a closed connection in TIME_WAIT does not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ReviewError(
                f"{what} cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; remove an "
                f"earlier stack with `harness down`, or pick another port with {option}"
            ) from None


def up(options: UpOptions, client: Any, say: Callable[[str], None] = print) -> ReviewStack:
    """Start the stack; on any failure remove what was started (by label) and raise."""
    import docker.errors

    grafana_image = options.grafana_image
    if grafana_image is not None:
        try:
            client.images.get(grafana_image)
        except docker.errors.ImageNotFound:
            raise ReviewError(
                f"Grafana image {grafana_image} not found: `docker pull {grafana_image}`, or "
                "run `harness up --no-grafana` (Prometheus only; the dashboards are in "
                f"{options.dashboards_dir} for any Grafana)"
            ) from None
    ensure_prometheus_image(client, options.prometheus_image, options.base_image)
    ensure_port_free(options.prometheus_port, "Prometheus", "--prometheus-port")
    if grafana_image is not None:
        ensure_port_free(options.grafana_port, "Grafana", "--grafana-port")
    try:
        options.sd_dir.mkdir(parents=True, exist_ok=True)
        options.sd_dir.chmod(0o755)  # Prometheus reads it as user 65534
    except OSError as exc:
        raise ReviewError(
            f"cannot prepare the file-SD directory {options.sd_dir}: {exc}; pass a directory "
            "of yours with --sd-dir"
        ) from None
    # keep: the stack stays up when this command ends; close() then only ends the runtime's
    # reaper (which removes the stack if this command dies while bringing it up).
    runtime = DockerRuntime(options.run_id, image=options.image, client=client, keep=True,
                            out=io.StringIO(), labels=REVIEW_LABELS)  # fmt: skip
    try:
        backend_spec, agent_spec = service_specs(
            options.scenario, options.run_id, options.credentials
        )
        handles: list[ComponentHandle] = []
        [backend] = runtime.start([backend_spec])
        handles.append(backend)
        _wait_http(
            backend.host_url + "/health",
            "backend",
            options.startup_s,
            lambda: _handle_dead(backend),
        )
        agent_env = {**agent_spec.env, "RC_AGENT_BACKEND_URL": backend.internal_url}
        [agent] = runtime.start([ComponentSpec("agent", "agent", "agent", agent_env)])
        handles.append(agent)
        _wait_http(
            agent.host_url + "/health", "agent", options.startup_s, lambda: _handle_dead(agent)
        )
        say(f"backend at {backend.host_url}, agent at {agent.host_url}")
        FileSD(options.sd_dir).update(
            options.run_id,
            component_groups(handles, run_id=options.run_id, scenario=options.scenario.name),
        )

        prometheus = client.containers.run(**prometheus_container(options))
        prometheus_url = f"http://127.0.0.1:{options.prometheus_port}"
        _wait_http(
            prometheus_url + "/-/ready",
            "prometheus",
            options.startup_s,
            lambda: _container_dead(prometheus),
        )
        grafana_url = None
        if grafana_image is not None:
            grafana = client.containers.run(**grafana_container(options))
            grafana_url = f"http://127.0.0.1:{options.grafana_port}"
            _wait_http(
                grafana_url + "/api/health",
                "grafana",
                options.startup_s,
                lambda: _container_dead(grafana),
            )
    except BaseException:
        sweep(client, options.run_id)
        FileSD(options.sd_dir).remove_run(options.run_id)
        raise
    finally:
        runtime.close()
    return ReviewStack(
        options.run_id,
        options.sd_dir,
        prometheus_url,
        grafana_url,
        {h.spec.name: h.host_url for h in handles},
        options.credentials.admin_token,
    )
