"""Settings of the Locust fleet's master and workers (``RC_LOCUST_*`` and one flag each).

The tracers' own settings are the stub's (``RC_STUB_*``, `tracer_stub.settings.Settings`): the
master reads them from its environment and sends them to every worker with its assignment; a
worker's own ``RC_STUB_*`` variables win over the master's (e.g. ``RC_STUB_AGENT_URL`` on a
machine that reaches the agent by another address).
"""

from __future__ import annotations

from dataclasses import dataclass

from rc_protocol.settings import EnvSettings, setting
from tracer_locust.errors import SettingsError

__all__ = ["ENV_PREFIX", "MasterSettings", "WorkerSettings"]

ENV_PREFIX = "RC_LOCUST_"

#: Locust's default master port (``--master-port``).
LOCUST_MASTER_PORT = 5557


@dataclass(frozen=True)
class MasterSettings(EnvSettings):
    """The master the harness starts (``python -m tracer_locust.master``)."""

    env_prefix = ENV_PREFIX
    settings_error = SettingsError

    host: str = setting("127.0.0.1", "listen address of /health and /status")
    port: int = setting(0, "listen port of /health and /status (0 = any free port)")
    master_bind_host: str = setting(
        "127.0.0.1", "where workers connect (Locust --master-bind-host; * for other machines)"
    )
    master_bind_port: int = setting(LOCUST_MASTER_PORT, "Locust --master-bind-port")
    users: int = setting(1, "tracers of the fleet (Locust users)")
    expect_workers: int = setting(1, "workers to wait for before the fleet is spawned")
    expect_workers_timeout_s: float = setting(
        60.0, "seconds to wait for them (then the master exits 1 naming how many came)"
    )
    start_at: float | None = setting(
        None, "unix time at which every tracer starts (unset = as soon as the fleet is built)"
    )
    ramp_s: float = setting(
        0.0, "spawn the fleet over this many seconds at Locust's spawn rate (0 = all at once)"
    )
    web_ui: bool = setting(False, "serve Locust's web UI")
    web_host: str = setting("127.0.0.1", "listen address of the web UI")
    web_port: int = setting(8089, "listen port of the web UI")
    csv_prefix: str = setting("", "write Locust's CSV files with this path prefix (empty = none)")
    run_id: str = setting("", "run id (sent to the workers)")
    log_level: str = setting("INFO", "logging level")

    def __post_init__(self) -> None:
        for ok, name, expected in (
            (self.users >= 1, "users", "an integer >= 1"),
            (self.expect_workers >= 1, "expect_workers", "an integer >= 1"),
            (self.expect_workers_timeout_s > 0, "expect_workers_timeout_s", "a number > 0"),
            (self.ramp_s >= 0, "ramp_s", "a number >= 0"),
            (0 <= self.port < 65536, "port", "a port number"),
            (0 < self.master_bind_port < 65536, "master_bind_port", "a port number"),
        ):
            self.require(ok, name, expected)

    @property
    def spawn_rate(self) -> float:
        """Users per second: the whole fleet in one step, or ``users / ramp_s``."""
        return self.users / self.ramp_s if self.ramp_s > 0 else float(self.users)


@dataclass(frozen=True)
class WorkerSettings(EnvSettings):
    """A worker's own settings: where it serves the tracers' ``/metrics``."""

    env_prefix = ENV_PREFIX
    settings_error = SettingsError

    metrics_host: str = setting("127.0.0.1", "listen address of /metrics and /health")
    metrics_port: int = setting(0, "listen port of /metrics and /health (0 = any free port)")
    advertise_host: str = setting(
        "", "host name the harness and Prometheus reach /metrics by (empty = metrics_host)"
    )

    def __post_init__(self) -> None:
        self.require(0 <= self.metrics_port < 65536, "metrics_port", "a port number")

    def metrics_url(self, port: int) -> str:
        host = self.advertise_host or self.metrics_host
        if host in ("0.0.0.0", "::", ""):
            import socket

            host = socket.gethostname()
        return f"http://{host}:{port}"
