"""Where and how a fleet runs, whatever the scenario: the options ``harness run``, ``compare``
and every command that runs fleets share, and the runtime factory they resolve to."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.run.runner import RuntimeFactory
from harness.runtime import RuntimeChoice, make_runtime
from harness.runtime.base import Runtime
from harness.runtime.images import DEFAULT_IMAGE
from harness.runtime.locust import TRACERS_PER_PACK


@dataclass(frozen=True)
class LocustOptions:
    """The ``locust`` runtime's options (``--locust-*``)."""

    workers: int | None = None
    """Local workers (None: one per core)."""
    extra_workers: int = 0
    """Workers joining from other machines, waited for as well."""
    master_bind_host: str = "127.0.0.1"
    """Where workers connect (``0.0.0.0`` for other machines)."""
    master_port: int | None = None
    """Locust's master port (None: a free one locally, 5557 when bound for other machines)."""
    web_ui: bool = False
    """Serve Locust's web UI on 127.0.0.1:``web_port``."""
    web_port: int = 8089


@dataclass(frozen=True)
class Placement:
    """How to run: the runtime asked for and its options."""

    runtime: str = "auto"
    """``auto``, ``local``, ``docker`` or ``locust``."""
    image: str = DEFAULT_IMAGE
    """Docker: the harness image."""
    keep: bool = False
    """Docker: leave the containers and network up after the run."""
    tracers_per_process: int | None = None
    """Local: tracers hosted by one process (None: the scenario's, else the default)."""
    tracers_per_container: int = 1
    """Docker: tracers hosted by one container."""
    prometheus_sd: Path | None = None
    """A Prometheus file-SD directory to publish the components in."""
    locust: LocustOptions = field(default_factory=lambda: LocustOptions())
    """Locust runtime: its workers and web UI."""

    def per_process(self, choice: RuntimeChoice) -> int | None:
        """Tracers per process (local), per container (Docker), or per pack (Locust: the unit
        of its boot margin, not a process) on the chosen runtime."""
        if choice.name == "locust":
            return TRACERS_PER_PACK
        return self.tracers_per_container if choice.name == "docker" else self.tracers_per_process

    def leaves_components_up(self, choice: RuntimeChoice) -> bool:
        """Whether the chosen runtime leaves the run's components up on exit (Docker ``keep``)."""
        return choice.name == "docker" and self.keep


def runtime_factory(choice: RuntimeChoice, placement: Placement) -> RuntimeFactory:
    """Build the runtime ``choice`` names for each run, with the placement's options."""

    def factory(run_id: str, log_dir: Path) -> Runtime:
        if choice.name == "docker":
            return make_runtime(
                "docker", run_id, log_dir=log_dir, keep=placement.keep, image=placement.image
            )
        if choice.name == "locust":
            opts = placement.locust
            return make_runtime(
                "locust",
                run_id,
                log_dir=log_dir,
                workers=opts.workers,
                extra_workers=opts.extra_workers,
                master_bind_host=opts.master_bind_host,
                master_port=opts.master_port,
                web_ui=opts.web_ui,
                web_port=opts.web_port,
            )
        return make_runtime(choice.name, run_id, log_dir=log_dir)

    return factory
