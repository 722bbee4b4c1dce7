"""Runtimes: where the components of a run execute (see :mod:`harness.runtime.base`).

:func:`make_runtime` builds one by name; ``auto`` picks the best available and
:func:`choose_runtime` says which and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.runtime.base import Runtime

RUNTIME_NAMES = ("auto", "local", "docker", "locust")
"""Names ``--runtime`` accepts."""


@dataclass(frozen=True)
class RuntimeChoice:
    """The runtime ``auto`` resolved to, and the reason, printed by ``harness run``."""

    name: str
    reason: str


def choose_runtime(requested: str, image: str | None = None) -> RuntimeChoice:
    """Resolve ``auto`` (Docker when an engine answers and has the harness ``image``, else
    local); ``local``, ``docker`` and ``locust`` are returned as asked; any other name raises
    :class:`HarnessError` before anything is started."""
    if requested not in RUNTIME_NAMES:
        raise HarnessError(
            f"unknown runtime {requested!r}: choose one of {', '.join(RUNTIME_NAMES)}"
        )
    if requested != "auto":
        return RuntimeChoice(requested, "asked for with --runtime")
    from harness.runtime.docker import auto_choice

    name, reason = auto_choice(image) if image else auto_choice()
    return RuntimeChoice(name, reason)


def make_runtime(name: str, run_id: str, **options: Any) -> Runtime:
    """Build the runtime called ``name`` (``auto`` is resolved first) for run ``run_id``.

    Options for ``local``: ``log_dir`` (Path; per-component log files).
    Options for ``docker``: ``log_dir``, ``keep``, ``image``, ``mem_limit`` (see
    :class:`~harness.runtime.docker.DockerRuntime`).
    Options for ``locust``: ``log_dir``, ``workers``, ``extra_workers``, ``master_bind_host``,
    ``master_port``, ``web_ui``, ``web_port`` (see :class:`~harness.runtime.locust.LocustRuntime`).
    """
    resolved = choose_runtime(name, image=options.get("image")).name
    if resolved == "locust":
        from harness.runtime.locust import LocustRuntime

        return LocustRuntime(run_id, **options)
    if resolved == "local":
        from harness.runtime.local import LocalRuntime

        return LocalRuntime(run_id, **options)
    from harness.runtime.docker import DockerRuntime

    return DockerRuntime(run_id, **options)
